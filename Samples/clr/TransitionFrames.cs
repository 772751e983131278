// TransitionFrames.cs - dumpdbg sample: threads blocked inside the runtime's transitions, for the explicit Frames
// !CLRStack names and the stack references !gcroot reports from them.
//
// Build: mcs -debug -out:app.exe TransitionFrames.cs     Run: dotnet app.exe crash
// (Samples/make-clr-dumps.sh does both through ../shared/labs/make-clr-dumps.sh and dumps it.)
//
// What the process holds when it is dumped:
//   * Thread "ClassInit" calls Gate.Hold("classinit-arg", keeper, 7), the first call of a static method of a class
//     with a static constructor. The JIT puts the class's initialization check in Hold's prolog, so the runtime
//     runs Gate's class constructor from a helper (a HelperMethodFrame over Hold), and the constructor blocks
//     forever. So the thread's stack holds the constructor, the helper's Frame, Hold and ClassInitThread, whose
//     frame holds `keeper`.
//   * Thread "Prestub" calls Loader.Parse(...) for the first time: the runtime's prestub (a PrestubMethodFrame,
//     which protects the call's arguments until the method runs) JIT-compiles Parse, which names
//     System.Xml.XmlDocument, so compiling it loads System.Xml; the runtime raises AppDomain.AssemblyLoad on this
//     thread, inside the prestub, and the handler blocks forever. Parse's arguments (references in registers, a
//     16-byte struct with a string, a 24-byte struct with two references, a double, references past the sixth
//     integer register) live only in the prestub's Frame: the GC finds them by Parse's signature.
//   * Thread "Callback" calls libc's qsort through P/Invoke with a managed comparison callback; the callback
//     blocks forever on its first call. So managed frames sit above native ones (qsort's), which sit above
//     managed ones again (the P/Invoke's caller).
//   * The main thread then reads a field through a null reference in Program.Crash: a hardware fault the runtime
//     turns into an unhandled NullReferenceException (a FaultingExceptionFrame over the faulting frame), so the
//     runtime writes the dump while the faulting frame is still on the stack.
// Each blocked thread prints its own managed stack (Environment.StackTrace) as FACT lines before it blocks.
using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;

namespace Samples.Frames
{
    public class Keeper
    {
        public string Name;
        public Keeper(string name) { Name = name; }
    }

    public static class Facts
    {
        [DllImport("libc.so.6", EntryPoint = "syscall")] static extern long linux_syscall(long nr);
        [DllImport("kernel32.dll")] static extern uint GetCurrentThreadId();

        public static bool IsUnix { get { return Environment.OSVersion.Platform == PlatformID.Unix; } }
        public static long OsThreadId() { return IsUnix ? linux_syscall(186) : (long)GetCurrentThreadId(); } // 186 = gettid (x86_64)

        static readonly object Lock = new object();
        public static void Fact(string key, object value) { lock (Lock) Console.WriteLine("FACT " + key + "=" + value); }

        public static void ThreadFacts(string name)
        {
            Thread t = Thread.CurrentThread;
            Fact("thread." + name + ".managed_id", t.ManagedThreadId);
            Fact("thread." + name + ".os_tid", OsThreadId());
            Fact("thread." + name + ".os_tid_hex", OsThreadId().ToString("x"));
        }

        // The managed stack as the runtime sees it, one FACT per frame, top first, method names only.
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
                if (method.StartsWith("System.Environment.") || method == "Samples.Frames.Facts.StackFacts") continue;
                Fact("stack." + name + "." + n, method);
                n++;
            }
            Fact("stack." + name + ".count", n);
        }
    }

    // Another thread touching Gate would wait for its class constructor: the events live elsewhere.
    public static class Signals
    {
        public static readonly ManualResetEvent GateEntered = new ManualResetEvent(false);
        public static readonly ManualResetEvent LoaderEntered = new ManualResetEvent(false);
        public static readonly ManualResetEvent Never = new ManualResetEvent(false);
    }

    public static class Gate
    {
        public static int Calls;

        // Runs on the first call of Hold, inside the prestub, and never returns.
        static Gate()
        {
            Facts.StackFacts("ClassInit");
            Signals.GateEntered.Set();
            Signals.Never.WaitOne();
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        public static int Hold(string text, Keeper keeper, int n) { Calls++; return text.Length + keeper.Name.Length + n; }
    }

    // 16 bytes of integer class: two integer registers on Linux x64; passed by reference on Windows x64.
    public struct Pair
    {
        public string Name;
        public long Count;
    }

    // 24 bytes: on the stack on Linux x64; passed by reference on Windows x64.
    public struct Big
    {
        public string First;
        public double Weight;
        public Keeper Owner;
    }

    public static class Loader
    {
        // Compiling this loads System.Xml (XmlDocument): see the header. Never compiled to the end in the sample.
        [MethodImpl(MethodImplOptions.NoInlining)]
        public static int Parse(Keeper keeper, string text, int n, double scale, Pair pair, Big big, Keeper last, Keeper spilled)
        {
            var doc = new System.Xml.XmlDocument();
            doc.LoadXml(text);
            return doc.ChildNodes.Count + keeper.Name.Length + n + (int)scale + pair.Name.Length + big.Owner.Name.Length
                + last.Name.Length + spilled.Name.Length;
        }

        // AppDomain.AssemblyLoad: runs on the thread that loads the assembly, here inside Parse's prestub.
        public static void OnAssemblyLoad(object sender, AssemblyLoadEventArgs e)
        {
            if (Thread.CurrentThread.Name != "Prestub" || !e.LoadedAssembly.GetName().Name.StartsWith("System.Xml")) return;
            Facts.StackFacts("Prestub");
            Signals.LoaderEntered.Set();
            Signals.Never.WaitOne();
        }
    }

    public static class Program
    {
        static readonly ManualResetEvent InCallback = new ManualResetEvent(false);
        static readonly ManualResetEvent Never = new ManualResetEvent(false);

        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        delegate int Compare(IntPtr a, IntPtr b);

        [DllImport("libc.so.6", EntryPoint = "qsort")]
        static extern void qsort_libc(IntPtr items, UIntPtr count, UIntPtr size, Compare compare);
        [DllImport("msvcrt.dll", EntryPoint = "qsort", CallingConvention = CallingConvention.Cdecl)]
        static extern void qsort_msvcrt(IntPtr items, UIntPtr count, UIntPtr size, Compare compare);

        static Compare Comparer;

        [MethodImpl(MethodImplOptions.NoInlining)]
        static void ClassInitThread()
        {
            Facts.ThreadFacts("ClassInit");
            Keeper keeper = new Keeper("classinit-keeper");
            Facts.Fact("classinit.keeper.type", keeper.GetType().FullName);
            int r = Gate.Hold("classinit-arg", keeper, 7);
            GC.KeepAlive(keeper);
            Facts.Fact("classinit.never", r);
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        static void PrestubThread()
        {
            Facts.ThreadFacts("Prestub");
            Pair pair; pair.Name = "pair-name"; pair.Count = 11;
            Big big; big.First = "big-first"; big.Weight = 2.5; big.Owner = new Keeper("big-owner");
            int r = Loader.Parse(new Keeper("prestub-keeper"), "<prestub/>", 7, 1.5, pair, big, new Keeper("last-keeper"),
                                 new Keeper("spilled-keeper"));
            Facts.Fact("prestub.never", r);
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        static int CompareBlocking(IntPtr a, IntPtr b)
        {
            Keeper inCallback = new Keeper("callback-keeper");
            Facts.StackFacts("Callback");
            InCallback.Set();
            Never.WaitOne();
            GC.KeepAlive(inCallback);
            return Marshal.ReadInt32(a) - Marshal.ReadInt32(b);
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        static void CallbackThread()
        {
            Facts.ThreadFacts("Callback");
            IntPtr items = Marshal.AllocHGlobal(3 * 4);
            for (int i = 0; i < 3; i++) Marshal.WriteInt32(items, i * 4, 3 - i);
            Comparer = CompareBlocking;
            if (Facts.IsUnix) qsort_libc(items, (UIntPtr)3, (UIntPtr)4, Comparer);
            else qsort_msvcrt(items, (UIntPtr)3, (UIntPtr)4, Comparer);
            Facts.Fact("callback.never", Marshal.ReadInt32(items));
        }

        static Keeper Missing;

        // Faults on purpose: Missing is null. `holder` stays live in the faulting frame.
        [MethodImpl(MethodImplOptions.NoInlining)]
        static int Crash(Keeper holder)
        {
            Keeper k = Missing;
            int n = k.Name.Length + holder.Name.Length;
            GC.KeepAlive(holder);
            return n;
        }

        public static int Main(string[] args)
        {
            string mode = args.Length > 0 ? args[0] : "crash";
            Facts.Fact("program", "TransitionFrames");
            Facts.Fact("mode", mode);
            Facts.Fact("pid", System.Diagnostics.Process.GetCurrentProcess().Id);
            Facts.Fact("clr_version", Environment.Version);
            Facts.Fact("os", Facts.IsUnix ? "Linux" : "Windows");
            Facts.ThreadFacts("main");

            ExecutionContext.SuppressFlow();   // threads start the same way on 3.1 and 8.0
            var classInit = new Thread(ClassInitThread); classInit.Name = "ClassInit"; classInit.IsBackground = true;
            classInit.Start();
            Signals.GateEntered.WaitOne();
            AppDomain.CurrentDomain.AssemblyLoad += Loader.OnAssemblyLoad;
            var prestub = new Thread(PrestubThread); prestub.Name = "Prestub"; prestub.IsBackground = true;
            prestub.Start();
            Signals.LoaderEntered.WaitOne();
            var callback = new Thread(CallbackThread); callback.Name = "Callback"; callback.IsBackground = true;
            callback.Start();
            InCallback.WaitOne();
            ExecutionContext.RestoreFlow();
            Thread.Sleep(500);   // all three are past their FACT lines and inside their waits
            Facts.Fact("exception.type", "System.NullReferenceException");
            Facts.Fact("stack.main.0", "Samples.Frames.Program.Crash");
            Console.Out.Flush();
            return Crash(new Keeper("main-holder"));
        }
    }
}
