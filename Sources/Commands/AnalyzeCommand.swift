import ClrLayout
import DumpModel
import Foundation
import Native
import Unwind

/// `!analyze -v`'s findings: the exception, the faulting thread's stack, the frame that gets the blame, and a
/// bucket id and hash that stay the same for the same crash (they hold no paths and no run-dependent data).
struct AnalysisValue: CommandValue {
    let verbose: Bool
    /// Set when the dump records no exception: what was analysed instead.
    let note: String?
    let exception: ExceptionRecordValue?
    /// "Read", "Write", "Execute" for an access violation or a fault signal.
    let accessType: String?
    let accessAddress: HexValue?
    let faultingThreadIndex: Int
    let faultingThreadId: HexValue
    let processName: String?
    let errorCode: String?
    let problemClass: String
    let stack: StackValue
    let stackCommand: String
    let symbolName: String
    let moduleName: String?
    let imageName: String?
    let imageVersion: String?
    let failureBucketId: String
    let failureHash: String
    let platform: String
    let osName: String
    let contextLines: [String]?
    let pointerSize: Int
    /// A managed crash (SOS loaded, or its runtime found): the thread's last thrown exception, as `!pe` shows it.
    var managedException: ExceptionsValue.Exception?
    /// The faulting thread's managed frames, as `!clrstack` shows them.
    var managedStack: [ManagedStacksValue.Frame]?
    /// The blamed frame's source file and line, from the module's symbol file.
    var faultingSourceFile: String?
    var faultingSourceLine: Int?

    enum CodingKeys: String, CodingKey {
        case note, exception, accessType, accessAddress, faultingThreadIndex, faultingThreadId, processName, errorCode, problemClass,
             stack, stackCommand, symbolName, moduleName, imageName, imageVersion, failureBucketId, failureHash, platform, osName,
             managedException, managedStack, faultingSourceFile, faultingSourceLine
    }

    func textLines() -> [String] {
        let star = String(repeating: "*", count: 79)
        let blank = "*" + String(repeating: " ", count: 77) + "*"
        var out = [star, blank, "*" + "Exception Analysis".leftPad(42).rightPad(77) + "*", blank, star, "", ""]
        if let note { out += [note, ""] }
        func key(_ k: String, _ v: String) { out += ["    Key  : \(k)", "    Value: \(v)", ""] }
        out += ["KEY_VALUES_STRING: 1", ""]
        if let accessType { key("AV.Type", accessType) }
        key("Failure.Bucket", failureBucketId)
        key("Failure.Hash", failureHash)
        if let e = exception {
            key("Failure.Exception.Code", "0x" + String(e.code.value, radix: 16))
            key("Failure.Exception.IP.Address", "0x" + String(e.address.value, radix: 16))
            if let m = moduleName { key("Failure.Exception.IP.Module", m) }
        }
        out.append("")
        func field(_ name: String, _ value: String) { out += ["\(name):  \(value)", ""] }
        if verbose, let contextLines {
            out.append("CONTEXT:  (.ecxr)")
            out += contextLines
            out += ["Resetting default scope", ""]
        }
        if verbose, let e = exception {
            out.append("EXCEPTION_RECORD:  (.exr -1)")
            out += e.textLines()
            out.append("")
        }
        field("FAULTING_THREAD", String(faultingThreadId.value, radix: 16))
        if let processName { field("PROCESS_NAME", processName) }
        if let accessType, let accessAddress, accessType != "Execute" {
            field(accessType.uppercased() + "_ADDRESS", Hex.address(accessAddress.value, pointerSize: pointerSize) + " ")
        }
        if let errorCode { out += ["ERROR_CODE: \(errorCode)", ""] }
        if let e = exception {
            field("EXCEPTION_CODE_STR", Hex.pad(e.code.value, 8))
            for (i, p) in e.parameters.prefix(4).enumerated() {
                field("EXCEPTION_PARAMETER\(i + 1)", Hex.address(p.value, pointerSize: pointerSize))
            }
        }
        if let e = managedException {
            out.append("EXCEPTION_OBJECT: !pe \(String(e.address.value, radix: 16))")
            out += ExceptionsValue(exceptions: [e], nested: false, chainNote: nil).textLines()
            out.append("")
        }
        if let frames = managedStack, !frames.isEmpty {
            out.append("MANAGED_STACK: !CLRStack")
            out.append("        Child SP               IP Call Site")
            out += frames.map(ManagedStacksValue.frameLine)
            out.append("")
        }
        out.append("STACK_TEXT:  ")
        out += stack.textLines().filter { !$0.contains("Call Site") }
        out += ["", ""]
        // The blamed frame's source line, where a symbol file gives one (WinDbg's FAULTING_SOURCE_* fields).
        if let file = faultingSourceFile, let line = faultingSourceLine {
            field("FAULTING_SOURCE_LINE", file)
            field("FAULTING_SOURCE_FILE", file)
            field("FAULTING_SOURCE_LINE_NUMBER", String(line))
        }
        field("STACK_COMMAND", stackCommand)
        field("SYMBOL_NAME", symbolName)
        if let moduleName { out += ["MODULE_NAME: \(moduleName)", ""] }
        if let imageName { field("IMAGE_NAME", imageName) }
        field("FAILURE_BUCKET_ID", failureBucketId)
        field("OSPLATFORM_TYPE", platform)
        field("OSNAME", osName)
        if let imageVersion { field("IMAGE_VERSION", imageVersion) }
        field("FAILURE_ID_HASH", failureHash)
        out += ["Followup:     MachineOwner", "---------", ""]
        return out
    }
}

/// `!analyze -v`: what crashed, where, and a bucket for it; switches to the faulting thread, as WinDbg does.
struct AnalyzeCommand: ValueCommand {
    let names = ["!analyze"]
    let summary = "analyse the crash: exception, faulting thread and stack, blamed frame, bucket id (!analyze -v)"
    let help = """
    !analyze [-v] analyses the event the dump was written for: the exception or signal with its name, the
                  faulting address and access, the faulting thread's stack (STACK_TEXT, walked as `k` does),
                  the first frame outside system modules (SYMBOL_NAME, MODULE_NAME, IMAGE_NAME), and
                  FAILURE_BUCKET_ID (PROBLEM_CLASS_code_image!function) with FAILURE_ID_HASH, a hash of the
                  bucket and the top frames that is the same on every run and for a copy at another path.
                  It makes the faulting thread current (with the exception context, as after .ecxr).
                  -v adds the context (CONTEXT) and the exception record (EXCEPTION_RECORD).
                  A dump with no exception (a snapshot) gets the main thread's stack, bucketed APPLICATION_HANG;
                  a createdump snapshot of a running .NET process (after .loadby sos clr) gets -hang's analysis.
    !analyze -v -hang analyses a hang in a .NET process instead: what each managed thread waits for (a
                  monitor, with its owner; a sleep; a wait handle), the monitors held (!syncblk), a deadlock
                  (a cycle of threads each waiting for a monitor the next one owns), thread pool starvation
                  (every worker blocked, work queued), and the blocking thread, bucketed
                  APPLICATION_HANG_DEADLOCK_MONITOR_image!method (or ..._THREADPOOL_STARVATION_..., ..._BlockedOn_...).
                  It makes the blocking thread current.
    Example: !analyze -v
    """

    /// Modules whose frames are not blamed: the OS and language runtimes a crash passes through.
    static let systemModules: Set<String> = [
        "ntdll", "kernelbase", "kernel32", "ucrtbase", "ucrtbased", "msvcrt", "vcruntime140", "vcruntime140d", "msvcp140",
        "user32", "win32u", "combase", "rpcrt4", "wow64", "wow64cpu", "wow64win",
        "libc", "libc_so", "libpthread", "libpthread_so", "ld_linux_x86_64_so", "ld_linux_so", "ld_linux_aarch64_so",
        "libstdc++_so", "libstdc___so", "libgcc_s_so", "libm_so", "linux_vdso_so", "linux_gate_so", "libsystem_kernel",
        "libsystem_c", "libsystem_pthread", "libdyld", "libc___abi", "libc++abi",
    ]

    func evaluate(_ inv: Invocation, in s: Session) throws -> any CommandValue {
        var verbose = false, hang = false
        for w in inv.words {
            switch w.lowercased() {
            case "-v": verbose = true
            case "-f": break
            case "-hang": hang = true
            default: throw CommandError("Unknown option '\(w)'. Usage: !analyze [-v] [-hang]", kind: .usage)
            }
        }
        if hang { return try HangAnalysis.analyze(verbose: verbose, in: s) }
        if s.isLiveSnapshot {
            var v = try HangAnalysis.analyze(verbose: verbose, in: s)
            v.note = "No exception: createdump wrote this dump of a running process (it marks every thread SIGABRT; none is aborting), so the analysis is a hang analysis (!analyze -v -hang)."
            return v
        }
        guard !s.dump.threads.isEmpty else { throw CommandError("No threads in this dump: nothing to analyse") }
        let os = s.dump.system.os
        let exception = s.eventException
        let threadIndex: Int
        if let e = exception, let i = s.eventThread ?? s.dump.threads.firstIndex(where: { $0.id == e.threadId }) {
            threadIndex = i
        } else {
            threadIndex = 0
        }
        let thread = s.dump.threads[threadIndex]
        // The exception's context belongs to the thread that raised it (`.loadby sos` may name another).
        let exceptionContext = exception?.threadId == thread.id ? exception?.context : nil
        let context = exceptionContext ?? thread.context
        var options = StackOptions()
        options.arguments = true
        let stack = try StackCommand.stack(of: threadIndex, context: context, options: options, limit: 0x100, in: s)

        // The blamed frame: the first one in a module that is not the OS's or the language runtime's.
        let blamed = stack.frames.first { f in f.module.map { !Self.systemModules.contains($0.lowercased()) } ?? false }
            ?? stack.frames.first
        // Return addresses are looked up inside their call instruction.
        let lookup = blamed?.lookupAddress
        let module = lookup.flatMap { s.namer.module(containing: $0) }
        let symbolName: String
        if let f = blamed, let m = module, let lookup {
            if f.isInline, let fn = f.function, let off = f.inlineOffset {
                symbolName = "\(m.moduleName)!\(fn)+\(String(off, radix: 16))"
            } else if f.function != nil, let (fn, off) = s.nativeModules.symbol(at: lookup, in: m) {
                symbolName = "\(m.moduleName)!\(fn)+\(String(f.isContextFrame ? off : off + 1, radix: 16))"
            } else {
                symbolName = "\(m.moduleName)+\(String(f.instructionPointer.value &- m.base, radix: 16))"
            }
        } else {
            symbolName = "Unknown"
        }

        // The access: Windows access violations say it; Linux fault signals give the address only.
        var accessType: String?, accessAddress: UInt64?
        if let e = exception {
            if os == .windows, e.code == 0xC000_0005, e.parameters.count >= 2 {
                accessType = [0: "Read", 1: "Write", 8: "Execute"][e.parameters[0]] ?? "Read"
                accessAddress = e.parameters[1]
            } else if os != .windows, [7, 11].contains(e.code), e.parameters.count >= 2 {
                accessType = e.parameters[1] == context?.instructionPointer ? "Execute" : "Access"
                accessAddress = e.parameters[1]
            }
        }
        let problemClass = Self.problemClass(exception, os: os, access: accessType, address: accessAddress, hasModule: stack.frames.first?.module != nil)
        let code: String
        if let e = exception {
            code = os == .windows ? Hex.pad(UInt64(e.code), 8) : Describe.exceptionName(e, os: os)
        } else {
            code = "0"
        }
        let image = module?.fileName ?? "Unknown"
        let function = blamed?.function ?? "Unknown"
        let bucket = "\(problemClass)_\(code)_\(image)!\(function)"
        // The hash covers the bucket and the top frames' names (not addresses or paths), so it is stable.
        let top = stack.frames.prefix(8).map { f -> String in
            guard let m = f.module else { return "?" }
            return f.function.map { "\(m)!\($0)" } ?? m
        }
        let hash = Self.guidHash(([bucket] + top).joined(separator: "\n"))

        let record = exception.map { e in
            ExceptionRecordCommand.value(e, s, source: s.dump.exception != nil ? "dump" : s.reconstructedFromTracker ? "runtimeTracker" : "rebuilt")
        }
        let note: String? = exception == nil
            ? "No exception or signal is recorded in this dump (a snapshot, such as a hang dump): analysing thread \(threadIndex)'s stack."
            : nil
        // A managed crash: the runtime's view of the thread names the exception and the managed frames, and the
        // bucket follows the exception type and the method that threw it (WinDbg through SOS does the same).
        var managed: (exception: ExceptionsValue.Exception, frames: [ManagedStacksValue.Frame], bucket: String, symbol: String, module: String, image: String)?
        if let r = Self.clrRuntime(s), let t = r.threads().first(where: { $0.osId == thread.id && !$0.isDead }) {
            let thrown = r.objectFromHandle(t.lastThrownHandle)
            let frames = ClrStackCommand.frames(thread: threadIndex, context: thread.context, native: false, r, s)
            if thrown != 0, let e = try? PrintExceptionCommand.exception(thrown, r) {
                // The method that threw: the exception's first frame outside the framework, else its first frame,
                // else the thread's first managed frame.
                let thrower = r.stackTrace(ofException: thrown).map(\.methodDesc)
                let md = thrower.first { !r.methodName($0).hasPrefix("System.") } ?? thrower.first
                    ?? frames.first(where: \.managed)?.methodDesc?.value
                let n = ManagedMethodName(md.map { r.methodName($0) } ?? "Unknown!Unknown")
                managed = (e, frames, "CLR_EXCEPTION_\(e.type)_\(Hex.pad(e.hresult.value, 8))_\(n.image)!\(n.method)", "\(n.module)!\(n.method)",
                           n.module, n.image)
            }
        }
        // WinDbg leaves the session on the faulting thread, in the exception's context.
        s.currentThread = threadIndex
        s.useExceptionContext = exceptionContext != nil && s.dump.exception != nil
        let contextLines = verbose ? context.map { RegisterCommand.block($0) } : nil
        // The blame: the managed exception's thrower for a managed crash, else the first native frame outside
        // the system modules.
        let blame = managed.map { m in
            (problemClass: "CLR_EXCEPTION", command: "~\(threadIndex)s; !pe; !clrstack", symbol: m.symbol, module: Optional(m.module),
             image: Optional(m.image), version: String?.none, bucket: m.bucket,
             // Method names only: explicit Frames carry stack addresses, which differ from one crash to the next.
             hash: Self.guidHash(([m.bucket] + m.frames.filter(\.managed).prefix(8).map(\.callSite)).joined(separator: "\n")))
        } ?? (problemClass: problemClass, command: "~\(threadIndex)s;" + (s.useExceptionContext ? " .ecxr ;" : "") + " kb",
              symbol: symbolName, module: module?.moduleName, image: module?.fileName, version: module?.fileVersion?.description,
              bucket: bucket, hash: hash)
        var value = AnalysisValue(
            verbose: verbose, note: note, exception: record, accessType: managed == nil ? accessType : nil,
            accessAddress: managed == nil ? accessAddress.map(HexValue.init) : nil,
            faultingThreadIndex: threadIndex, faultingThreadId: HexValue(thread.id),
            processName: s.dump.processName.map { ($0 as NSString).lastPathComponent } ?? s.dump.modules.first?.fileName,
            errorCode: exception.map { Self.errorCode($0, os: os) }, problemClass: blame.problemClass, stack: stack,
            stackCommand: blame.command, symbolName: blame.symbol, moduleName: blame.module, imageName: blame.image,
            imageVersion: blame.version, failureBucketId: blame.bucket, failureHash: blame.hash,
            platform: s.dump.system.architecture.description, osName: Self.osName(s.dump.system),
            contextLines: contextLines, pointerSize: s.pointerSize)
        value.managedException = managed?.exception
        value.managedStack = managed?.frames
        if managed == nil {
            value.faultingSourceFile = blamed?.sourceFile
            value.faultingSourceLine = blamed?.sourceLine
        }
        return value
    }

    /// The CLR runtime, when the dump has one SOS can read (SOS loaded, or the runtime's files on the image path).
    static func clrRuntime(_ s: Session) -> ClrRuntime? {
        guard s.registry.loadedExtensions.contains("sos")
                || ClrInfo.runtimeModule(in: s.dump) != nil else { return nil }
        return try? SosRuntimes.runtime(for: s)
    }

    /// WinDbg's PROBLEM_CLASS words for the common failures.
    static func problemClass(_ e: ExceptionInfo?, os: OperatingSystem, access: String?, address: UInt64?, hasModule: Bool) -> String {
        guard let e else { return "APPLICATION_HANG" }
        if let access, let address {
            if access == "Execute" || !hasModule { return "BAD_INSTRUCTION_PTR" }
            let kind = access.uppercased()
            if address == 0 { return "NULL_POINTER_\(kind)" }
            if address < 0x10000 { return "NULL_CLASS_PTR_\(kind)" }
            return "INVALID_POINTER_\(kind)"
        }
        if os == .windows {
            switch e.code {
            case 0xC000_00FD: return "STACK_OVERFLOW"
            case 0xC000_0409: return "FAIL_FAST_STACK_BUFFER_OVERRUN"
            case 0x8000_0003: return "BREAKPOINT"
            case 0xC000_0094: return "INTEGER_DIVIDE_BY_ZERO"
            case 0xC000_001D: return "ILLEGAL_INSTRUCTION"
            case 0xC000_000D: return "INVALID_PARAMETER"
            case 0xC000_0374: return "HEAP_CORRUPTION"
            case 0xE043_4352, 0xE043_4F4D: return "CLR_EXCEPTION"
            case 0xE06D_7363: return "CPP_EXCEPTION"
            default: return "APPLICATION_FAULT"
            }
        }
        switch e.code {
        case 6: return "ABORT"
        case 4: return "ILLEGAL_INSTRUCTION"
        case 8: return "ARITHMETIC_FAULT"
        case 5: return "BREAKPOINT"
        case 0xFFFF_FFFF: return "DUMP_REQUESTED"
        default: return "APPLICATION_FAULT"
        }
    }

    /// `(NTSTATUS) 0xc0000005 - text` on Windows; the signal and its si_code elsewhere.
    static func errorCode(_ e: ExceptionInfo, os: OperatingSystem) -> String {
        if os == .windows {
            // The message text where dumpdbg carries it, else the code's symbolic name (ntstatus.h).
            return "(NTSTATUS) 0x\(Hex.pad(UInt64(e.code), 8)) - " + (ntStatusText[e.code] ?? StatusTables.ntStatus[e.code] ?? "<Unable to get error code text>")
        }
        let name = Describe.exceptionName(e, os: os)
        guard os == .linux || os == .android, let si = e.parameters.first.map({ Int32(truncatingIfNeeded: $0) }) else { return "(signal) \(name)" }
        return "(signal) \(e.code) \(name) - " + siCodeText(signal: e.code, code: si)
    }

    static let ntStatusText: [UInt32: String] = [
        0xC000_0005: "The instruction at 0x%p referenced memory at 0x%p. The memory could not be %s.",
        0xC000_00FD: "A new guard page for the stack cannot be created.",
        0x8000_0003: "{EXCEPTION}  Breakpoint  A breakpoint has been reached.",
        0xC000_0409: "The system detected an overrun of a stack-based buffer in this application. This overrun could potentially allow a malicious user to gain control of this application.",
        0xC000_001D: "{EXCEPTION}  Illegal Instruction  An attempt was made to execute an illegal instruction.",
        0xC000_0094: "{EXCEPTION}  Integer division by zero.",
        0xC000_000D: "An invalid parameter was passed to a service or function.",
        0xC000_0374: "A heap has been corrupted.",
        0xC000_0096: "{EXCEPTION}  Privileged instruction.",
        0x8000_0002: "{EXCEPTION}  Alignment Fault  A datatype misalignment was detected in a load or store instruction.",
    ]

    /// siginfo's si_code in words (Linux <asm-generic/siginfo.h>).
    static func siCodeText(signal: UInt32, code: Int32) -> String {
        let generic: [Int32: String] = [0: "SI_USER: sent by kill or raise", 0x80: "SI_KERNEL: sent by the kernel", -1: "SI_QUEUE: sent by sigqueue",
                                        -6: "SI_TKILL: sent by tkill or tgkill (abort, raise)"]
        let specific: [UInt32: [Int32: String]] = [
            11: [1: "SEGV_MAPERR: address not mapped to object", 2: "SEGV_ACCERR: invalid permissions for mapped object",
                 3: "SEGV_BNDERR: failed address bound checks", 4: "SEGV_PKUERR: failed protection key checks"],
            7: [1: "BUS_ADRALN: invalid address alignment", 2: "BUS_ADRERR: nonexistent physical address", 3: "BUS_OBJERR: object specific hardware error"],
            4: [1: "ILL_ILLOPC: illegal opcode", 2: "ILL_ILLOPN: illegal operand", 3: "ILL_ILLADR: illegal addressing mode", 4: "ILL_ILLTRP: illegal trap",
                5: "ILL_PRVOPC: privileged opcode", 6: "ILL_PRVREG: privileged register", 7: "ILL_COPROC: coprocessor error", 8: "ILL_BADSTK: internal stack error"],
            8: [1: "FPE_INTDIV: integer divide by zero", 2: "FPE_INTOVF: integer overflow", 3: "FPE_FLTDIV: floating-point divide by zero",
                4: "FPE_FLTOVF: floating-point overflow", 5: "FPE_FLTUND: floating-point underflow", 6: "FPE_FLTRES: floating-point inexact result",
                7: "FPE_FLTINV: floating-point invalid operation", 8: "FPE_FLTSUB: subscript out of range"],
        ]
        if code > 0, code != 0x80, let t = specific[signal]?[code] { return t }
        return generic[code] ?? "si_code \(code)"
    }

    static func osName(_ s: SystemInfo) -> String {
        switch s.os {
        case .windows: return Describe.target(s).components(separatedBy: " Version").first ?? "Windows"
        default: return s.os.rawValue
        }
    }

    /// A GUID-shaped hash of a text: two FNV-1a 64-bit hashes with different offsets (deterministic across runs
    /// and machines, unlike Swift's Hasher).
    static func guidHash(_ text: String) -> String {
        func fnv(_ seed: UInt64) -> UInt64 {
            var h = seed
            for b in text.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
            return h
        }
        let a = fnv(0xCBF2_9CE4_8422_2325), b = fnv(0x8422_2325_CBF2_9CE4)
        // The 32 hex digits of a then b, grouped 8-4-4-4-12.
        return "{" + Hex.pad(a >> 32, 8) + "-" + Hex.pad(a >> 16 & 0xFFFF, 4) + "-" + Hex.pad(a & 0xFFFF, 4) + "-"
            + Hex.pad(b >> 48, 4) + "-" + Hex.pad(b & 0xFFFF_FFFF_FFFF, 12) + "}"
    }
}
