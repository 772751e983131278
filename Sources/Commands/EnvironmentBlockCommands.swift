import DumpModel
import Native

/// `!teb`: the current thread's TEB (Windows dumps whose TEB memory was captured).
struct TebCommand: DebuggerCommand {
    let names = ["!teb"]
    let summary = "show the thread environment block"
    let help = "!teb [ADDRESS]   shows the current thread's TEB (or the one at ADDRESS).\nExample: !teb"
    func run(_ inv: Invocation, in s: Session) throws {
        guard s.dump.system.os == .windows else { throw CommandError("!teb: this is a \(s.dump.system.os.rawValue) dump; only Windows threads have a TEB") }
        let addr: UInt64
        if inv.arguments.isEmpty {
            guard let t = s.thread, t.teb != 0 else { throw CommandError("!teb: the current thread has no TEB address in this dump") }
            addr = t.teb
        } else {
            addr = try ExpressionEvaluator.evaluate(inv.arguments, environment: s.expressionEnvironment)
        }
        let w = s.pointerSize * 2
        func p(_ v: UInt64) -> String { Hex.pad(v, w) }
        guard let teb = ThreadEnvironmentBlock(memory: s.memory, address: addr) else {
            s.output.line("TEB at \(p(addr))")
            throw CommandError("error InitTypeRead( TEB ): the TEB's memory at \(p(addr)) is not in this dump")
        }
        let lines = [
            "TEB at \(p(teb.address))",
            "    ExceptionList:        \(p(teb.exceptionList))",
            "    StackBase:            \(p(teb.stackBase))",
            "    StackLimit:           \(p(teb.stackLimit))",
            "    SubSystemTib:         \(p(teb.subSystemTib))",
            "    FiberData:            \(p(teb.fiberData))",
            "    ArbitraryUserPointer: \(p(teb.arbitraryUserPointer))",
            "    Self:                 \(p(teb.selfPointer))",
            "    EnvironmentPointer:   \(p(teb.environmentPointer))",
            "    ClientId:             \(p(teb.processId)) . \(p(teb.threadId))",
            "    RpcHandle:            \(p(teb.rpcHandle))",
            "    Tls Storage:          \(p(teb.tlsStorage))",
            "    PEB Address:          \(p(teb.peb))",
            "    LastErrorValue:       \(teb.lastErrorValue)",
            "    LastStatusValue:      " + (teb.lastStatusValue.map { String($0, radix: 16) } ?? "????????"),
            "    Count Owned Locks:    \(teb.countOwnedLocks)",
            "    HardErrorMode:        " + (teb.hardErrorMode.map { String($0) } ?? "????????"),
        ]
        for l in lines { s.output.line(l) }
    }
}

/// `!peb`: the process environment block.
struct PebCommand: DebuggerCommand {
    let names = ["!peb"]
    let summary = "show the process environment block"
    let help = "!peb [ADDRESS]   shows the PEB found through the current thread's TEB (or the one at ADDRESS).\nExample: !peb"
    func run(_ inv: Invocation, in s: Session) throws {
        guard s.dump.system.os == .windows else { throw CommandError("!peb: this is a \(s.dump.system.os.rawValue) dump; only Windows processes have a PEB") }
        let addr: UInt64
        if inv.arguments.isEmpty {
            guard let a = s.registerValue("$peb") else {
                throw CommandError("!peb: the PEB address is unknown: the current thread's TEB is not in this dump")
            }
            addr = a
        } else {
            addr = try ExpressionEvaluator.evaluate(inv.arguments, environment: s.expressionEnvironment)
        }
        let w = s.pointerSize * 2
        func p(_ v: UInt64) -> String { Hex.pad(v, w) }
        guard let peb = ProcessEnvironmentBlock(memory: s.memory, address: addr) else {
            s.output.line("PEB at \(p(addr))")
            throw CommandError("error 1 InitTypeRead( nt!_PEB at \(p(addr))): the PEB's memory is not in this dump")
        }
        func yn(_ b: Bool) -> String { b ? "Yes" : "No" }
        var lines = [
            "PEB at \(p(peb.address))",
            "    InheritedAddressSpace:    \(yn(peb.inheritedAddressSpace))",
            "    ReadImageFileExecOptions: \(yn(peb.readImageFileExecOptions))",
            "    BeingDebugged:            \(yn(peb.beingDebugged))",
            "    ImageBaseAddress:         \(p(peb.imageBaseAddress))",
            "    NtGlobalFlag:             " + (peb.ntGlobalFlag.map { String($0, radix: 16) } ?? "????????"),
            "    Ldr                       \(p(peb.ldr))",
            "    ProcessParameters: \(p(peb.processParameters))",
        ]
        func str(_ label: String, _ v: String?) { lines.append("    \(label)'\(v ?? "< Name not readable >")'") }
        str("CurrentDirectory:  ", peb.currentDirectory)
        str("WindowTitle:  ", peb.windowTitle)
        str("ImageFile:    ", peb.imagePathName)
        str("CommandLine:  ", peb.commandLine)
        str("DllPath:      ", peb.dllPath)
        if let env = peb.environment { lines.append("    Environment:  \(p(env))") }
        for l in lines { s.output.line(l) }
    }
}
