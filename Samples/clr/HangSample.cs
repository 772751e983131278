// HangSample.cs - dumpdbg sample: a process that hangs, for !syncblk, !analyze -hang, !dumpasync,
// !finalizequeue and !gcroot.
//
// Build: mcs -debug -out:app.exe HangSample.cs     Run: dotnet app.exe crash
// (Samples/make-clr-dumps.sh does both through ../shared/labs/make-clr-dumps.sh and dumps it.)
//
// What the process holds when it is dumped:
//   * A deadlock: thread "Deadlock-A" owns the monitor of BankAccount "account-A" and waits for
//     "account-B"; thread "Deadlock-B" owns "account-B" and waits for "account-A" (Transfer.Move takes
//     the two locks in opposite orders). Both are blocked in Monitor.Enter when the dump is written.
//   * Thread "Sleeper" sleeps forever (Thread.Sleep(Timeout.Infinite)) holding the monitor of the
//     BankAccount "account-C" (recursion 2): an owned lock nobody waits for.
//   * A never-completing async chain started on the main thread: Chain.OuterAsync awaits MiddleAsync,
//     which awaits InnerAsync, which awaits a TaskCompletionSource that is never completed.
//   * Chain.GateAsync awaits SemaphoreSlim.WaitAsync(token) on a semaphore nobody releases: the runtime's own
//     async method SemaphoreSlim.WaitUntilCountOrTimeoutAsync (compiled by Roslyn, unlike this file's mcs
//     state machines: its state lives in <>1__state) waits inside that chain. The token is never cancelled
//     and there is no timeout, so no timer thread starts.
//   * 40 reachable Samples.Hang.NativeResource objects with finalizers (kept in a static array) and
//     10 unreachable ones whose finalizers have already run (GC.WaitForPendingFinalizers).
//   * The main thread then throws an unhandled InvalidOperationException, so the runtime writes the
//     dump (createdump) while the deadlock and the sleeper hold their locks.
// Each thread prints its own managed stack (Environment.StackTrace) as FACT lines before it blocks.
// No timing dependence: every step waits for the previous one (the main thread polls the two
// deadlocked threads' ThreadState until both are blocked).
using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;

namespace Samples.Hang
{
    public class BankAccount
    {
        public string Name;
        public int Id;
        public long Balance;
        public BankAccount(string name, int id, long balance) { Name = name; Id = id; Balance = balance; }
    }

    public class NativeResource
    {
        public static int Finalized;
        public int Id;
        public NativeResource(int id) { Id = id; }
        ~NativeResource() { Interlocked.Increment(ref Finalized); }
    }

    public static class Facts
    {
        [DllImport("libc.so.6", EntryPoint = "syscall")] static extern long linux_syscall(long nr);
        [DllImport("kernel32.dll")] static extern uint GetCurrentThreadId();

        public static bool IsUnix { get { return Environment.OSVersion.Platform == PlatformID.Unix; } }
        public static long OsThreadId() { return IsUnix ? linux_syscall(186) : (long)GetCurrentThreadId(); } // 186 = gettid (x86_64)

        static readonly object Gate = new object();
        public static void Fact(string key, object value) { lock (Gate) Console.WriteLine("FACT " + key + "=" + value); }

        public static void ThreadFacts(string name)
        {
            Thread t = Thread.CurrentThread;
            Fact("thread." + name + ".managed_id", t.ManagedThreadId);
            Fact("thread." + name + ".os_tid", OsThreadId());
            Fact("thread." + name + ".os_tid_hex", OsThreadId().ToString("x"));
        }

        // The managed stack as the runtime itself sees it, one FACT per frame, top first; the frames of
        // Environment.StackTrace itself are left out. Method names only ("Samples.Hang.Transfer.Move"),
        // because the runtime prints parameter types by short name and SOS by full name.
        [MethodImpl(MethodImplOptions.NoInlining)]
        public static void StackFacts(string name)
        {
            string[] lines = Environment.StackTrace.Split('\n');
            int n = 0;
            foreach (string raw in lines)
            {
                string line = raw.Trim();
                if (!line.StartsWith("at ")) continue;
                line = line.Substring(3);
                int paren = line.IndexOf('(');
                string method = paren >= 0 ? line.Substring(0, paren) : line;
                if (method.StartsWith("System.Environment.") || method == "Samples.Hang.Facts.StackFacts") continue;
                Fact("stack." + name + "." + n, method);
                n++;
            }
            Fact("stack." + name + ".count", n);
        }
    }

    public static class Transfer
    {
        public static readonly BankAccount AccountA = new BankAccount("account-A", 1, 1000);
        public static readonly BankAccount AccountB = new BankAccount("account-B", 2, 2000);
        public static readonly BankAccount AccountC = new BankAccount("account-C", 3, 3000);
        static readonly ManualResetEvent HoldsA = new ManualResetEvent(false);
        static readonly ManualResetEvent HoldsB = new ManualResetEvent(false);
        public static readonly ManualResetEvent SleeperReady = new ManualResetEvent(false);
        static readonly ManualResetEvent AReported = new ManualResetEvent(false);   // keeps the FACT lines in one order

        // Takes `from`, then `to`: called with (A, B) on one thread and (B, A) on the other.
        [MethodImpl(MethodImplOptions.NoInlining)]
        public static void Move(BankAccount from, BankAccount to, long amount, ManualResetEvent iHold, ManualResetEvent otherHolds, string name)
        {
            lock (from)
            {
                iHold.Set();
                otherHolds.WaitOne();
                if (name == "Deadlock-B") AReported.WaitOne();
                Facts.StackFacts(name);
                Facts.Fact("thread." + name + ".owns", from.Name);
                Facts.Fact("thread." + name + ".waits_for", to.Name);
                if (name == "Deadlock-A") AReported.Set();
                lock (to)
                {
                    from.Balance -= amount; to.Balance += amount;
                }
            }
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        public static void DeadlockA()
        {
            Facts.ThreadFacts("Deadlock-A");
            Move(AccountA, AccountB, 10, HoldsA, HoldsB, "Deadlock-A");
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        public static void DeadlockB()
        {
            Facts.ThreadFacts("Deadlock-B");
            Move(AccountB, AccountA, 20, HoldsB, HoldsA, "Deadlock-B");
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        public static void Sleeper()
        {
            Facts.ThreadFacts("Sleeper");
            lock (AccountC)
            {
                lock (AccountC)      // recursion 2
                {
                    Facts.StackFacts("Sleeper");
                    Facts.Fact("thread.Sleeper.owns", AccountC.Name);
                    SleeperReady.Set();
                    Thread.Sleep(Timeout.Infinite);
                }
            }
        }
    }

    public static class Chain
    {
        public static readonly TaskCompletionSource<int> Never = new TaskCompletionSource<int>();
        public static Task Pending;
        public static readonly SemaphoreSlim Gate = new SemaphoreSlim(0);
        public static readonly CancellationTokenSource NeverCancelled = new CancellationTokenSource();
        public static Task Gated;

        [MethodImpl(MethodImplOptions.NoInlining)]
        public static async Task GateAsync(int id)
        {
            await Gate.WaitAsync(NeverCancelled.Token);
            Console.WriteLine("unreachable " + id);
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        public static async Task OuterAsync(int id)
        {
            int r = await MiddleAsync(id + 1);
            Console.WriteLine("unreachable " + r);
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        public static async Task<int> MiddleAsync(int id)
        {
            int r = await InnerAsync(id + 1);
            return r + id;
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        public static async Task<int> InnerAsync(int id)
        {
            int r = await Never.Task;
            return r + id;
        }
    }

    public static class Program
    {
        public static NativeResource[] Resources;
        public const int ReachableResources = 40;
        public const int DroppedResources = 10;

        [MethodImpl(MethodImplOptions.NoInlining)]
        static void DropSome()
        {
            for (int i = 0; i < DroppedResources; i++) new NativeResource(1000 + i);
        }

        static bool Blocked(Thread t) { return (t.ThreadState & ThreadState.WaitSleepJoin) != 0; }

        public static int Main(string[] args)
        {
            string mode = args.Length > 0 ? args[0] : "crash";
            Facts.Fact("program", "HangSample");
            Facts.Fact("mode", mode);
            Facts.Fact("pid", System.Diagnostics.Process.GetCurrentProcess().Id);
            Facts.Fact("clr_version", Environment.Version);
            Facts.Fact("os", Facts.IsUnix ? "Linux" : "Windows");
            Facts.ThreadFacts("main");

            Resources = new NativeResource[ReachableResources];
            for (int i = 0; i < ReachableResources; i++) Resources[i] = new NativeResource(i);
            DropSome();
            GC.Collect(); GC.WaitForPendingFinalizers(); GC.Collect();
            Facts.Fact("finalizer.Samples.Hang.NativeResource.reachable", ReachableResources);
            Facts.Fact("finalizer.Samples.Hang.NativeResource.finalized", NativeResource.Finalized);

            Chain.Pending = Chain.OuterAsync(7);
            Facts.Fact("async.Pending.status", Chain.Pending.Status);
            Facts.Fact("async.chain", "Samples.Hang.Chain.OuterAsync -> Samples.Hang.Chain.MiddleAsync -> Samples.Hang.Chain.InnerAsync -> TaskCompletionSource<Int32>");
            Chain.Gated = Chain.GateAsync(3);
            Facts.Fact("async.Gated.status", Chain.Gated.Status);
            Facts.Fact("async.gate.chain", "Samples.Hang.Chain.GateAsync -> System.Threading.SemaphoreSlim.WaitUntilCountOrTimeoutAsync");

            var sleeper = new Thread(Transfer.Sleeper);
            sleeper.Name = "Sleeper"; sleeper.IsBackground = true;
            ExecutionContext.SuppressFlow();   // threads start the same way on 3.1 and 8.0 (no ExecutionContext.RunInternal frame)
            sleeper.Start();
            Transfer.SleeperReady.WaitOne();

            var a = new Thread(Transfer.DeadlockA); a.Name = "Deadlock-A"; a.IsBackground = true;
            var b = new Thread(Transfer.DeadlockB); b.Name = "Deadlock-B"; b.IsBackground = true;
            a.Start(); b.Start();
            ExecutionContext.RestoreFlow();
            // Both threads are blocked once each owns one account and waits in Monitor.Enter for the other.
            for (int i = 0; i < 1000 && !(Blocked(a) && Blocked(b) && a.ThreadState != ThreadState.Unstarted); i++) Thread.Sleep(20);
            Thread.Sleep(500);   // both are past their FACT lines and inside the monitor wait
            Facts.Fact("lock.account-A.owner", "Deadlock-A");
            Facts.Fact("lock.account-B.owner", "Deadlock-B");
            Facts.Fact("lock.account-C.owner", "Sleeper");
            Facts.Fact("lock.account-C.recursion", 2);
            Facts.Fact("hang.kind", "deadlock Deadlock-A <-> Deadlock-B");
            Facts.Fact("exception.type", "System.InvalidOperationException");
            Console.Out.Flush();
            GC.KeepAlive(Resources);
            throw new InvalidOperationException("HangSample: the deadlock is ready");
        }
    }
}
