import Commands
import Foundation
import Testing

/// `!CLRStack` against the runtime's own DAC: the managed frames (Child SP, IP, method) and the explicit Frames of
/// the async-crash program's threads, as Docs/clr/code-lookup.md §8 lists them from the DAC's stack walk.
struct ClrStackTests {
    /// The frames `!clrstack` prints for one thread: "SP IP method".
    static func frames(_ s: Session, _ b: Output.Buffer, thread: Int) -> [String] {
        _ = ClrFixtures.run(s, b, "~\(thread)s")
        return ClrFixtures.run(s, b, "!clrstack").split(separator: "\n").dropFirst(2).map(String.init)
    }

    @Test func linux31MatchesTheDAC() throws {
        guard ClrFixtures.seedAvailable else { print("skip: ../shared/dumps is absent"); return }
        let (s, b) = try ClrFixtures.seedSessionWithSos()
        #expect(Self.frames(s, b, thread: 0) == [
            "00007FFF382B4C98 00007fb1118a3f16 [HelperMethodFrame: 00007fff382b4c98] System.Threading.Thread.SleepInternal(Int32)",
            "00007FFF382B4DE0 00007FB0971760DB System.Threading.Thread.Sleep(Int32)",
            "00007FFF382B4DF0 00007FB09766183D CrashLab.Program.Main(System.String[])",
            "00007FFF382B5178 00007fb110a4e2df [GCFrame: 00007fff382b5178] ",
            "00007FFF382B5660 00007fb110a4e2df [GCFrame: 00007fff382b5660] "])
        #expect(Self.frames(s, b, thread: 8) == [
            "00007FB095FFE6A0 00007fb1118f1c17 [HelperMethodFrame: 00007fb095ffe6a0] ",
            "00007FB095FFE820 00007FB0971D7571 System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw()",
            "00007FB095FFE830 00007FB09719ABB9 System.Threading.Tasks.Task+<>c.<ThrowAsync>b__139_1(System.Object)",
            "00007FB095FFE840 00007FB09718A7AA System.Threading.QueueUserWorkItemCallbackDefaultContext.Execute()",
            "00007FB095FFE850 00007FB0971895E9 System.Threading.ThreadPoolWorkQueue.Dispatch()",
            "00007FB095FFE8D0 00007FB0971775FB System.Threading._ThreadPoolWaitCallback.PerformWaitCallback()",
            "00007FB095FFEC80 00007fb110a4e2df [DebuggerU2MCatchHandlerFrame: 00007fb095ffec80] "])
        let worker = Self.frames(s, b, thread: 7)
        #expect(worker.count == 11 && worker[0] == "00007FB0964915C0 00007fb1118a3f16 [HelperMethodFrame: 00007fb0964915c0] System.Threading.WaitHandle.WaitOneCore(IntPtr, Int32)" && worker[3] == "00007FB096491760 00007FB09766A60F CrashLab.Program.ExecuteStep(CrashLab.AccountController, System.Web.Hosting.IIS7WorkerRequest)"
                && worker[8] == "00007FB096491850 00007FB097175E2E System.Threading.ThreadHelper.ThreadStart()"
                && worker[9] == "00007FB096491BB0 00007fb110a4e2df [GCFrame: 00007fb096491bb0] "
                && worker[10] == "00007FB096491C80 00007fb110a4e2df [DebuggerU2MCatchHandlerFrame: 00007fb096491c80] ", "\(worker)")
        // A thread without managed code says so.
        #expect(ClrFixtures.run(s, b, "~1s; !clrstack").contains("The current thread is unmanaged") || Self.frames(s, b, thread: 1).isEmpty)
    }

    @Test func linux80MatchesTheDAC() throws {
        guard Net8.available else { print("skip: \(Net8.skip)"); return }
        let (s, b) = try Net8.session()
        #expect(Self.frames(s, b, thread: 12) == [
            "00007F6C8E5FC900 00007fadb8af1c17 [HelperMethodFrame: 00007f6c8e5fc900] ",
            "00007F6C8E5FCA20 00007FAD3A024B5A System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw()",
            "00007F6C8E5FCA40 00007FAD3948BA15 System.Threading.Tasks.Task+<>c.<ThrowAsync>b__128_1(System.Object)",
            "00007F6C8E5FCA50 00007FAD39478E21 System.Threading.ThreadPoolWorkQueue.Dispatch()",
            "00007F6C8E5FCAC0 00007FAD39481E6B System.Threading.PortableThreadPool+WorkerThread.WorkerThreadStart()",
            "00007F6C8E5FCCD0 00007fadb869fc37 [DebuggerU2MCatchHandlerFrame: 00007f6c8e5fccd0] "])
        #expect(Self.frames(s, b, thread: 8) == [
            "00007FAD381889A0 00007fadb8aa3f16 [HelperMethodFrame: 00007fad381889a0] System.Threading.WaitHandle.WaitOneCore(IntPtr, Int32)",
            "00007FAD38188AD0 00007FAD3946A405 System.Threading.WaitHandle.WaitOneNoCheck(Int32)",
            "00007FAD38188B10 00007FAD3A0236F0 CrashLab.Program.ExecuteStep(CrashLab.AccountController, System.Web.Hosting.IIS7WorkerRequest)",
            "00007FAD38188B40 00007FAD3A02361F CrashLab.Program.ProcessRequest(System.Web.Hosting.IIS7WorkerRequest)",
            "00007FAD38188B70 00007FAD3A023497 CrashLab.Program.WorkerThreadProc()",
            "00007FAD38188CD0 00007fadb869fc37 [DebuggerU2MCatchHandlerFrame: 00007fad38188cd0] "])
        // In a P/Invoke the runtime shows the caller at the active InlinedCallFrame's return address (…b28d), not
        // at the native call's (…b29d, where unwinding lands): dumpdbg reads the frame and does the same. The walk
        // meets the frame twice: from the native code below it, then at that return address.
        let tp = Self.frames(s, b, thread: 10)
        #expect(Array(tp.prefix(3)) == ["00007F6C8E6FD988 00007fadb8aa3f16 [InlinedCallFrame: 00007f6c8e6fd988] ",
                                        "00007F6C8E6FD988 00007fad3946b28d [InlinedCallFrame: 00007f6c8e6fd988] ",
                                        "00007F6C8E6FD970 00007FAD3946B28D System.Threading.LowLevelLifoSemaphore.WaitNative(Microsoft.Win32.SafeHandles.SafeWaitHandle, Int32)"]
                && tp.count == 7, "\(tp)")
    }

    @Test func windows31MatchesTheDAC() throws {
        guard ClrFixtures.seedAvailable else { print("skip: ../shared/dumps is absent"); return }
        let (s, b) = try Win31.session()
        #expect(Self.frames(s, b, thread: 6) == [
            "000000001BC2F438 000000017000ebe4 [HelperMethodFrame: 000000001bc2f438] ",
            "000000001BC2F530 000006448A516061 System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw()",
            "000000001BC2F560 000006448A4E5E79 System.Threading.Tasks.Task+<>c.<ThrowAsync>b__139_1(System.Object)",
            "000000001BC2F590 000006448A4D90AA System.Threading.QueueUserWorkItemCallbackDefaultContext.Execute()",
            "000000001BC2F5C0 000006448A3E7AA0 System.Threading.ThreadPoolWorkQueue.Dispatch()",
            "000000001BC2F670 000006448A3E78BB System.Threading._ThreadPoolWaitCallback.PerformWaitCallback()",
            "000000001BC2FA80 0000000001606c93 [DebuggerU2MCatchHandlerFrame: 000000001bc2fa80] "])
        #expect(Self.frames(s, b, thread: 0) == [
            "000000000019E8B8 000000017000d664 [HelperMethodFrame: 000000000019e8b8] System.Threading.Thread.SleepInternal(Int32)",
            "000000000019E9B0 000006448A4CC46B System.Threading.Thread.Sleep(Int32)",
            "000000000019E9E0 000000001AE12916 CrashLab.Program.Main(System.String[])",
            "000000000019EC78 0000000001606c93 [GCFrame: 000000000019ec78] ",
            "000000000019F210 0000000001606c93 [GCFrame: 000000000019f210] "])
    }

    /// `!analyze -v` on each runtime's crash: the unhandled NullReferenceException from the async method, bucketed
    /// by its type, HRESULT and the method that threw it, on the thread that threw it.
    @Test func analyzeNamesTheManagedCrash() throws {
        guard ClrFixtures.seedAvailable else { print("skip: ../shared/dumps is absent"); return }
        let bucket = "FAILURE_BUCKET_ID:  CLR_EXCEPTION_System.NullReferenceException_80004003_app.exe!CrashLab.AccountController+<LoginAsync>c__async0.MoveNext"
        var sessions: [(String, Session, Output.Buffer, String)] = []
        let (s31, b31) = try ClrFixtures.seedSessionWithSos()
        sessions.append(("linux-3.1", s31, b31, "FAULTING_THREAD:  3811"))
        let (sw, bw) = try Win31.session()
        sessions.append(("windows-3.1", sw, bw, "FAULTING_THREAD:  194"))
        if Net8.available {
            let (s8, b8) = try Net8.session()
            sessions.append(("linux-8.0", s8, b8, "FAULTING_THREAD:  3848"))
        }
        for (name, s, b, thread) in sessions {
            let out = ClrFixtures.run(s, b, "!analyze -v")
            #expect(out.contains(bucket), "\(name): \(out.suffix(1500))")
            #expect(out.contains(thread) && out.contains("EXCEPTION_OBJECT: !pe ") && out.contains("MANAGED_STACK: !CLRStack"), "\(name)")
            #expect(out.contains("System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw()"), "\(name)")
        }
    }

    /// `!IP2MD`, `!DumpMD` and `!U` on the 3.1 dump: the values code-lookup.md §2.3 checked against the DAC.
    @Test func ip2mdDumpmdAndU() throws {
        guard ClrFixtures.seedAvailable else { print("skip: ../shared/dumps is absent"); return }
        let (s, b) = try ClrFixtures.seedSessionWithSos()
        let ip2md = ClrFixtures.run(s, b, "!ip2md 7fb09766a39b")
        #expect(ip2md.hasPrefix("MethodDesc:   00007fb09770fe90\nMethod Name:          CrashLab.Program.WorkerThreadProc()\n"), "\(ip2md)")
        #expect(ip2md.contains("mdToken:              0000000006000005\n") && ip2md.contains("Current CodeAddr:     00007fb09766a340\n"), "\(ip2md)")
        let r2r = ClrFixtures.run(s, b, "!ip2md 7fb0971d7571")
        #expect(r2r.contains("System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw()") && r2r.contains("(ReadyToRun code)"), "\(r2r)")
        #expect(ClrFixtures.run(s, b, "!dumpmd 7fb09770fef0").contains("Method Name:          CrashLab.Program.Main(System.String[])\n"))
        let u = ClrFixtures.run(s, b, "!u 7fb09766a39b").split(separator: "\n")
        #expect(u.prefix(3) == ["Normal JIT generated code", "CrashLab.Program.WorkerThreadProc()", "Begin 00007FB09766A340, size 6b"], "\(u)")
        #expect(u.contains { $0.hasPrefix(">>> 00007fb0`9766a39b ") } && u.last?.hasSuffix("ret") == true, "\(u)")
        #expect(ClrFixtures.run(s, b, "!ip2md 1000").contains("not in JIT code range"))
        // !DumpIL: Main's IL where the runtime mapped app.exe, tokens named from its metadata; an IL stub has none.
        let il = ClrFixtures.run(s, b, "!dumpil 7fb09770fef0").split(separator: "\n").map(String.init)
        #expect(il.first == "ilAddr = 00007fb111c47458" && il.contains("IL_0000: nop ")
                && il.contains("IL_0032: call void System.Console::WriteLine(string,object,object,object)")
                && il.contains("IL_00e2: callvirt void CrashLab.AccountController::LoginAsync(string)")
                && il.contains("IL_00e8: call void System.Threading.Thread::Sleep(int32)") && il.last == "IL_00f5: ret ", "\(il)")
        // !U -il -map: the DAC's map rows (the last one "ends" at the method's start), the IL listing, then each IL
        // range before the native code the map gives it (the rows match the DAC's GetILAddressMap: ILAddressMapTests).
        let uil = ClrFixtures.run(s, b, "!u -il -map 7fb09766a39b")
        #expect(uil.contains("00000011 00007fb09766a392 00007fb09766a39b\n") && uil.contains("fffffffd 00007fb09766a3a4 00007fb09766a340\n")
                && uil.contains("IL_001d: ret \nBegin 00007FB09766A340, size 6b\n")
                && uil.contains("IL_0011: ldloc.0 \nIL_0012: call void CrashLab.Program::ProcessRequest(class [*]System.Web.Hosting.IIS7WorkerRequest)\n00007fb0`9766a392 488b7df8"), "\(uil)")
        // SOS options dumpdbg does not have are refused, not ignored; -n (no source lines) changes nothing.
        #expect(ClrFixtures.run(s, b, "!u -gcinfo 7fb09766a39b").contains("!U -gcinfo is not available"))
        #expect(ClrFixtures.run(s, b, "!u -n 7fb09766a39b").split(separator: "\n").prefix(3) == u.prefix(3))
        // After .loadby, k unwinds JIT frames by their unwind info and names managed frames: one native+managed stack.
        let k = ClrFixtures.run(s, b, "~8s; kc")
        #expect(k.contains("libcoreclr!IL_Throw\n") && k.contains("System_Private_CoreLib!System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw\n")
                && k.contains("System_Private_CoreLib!System.Threading._ThreadPoolWaitCallback.PerformWaitCallback\n"), "\(k)")
        // !dumpstack: native and managed frames as one list; a return address just past a noreturn call names the caller.
        _ = ClrFixtures.run(s, b, "~8s")
        let dump = ClrFixtures.run(s, b, "!dumpstack")
        #expect(dump.contains("libcoreclr!PROCEndProcess+0x84, calling libcoreclr!PROCAbort+0xe")
                && dump.contains("System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(), calling libcoreclr!IL_Throw+0x271"), "\(dump)")
        let help = ClrFixtures.run(s, b, "!soshelp")
        #expect(help.contains("  !CLRStack ") && help.contains("  !DumpObj (!do, !DumpObject) "), "\(help)")
        #expect(ClrFixtures.run(s, b, "!soshelp clrstack").hasPrefix("!CLRStack [-a | -p | -l] [-f] [-r] [-gc] [-all]\n"))
    }
}
