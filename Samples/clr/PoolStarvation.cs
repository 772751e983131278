// PoolStarvation.cs - dumpdbg sample: a starved thread pool, for !ThreadPool -wi and !analyze -hang.
//
// Build: mcs -debug -out:app.exe PoolStarvation.cs     Run: dotnet app.exe crash
// (Samples/make-clr-dumps.sh does both through ../shared/labs/make-clr-dumps.sh and dumps it.)
//
// What the process holds when it is dumped:
//   * The pool's worker limits set to N = Environment.ProcessorCount (min = max), and N work items
//     (Samples.Pool.Jobs.Block) running on the N workers, each blocked on one ManualResetEvent that is
//     never set: every worker is busy, none can be added.
//   * Before blocking, worker 0 starts Task.Run(Jobs.LocalWork): queued on its own local (work-stealing)
//     queue, which no other worker is free to steal from.
//   * From the main thread: 5 ThreadPool.QueueUserWorkItem(Jobs.Pending, i) and 3 Task.Run(Jobs.Queued)
//     in the global queue, none of which can run.
//   * In "crash" mode (the default) the main thread then throws an unhandled InvalidOperationException, so
//     the runtime writes the dump. In "hang" mode it prints "FACT ready=1" and sleeps: a hung process that a
//     triage engineer dumps from outside (createdump PID; Samples/make-hang-snapshot.sh), with no exception.
// Facts are printed as "FACT key=value" lines; every step waits for the previous one.
using System;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;

namespace Samples.Pool
{
    public static class Jobs
    {
        public static readonly ManualResetEvent Never = new ManualResetEvent(false);
        public static int Started;
        public static int LocalQueued;

        static readonly object Gate = new object();
        public static void Fact(string key, object value) { lock (Gate) Console.WriteLine("FACT " + key + "=" + value); }

        [MethodImpl(MethodImplOptions.NoInlining)]
        public static void Block(object state)
        {
            int i = (int)state;
            if (i == 0)
            {
                // From a pool thread, Task.Run prefers the thread's local queue.
                Task.Run(new Action(LocalWork));
                Interlocked.Exchange(ref LocalQueued, 1);
            }
            Interlocked.Increment(ref Started);
            Never.WaitOne();
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        public static void Pending(object state) { Fact("ran.Pending", state); }

        [MethodImpl(MethodImplOptions.NoInlining)]
        public static void Queued() { Fact("ran.Queued", 1); }

        [MethodImpl(MethodImplOptions.NoInlining)]
        public static void LocalWork() { Fact("ran.LocalWork", 1); }

        [MethodImpl(MethodImplOptions.NoInlining)]
        static void Crash() { throw new InvalidOperationException("PoolStarvation: the pool is starved"); }

        public static int Main(string[] args)
        {
            Fact("program", "PoolStarvation");
            Fact("mode", args.Length > 0 ? args[0] : "crash");
            Fact("pid", System.Diagnostics.Process.GetCurrentProcess().Id);
            Fact("clr_version", Environment.Version);
            int n = Environment.ProcessorCount;
            bool min = ThreadPool.SetMinThreads(n, n);
            bool max = ThreadPool.SetMaxThreads(n, n);
            int maxWorkers, maxIo;
            ThreadPool.GetMaxThreads(out maxWorkers, out maxIo);
            Fact("pool.set_min", min);
            Fact("pool.set_max", max);
            Fact("pool.max_workers", maxWorkers);
            for (int i = 0; i < maxWorkers; i++) ThreadPool.QueueUserWorkItem(new WaitCallback(Block), i);
            while (Volatile.Read(ref Started) < maxWorkers || Volatile.Read(ref LocalQueued) == 0) Thread.Sleep(10);
            Fact("pool.blocked_workers", maxWorkers);
            for (int i = 0; i < 5; i++) ThreadPool.QueueUserWorkItem(new WaitCallback(Pending), i);
            for (int i = 0; i < 3; i++) Task.Run(new Action(Queued));
            Fact("queue.global.Pending", 5);
            Fact("queue.global.Queued", 3);
            Fact("queue.local.LocalWork", 1);
            Fact("method.Pending", "Samples.Pool.Jobs.Pending(System.Object)");
            Fact("method.Queued", "Samples.Pool.Jobs.Queued()");
            Fact("method.LocalWork", "Samples.Pool.Jobs.LocalWork()");
            Fact("method.Block", "Samples.Pool.Jobs.Block(System.Object)");
            // Give the pool time to prove it cannot run them (the items would print "ran.*" facts).
            Thread.Sleep(1500);
            if (args.Length > 0 && args[0] == "hang")
            {
                Fact("ready", 1);
                Console.Out.Flush();
                Thread.Sleep(Timeout.Infinite);
            }
            Fact("exception.type", "System.InvalidOperationException");
            Fact("exception.message", "PoolStarvation: the pool is starved");
            Console.Out.Flush();
            Crash();
            return 0;
        }
    }
}
