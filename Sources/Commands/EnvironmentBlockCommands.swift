import DumpModel
import Native

/// `!teb`: the current thread's TEB (Windows dumps whose TEB memory was captured).
struct TebCommand: ValueCommand {
    let names = ["!teb"]
    let summary = "show the thread environment block"
    let help = "!teb [ADDRESS]   shows the current thread's TEB (or the one at ADDRESS).\nExample: !teb"
    func evaluate(_ inv: Invocation, in s: Session) throws -> any CommandValue {
        guard s.dump.system.os == .windows else { throw CommandError("!teb: this is a \(s.dump.system.os.rawValue) dump; only Windows threads have a TEB") }
        let addr: UInt64
        if inv.arguments.isEmpty {
            guard let t = s.thread, t.teb != 0 else { throw CommandError("!teb: the current thread has no TEB address in this dump") }
            addr = t.teb
        } else {
            addr = try ExpressionEvaluator.evaluate(inv.arguments, environment: s.expressionEnvironment)
        }
        guard let teb = ThreadEnvironmentBlock(memory: s.memory, address: addr) else {
            let w = s.pointerSize * 2
            s.output.line("TEB at \(Hex.pad(addr, w))")
            throw CommandError("error InitTypeRead( TEB ): the TEB's memory at \(Hex.pad(addr, w)) is not in this dump")
        }
        return TebValue(pointerSize: s.pointerSize, address: HexValue(teb.address), exceptionList: HexValue(teb.exceptionList),
                        stackBase: HexValue(teb.stackBase), stackLimit: HexValue(teb.stackLimit), subSystemTib: HexValue(teb.subSystemTib),
                        fiberData: HexValue(teb.fiberData), arbitraryUserPointer: HexValue(teb.arbitraryUserPointer), selfPointer: HexValue(teb.selfPointer),
                        environmentPointer: HexValue(teb.environmentPointer), processId: HexValue(teb.processId), threadId: HexValue(teb.threadId),
                        rpcHandle: HexValue(teb.rpcHandle), tlsStorage: HexValue(teb.tlsStorage), peb: HexValue(teb.peb),
                        lastErrorValue: UInt64(teb.lastErrorValue), lastStatusValue: teb.lastStatusValue.map { UInt64($0) },
                        countOwnedLocks: UInt64(teb.countOwnedLocks), hardErrorMode: teb.hardErrorMode.map { UInt64($0) })
    }
}

/// `!teb`'s value: the TEB's fields (pointer-sized ones as hex strings).
struct TebValue: CommandValue {
    let pointerSize: Int
    let address, exceptionList, stackBase, stackLimit, subSystemTib, fiberData, arbitraryUserPointer, selfPointer: HexValue
    let environmentPointer, processId, threadId, rpcHandle, tlsStorage, peb: HexValue
    let lastErrorValue: UInt64
    /// Nil where the dump lacks the field's bytes.
    let lastStatusValue: UInt64?
    let countOwnedLocks: UInt64
    let hardErrorMode: UInt64?

    enum CodingKeys: String, CodingKey {
        case address, exceptionList, stackBase, stackLimit, subSystemTib, fiberData, arbitraryUserPointer, selfPointer, environmentPointer
        case processId, threadId, rpcHandle, tlsStorage, peb, lastErrorValue, lastStatusValue, countOwnedLocks, hardErrorMode
    }

    func textLines() -> [String] {
        func p(_ v: HexValue) -> String { Hex.pad(v.value, pointerSize * 2) }
        return [
            "TEB at \(p(address))",
            "    ExceptionList:        \(p(exceptionList))",
            "    StackBase:            \(p(stackBase))",
            "    StackLimit:           \(p(stackLimit))",
            "    SubSystemTib:         \(p(subSystemTib))",
            "    FiberData:            \(p(fiberData))",
            "    ArbitraryUserPointer: \(p(arbitraryUserPointer))",
            "    Self:                 \(p(selfPointer))",
            "    EnvironmentPointer:   \(p(environmentPointer))",
            "    ClientId:             \(p(processId)) . \(p(threadId))",
            "    RpcHandle:            \(p(rpcHandle))",
            "    Tls Storage:          \(p(tlsStorage))",
            "    PEB Address:          \(p(peb))",
            "    LastErrorValue:       \(lastErrorValue)",
            "    LastStatusValue:      " + (lastStatusValue.map { String($0, radix: 16) } ?? "????????"),
            "    Count Owned Locks:    \(countOwnedLocks)",
            "    HardErrorMode:        " + (hardErrorMode.map { String($0) } ?? "????????"),
        ]
    }
}

/// `!peb`: the process environment block.
struct PebCommand: ValueCommand {
    let names = ["!peb"]
    let summary = "show the process environment block"
    let help = "!peb [ADDRESS]   shows the PEB found through the current thread's TEB (or the one at ADDRESS).\nExample: !peb"
    func evaluate(_ inv: Invocation, in s: Session) throws -> any CommandValue {
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
        guard let peb = ProcessEnvironmentBlock(memory: s.memory, address: addr) else {
            let w = s.pointerSize * 2
            s.output.line("PEB at \(Hex.pad(addr, w))")
            throw CommandError("error 1 InitTypeRead( nt!_PEB at \(Hex.pad(addr, w))): the PEB's memory is not in this dump")
        }
        return PebValue(pointerSize: s.pointerSize, address: HexValue(peb.address), inheritedAddressSpace: peb.inheritedAddressSpace,
                        readImageFileExecOptions: peb.readImageFileExecOptions, beingDebugged: peb.beingDebugged,
                        imageBaseAddress: HexValue(peb.imageBaseAddress), ntGlobalFlag: peb.ntGlobalFlag.map { UInt64($0) }, ldr: HexValue(peb.ldr),
                        processParameters: HexValue(peb.processParameters), currentDirectory: peb.currentDirectory, windowTitle: peb.windowTitle,
                        imageFile: peb.imagePathName, commandLine: peb.commandLine, dllPath: peb.dllPath, environment: peb.environment.map(HexValue.init))
    }
}

/// `!peb`'s value: the PEB's fields and its process parameters' strings (nil where not readable).
struct PebValue: CommandValue {
    let pointerSize: Int
    let address: HexValue
    let inheritedAddressSpace, readImageFileExecOptions, beingDebugged: Bool
    let imageBaseAddress: HexValue
    let ntGlobalFlag: UInt64?
    let ldr, processParameters: HexValue
    let currentDirectory, windowTitle, imageFile, commandLine, dllPath: String?
    let environment: HexValue?

    enum CodingKeys: String, CodingKey {
        case address, inheritedAddressSpace, readImageFileExecOptions, beingDebugged, imageBaseAddress, ntGlobalFlag, ldr, processParameters
        case currentDirectory, windowTitle, imageFile, commandLine, dllPath, environment
    }

    func textLines() -> [String] {
        func p(_ v: HexValue) -> String { Hex.pad(v.value, pointerSize * 2) }
        func yn(_ b: Bool) -> String { b ? "Yes" : "No" }
        var lines = [
            "PEB at \(p(address))",
            "    InheritedAddressSpace:    \(yn(inheritedAddressSpace))",
            "    ReadImageFileExecOptions: \(yn(readImageFileExecOptions))",
            "    BeingDebugged:            \(yn(beingDebugged))",
            "    ImageBaseAddress:         \(p(imageBaseAddress))",
            "    NtGlobalFlag:             " + (ntGlobalFlag.map { String($0, radix: 16) } ?? "????????"),
            "    Ldr                       \(p(ldr))",
            "    ProcessParameters: \(p(processParameters))",
        ]
        func str(_ label: String, _ v: String?) { lines.append("    \(label)'\(v ?? "< Name not readable >")'") }
        str("CurrentDirectory:  ", currentDirectory)
        str("WindowTitle:  ", windowTitle)
        str("ImageFile:    ", imageFile)
        str("CommandLine:  ", commandLine)
        str("DllPath:      ", dllPath)
        if let environment { lines.append("    Environment:  \(p(environment))") }
        return lines
    }
}
