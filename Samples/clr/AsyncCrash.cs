// AsyncCrash.cs - dumpdbg sample: the seed walkthrough's async crash, made deterministic.
//
// Build: mcs -debug -out:app.exe AsyncCrash.cs     Run: dotnet app.exe crash
// (Samples/make-clr-dumps.sh does both through ../shared/labs/make-clr-dumps.sh and dumps the crash.)
//
// The story (as in "Using WinDbg to Analyze .NET Crash Dumps - Async Crash"):
//   * Thread "RequestWorker" serves a request: System.Web.Hosting.IIS7WorkerRequest
//     {_path="/Account/Login", _httpVerb="POST"} is a local/argument of its base frames
//     (Samples.RequestHost.WorkerThreadProc -> ProcessRequest). It installs an ASP.NET-like
//     System.Web.LegacyAspNetSynchronizationContext and calls an `async void`
//     (Samples.AccountController.LoginAsync) that is not awaited.
//   * The continuation after `await Task.Yield()` is posted to that context and runs on the same
//     thread, from the context's pump (CallCallback -> CallCallbackPossiblyUnderLock); it
//     dereferences the null field CurrentUser -> NullReferenceException. The async void builder
//     re-posts the exception to the context, the pump rethrows it, nothing catches it and the
//     process dies. So, as in the walkthrough, !dumpstackobjects on the faulting thread shows the
//     IIS7WorkerRequest, and !DumpObj on it shows _path and _httpVerb.
//   * Thread "KeepAliveWorker" blocks forever (ManualResetEvent.WaitOne) with a second request
//     {_path="/Home/Index", _httpVerb="GET"} on its stack: a non-faulting thread to contrast.
//   * A known heap population: exactly 1234 Samples.Order, 77 Samples.Customer, one
//     Samples.Point[16], one Samples.Order[1234], one Samples.Customer[77].
// No timing dependence: no Task.Delay, the crash does not involve the thread pool; every step
// waits for the previous one.
// Everything the program knows is printed as "FACT key=value" lines (stdout) before the crash.
using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;

namespace System.Web.Hosting
{
    public class IIS7WorkerRequest
    {
        // reference fields first in the object (CLR layout), then long, int, bool; DateTime last
        public string _path;
        public string _httpVerb;
        public string _queryString;
        public Dictionary<string, string> _headers;
        public long _startTicks;
        public int _statusCode;
        public int _contentLength;
        public bool _isSecure;
        public DateTime _startTime;

        public IIS7WorkerRequest(string path, string verb, string query, int contentLength)
        {
            _path = path; _httpVerb = verb; _queryString = query;
            _statusCode = 200; _contentLength = contentLength; _isSecure = true;
            _startTime = new DateTime(2024, 3, 28, 9, 30, 0, DateTimeKind.Utc);
            _startTicks = _startTime.Ticks;                      // 638472150000000000
            _headers = new Dictionary<string, string>();
            _headers["Host"] = "localhost";
            _headers["Content-Type"] = "application/x-www-form-urlencoded";
        }
    }
}

namespace System.Web
{
    // A single-threaded synchronization context with a work queue, pumped by the request thread.
    public sealed class LegacyAspNetSynchronizationContext : SynchronizationContext
    {
        // a List, not a Queue<T>: mcs puts Queue<T> in Mono's mscorlib, and 3.1's mscorlib facade does not forward it
        readonly List<KeyValuePair<SendOrPostCallback, object>> _queue = new List<KeyValuePair<SendOrPostCallback, object>>();

        public override void Post(SendOrPostCallback d, object state)
        {
            lock (_queue) { _queue.Add(new KeyValuePair<SendOrPostCallback, object>(d, state)); Monitor.Pulse(_queue); }
        }

        // Runs posted callbacks until `done` is set (it never is in crash mode: the pump throws).
        [MethodImpl(MethodImplOptions.NoInlining)]
        public void Pump(ManualResetEvent done)
        {
            while (!done.WaitOne(0))
            {
                KeyValuePair<SendOrPostCallback, object> item;
                lock (_queue)
                {
                    while (_queue.Count == 0) Monitor.Wait(_queue);
                    item = _queue[0];
                    _queue.RemoveAt(0);
                }
                CallCallback(item.Key, item.Value);
            }
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        void CallCallback(SendOrPostCallback callback, object state)
        {
            CallCallbackPossiblyUnderLock(callback, state);
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        void CallCallbackPossiblyUnderLock(SendOrPostCallback callback, object state)
        {
            callback(state);
        }
    }
}

namespace Samples
{
    using System.Web;
    using System.Web.Hosting;

    public struct Point { public int X; public int Y; public Point(int x, int y) { X = x; Y = y; } }

    public class Customer
    {
        public string Name;       // "customer-00".."customer-76"
        public string Email;      // "c<i>@example.com"
        public int Id;            // 1000 + i
        public Point Location;    // (i, -i)
    }

    public class Order
    {
        public Customer Customer; // customers[i % 77]
        public string Sku;        // "SKU-00000".."SKU-01233"
        public long Amount;       // i * 100 + 7
        public int Id;            // i + 1
        public short Quantity;    // i % 10 + 1
        public byte Flags;        // i % 256
        public bool IsPaid;       // i % 2 == 0
    }

    public class UserProfile { public string UserName; public int LoginCount; }

    public class AccountController
    {
        public IIS7WorkerRequest Request;
        public UserProfile CurrentUser;   // stays null -> NullReferenceException
        public AccountController(IIS7WorkerRequest wr) { Request = wr; }

        // The async void nobody waits for. Its continuation runs from the context's pump.
        public async void LoginAsync(string user)
        {
            await Task.Yield();
            Console.WriteLine("Login " + user + " for " + Request._path + " -> " + CurrentUser.UserName.Length);
        }
    }

    public static class Store
    {
        public const int OrderCount = 1234, CustomerCount = 77, PointCount = 16;
        public static Order[] Orders;
        public static Customer[] Customers;
        public static Point[] Points;

        public static void Fill()
        {
            Customers = new Customer[CustomerCount];
            for (int i = 0; i < CustomerCount; i++)
                Customers[i] = new Customer { Name = "customer-" + i.ToString("D2"), Email = "c" + i + "@example.com",
                                              Id = 1000 + i, Location = new Point(i, -i) };
            Orders = new Order[OrderCount];
            for (int i = 0; i < OrderCount; i++)
                Orders[i] = new Order { Customer = Customers[i % CustomerCount], Sku = "SKU-" + i.ToString("D5"),
                                        Amount = i * 100L + 7, Id = i + 1, Quantity = (short)(i % 10 + 1),
                                        Flags = (byte)(i % 256), IsPaid = i % 2 == 0 };
            Points = new Point[PointCount];
            for (int i = 0; i < PointCount; i++) Points[i] = new Point(i * 10, i * i - 5);
        }
    }

    public static class RequestHost
    {
        public static readonly ManualResetEvent KeepAliveReady = new ManualResetEvent(false);
        public static readonly ManualResetEvent Never = new ManualResetEvent(false);

        [DllImport("libc.so.6", EntryPoint = "syscall")] static extern long linux_syscall(long nr);
        [DllImport("kernel32.dll")] static extern uint GetCurrentThreadId();

        public static bool IsUnix { get { return Environment.OSVersion.Platform == PlatformID.Unix; } }
        public static long OsThreadId() { return IsUnix ? linux_syscall(186) : (long)GetCurrentThreadId(); } // 186 = gettid (x86_64)

        public static void Fact(string key, object value) { Console.WriteLine("FACT " + key + "=" + value); }

        static void ThreadFacts(string name)
        {
            Thread t = Thread.CurrentThread;
            Fact("thread." + name + ".managed_id", t.ManagedThreadId);
            Fact("thread." + name + ".os_tid", OsThreadId());
            Fact("thread." + name + ".os_tid_hex", OsThreadId().ToString("x"));
            Fact("thread." + name + ".is_background", t.IsBackground);
        }

        static void RequestFacts(string prefix, IIS7WorkerRequest wr)
        {
            Fact(prefix + "._path", wr._path);
            Fact(prefix + "._httpVerb", wr._httpVerb);
            Fact(prefix + "._queryString", wr._queryString);
            Fact(prefix + "._statusCode", wr._statusCode);
            Fact(prefix + "._contentLength", wr._contentLength);
            Fact(prefix + "._isSecure", wr._isSecure);
            Fact(prefix + "._startTicks", wr._startTicks);
            Fact(prefix + "._startTime", wr._startTime.ToString("yyyy-MM-ddTHH:mm:ssZ"));
            Fact(prefix + "._headers.count", wr._headers.Count);
            Fact(prefix + "._headers[Host]", wr._headers["Host"]);
            Fact(prefix + "._headers[Content-Type]", wr._headers["Content-Type"]);
        }

        // ---- "KeepAliveWorker": blocks forever with a GET request on its stack
        [MethodImpl(MethodImplOptions.NoInlining)]
        public static void KeepAliveThreadProc()
        {
            IIS7WorkerRequest wr = new IIS7WorkerRequest("/Home/Index", "GET", "", 0);
            ThreadFacts("KeepAliveWorker");
            RequestFacts("keepalive_request", wr);
            Fact("thread.KeepAliveWorker.blocked_in", "Samples.RequestHost.KeepAliveWait");
            KeepAliveWait(wr);
            GC.KeepAlive(wr);
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        static void KeepAliveWait(IIS7WorkerRequest wr)
        {
            KeepAliveReady.Set();
            Never.WaitOne();
            GC.KeepAlive(wr);
        }

        // ---- "RequestWorker": serves POST /Account/Login and dies of the async void's exception
        [MethodImpl(MethodImplOptions.NoInlining)]
        public static void WorkerThreadProc()
        {
            IIS7WorkerRequest wr = new IIS7WorkerRequest("/Account/Login", "POST", "ReturnUrl=%2F", 29);
            ThreadFacts("RequestWorker");
            RequestFacts("request", wr);
            ProcessRequest(wr);
            GC.KeepAlive(wr);
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        static void ProcessRequest(IIS7WorkerRequest wr)
        {
            var ctx = new LegacyAspNetSynchronizationContext();
            SynchronizationContext.SetSynchronizationContext(ctx);
            AccountController ctl = new AccountController(wr);
            var done = new ManualResetEvent(false);
            Fact("crash.thread", "RequestWorker");
            Fact("crash.os_tid", OsThreadId());
            Fact("crash.os_tid_hex", OsThreadId().ToString("x"));
            Fact("crash.managed_id", Thread.CurrentThread.ManagedThreadId);
            Console.Out.Flush();
            ctl.LoginAsync("alice");   // runs to `await Task.Yield()`, posts its continuation to ctx
            ctx.Pump(done);            // runs the continuation -> NRE -> rethrown from the pump
            GC.KeepAlive(ctl); GC.KeepAlive(wr); GC.KeepAlive(done);
        }
    }

    public static class Program
    {
        public static int Main(string[] args)
        {
            string mode = args.Length > 0 ? args[0] : "crash";
            var F = (Action<string, object>)RequestHost.Fact;
            F("program", "AsyncCrash");
            F("mode", mode);
            F("pid", System.Diagnostics.Process.GetCurrentProcess().Id);
            F("clr_version", Environment.Version);
            F("os", RequestHost.IsUnix ? "Linux" : "Windows");
            F("pointer_size", IntPtr.Size);
            F("thread.main.managed_id", Thread.CurrentThread.ManagedThreadId);
            F("thread.main.os_tid", RequestHost.OsThreadId());
            F("thread.main.blocked_in", "System.Threading.Thread.Join");

            Store.Fill();
            F("type.Samples.Order.count", Store.OrderCount);
            F("type.Samples.Customer.count", Store.CustomerCount);
            F("type.Samples.Point[].count", 1);
            F("type.Samples.Point[].length", Store.PointCount);
            F("type.Samples.Order[].count", 1);
            F("type.Samples.Order[].length", Store.OrderCount);
            F("type.Samples.Customer[].count", 1);
            F("type.Samples.Customer[].length", Store.CustomerCount);
            F("type.System.Web.Hosting.IIS7WorkerRequest.count", 2);
            F("type.Samples.AccountController.count", 1);
            F("type.System.Web.LegacyAspNetSynchronizationContext.count", 1);
            F("type.Samples.UserProfile.count", 0);
            F("static.Samples.Store.Orders", "Samples.Order[1234]");
            F("static.Samples.Store.Customers", "Samples.Customer[77]");
            F("static.Samples.Store.Points", "Samples.Point[16]");
            F("rule.Samples.Order[i]", "Customer=Customers[i%77] Sku=SKU-{i:D5} Amount=i*100+7 Id=i+1 Quantity=i%10+1 Flags=i%256 IsPaid=(i%2==0)");
            F("rule.Samples.Customer[i]", "Name=customer-{i:D2} Email=c{i}@example.com Id=1000+i Location=(i,-i)");
            F("rule.Samples.Point[i]", "X=i*10 Y=i*i-5");
            foreach (int i in new int[] { 0, 1, 617, 1233 })
            {
                Order o = Store.Orders[i];
                F("order[" + i + "]", "Id=" + o.Id + " Sku=" + o.Sku + " Amount=" + o.Amount + " Quantity=" + o.Quantity
                  + " Flags=" + o.Flags + " IsPaid=" + o.IsPaid + " Customer.Name=" + o.Customer.Name);
            }
            foreach (int i in new int[] { 0, 76 })
            {
                Customer c = Store.Customers[i];
                F("customer[" + i + "]", "Name=" + c.Name + " Email=" + c.Email + " Id=" + c.Id
                  + " Location.X=" + c.Location.X + " Location.Y=" + c.Location.Y);
            }
            for (int i = 0; i < Store.PointCount; i++)
                F("point[" + i + "]", "X=" + Store.Points[i].X + " Y=" + Store.Points[i].Y);
            F("exception.type", "System.NullReferenceException");
            F("exception.message", "Object reference not set to an instance of an object.");
            F("exception.thrown_in", "Samples.AccountController.LoginAsync(String)");
            F("exception.rethrown_via", "System.Web.LegacyAspNetSynchronizationContext.CallCallbackPossiblyUnderLock");

            var keep = new Thread(RequestHost.KeepAliveThreadProc);
            keep.Name = "KeepAliveWorker";
            keep.IsBackground = true;
            ExecutionContext.SuppressFlow();        // same start path as RequestWorker (see below)
            keep.Start();
            ExecutionContext.RestoreFlow();
            RequestHost.KeepAliveReady.WaitOne();   // its FACT lines are out before the next thread starts

            var worker = new Thread(RequestHost.WorkerThreadProc);
            worker.Name = "RequestWorker";
            worker.IsBackground = false;
            // Without an execution context to flow, the thread runs WorkerThreadProc directly. With one,
            // 3.1 starts it through ExecutionContext.RunInternal, which catches the exception and
            // rethrows it, so WorkerThreadProc/ProcessRequest (and the request on their stack) would be
            // gone from the faulting thread's stack by the time the dump is written.
            ExecutionContext.SuppressFlow();
            worker.Start();
            ExecutionContext.RestoreFlow();
            worker.Join();                          // never returns: RequestWorker's exception kills us
            return 0;
        }
    }
}
