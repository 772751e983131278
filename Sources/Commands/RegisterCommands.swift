import DumpModel
import Native

/// `r`: show registers of the current thread (or of the exception after `.ecxr`).
struct RegisterCommand: ValueCommand {
    let names = ["r"]
    let summary = "show registers"
    let help = """
    r             shows the registers of the current context.
    r REG[,REG]   shows named registers (also 32/16/8-bit views on x64, and $ip, $csp).
    Example: r rip, rsp
    """

    /// `r $t0 = expr` sets a pseudo-register and prints nothing; every other form shows registers.
    func run(_ inv: Invocation, in s: Session) throws {
        let args = inv.arguments.trimmed(" \t")
        if let eq = args.firstIndex(of: "="), !args[args.index(after: eq)...].hasPrefix("=") {
            var name = args[..<eq].trimmed(" \t").lowercased()
            if name.hasPrefix("@") { name.removeFirst() }
            guard name.hasPrefix("$t"), let i = Int(name.dropFirst(2)), (0..<20).contains(i) else {
                throw CommandError("Registers cannot be changed in a dump (only the pseudo-registers $t0-$t19 can be set)")
            }
            s.pseudoRegisters[i] = try ExpressionEvaluator.evaluate(String(args[args.index(after: eq)...]), environment: s.expressionEnvironment)
            return
        }
        s.emit(try evaluate(inv, in: s))
    }

    func evaluate(_ inv: Invocation, in s: Session) throws -> any CommandValue {
        let args = inv.arguments.trimmed(" \t")
        if args.isEmpty { return try Self.all(s) }
        guard s.context != nil else { throw CommandError("No register context for thread \(s.currentThread) in this dump") }
        var out: [RegistersValue.Register] = []
        for part in args.split(whereSeparator: { $0 == "," || $0 == " " }) {
            var name = String(part)
            if name.contains("=") { throw CommandError("Registers cannot be changed in a dump") }
            if name.hasPrefix("@") { name.removeFirst() }
            guard let v = s.registerValue(name) else { throw CommandError("Bad register error at '\(part)'") }
            let bits = s.context?.registers.first(where: { $0.name == name.lowercased() })?.bits ?? Self.viewBits(name.lowercased(), s)
            out.append(.init(name: name.lowercased(), value: HexValue(v), bits: bits))
        }
        return RegistersValue(architecture: nil, registers: out, symbol: nil, instruction: nil)
    }

    /// The whole context, as `r` alone, `.ecxr`, `.cxr` and `~Ns` show it.
    static func all(_ s: Session) throws -> RegistersValue {
        guard let ctx = s.context else { throw CommandError("No register context for thread \(s.currentThread) in this dump") }
        let ip = ctx.instructionPointer
        return RegistersValue(architecture: ctx.architecture,
                              registers: ctx.registers.map { .init(name: $0.name, value: HexValue($0.value), bits: $0.bits) },
                              symbol: ip.flatMap { s.symbolicName($0) }, instruction: ip.map { InstructionLine.describe($0, session: s) })
    }

    /// Shows the whole context, or says there is none (the commands that switch context go on regardless).
    static func printAll(_ s: Session) {
        do { s.emit(try all(s)) } catch { s.output.line("No register context for thread \(s.currentThread) in this dump") }
    }

    /// Width of a register view that is not in the context itself (eax, ax, al, r8d, $ip).
    static func viewBits(_ n: String, _ s: Session) -> Int {
        if n.hasPrefix("$") { return s.pointerSize * 8 }
        if n.count == 3, n.hasPrefix("e") { return 32 }
        if n.hasPrefix("r"), n.hasSuffix("d") { return 32 }
        if n.count == 2, n.hasSuffix("l") || n.hasSuffix("h") { return 8 }
        if n.count == 2, n.hasSuffix("x") || ["si", "di", "sp", "bp"].contains(n) { return 16 }
        return s.pointerSize * 8
    }

    static func block(_ ctx: RegisterContext) -> [String] {
        func v(_ n: String, _ w: Int) -> String { Hex.pad(ctx[n] ?? 0, w) }
        switch ctx.architecture {
        case .amd64, .x32:
            let efl = ctx["efl"] ?? 0
            return [
                "rax=\(v("rax", 16)) rbx=\(v("rbx", 16)) rcx=\(v("rcx", 16))",
                "rdx=\(v("rdx", 16)) rsi=\(v("rsi", 16)) rdi=\(v("rdi", 16))",
                "rip=\(v("rip", 16)) rsp=\(v("rsp", 16)) rbp=\(v("rbp", 16))",
                " r8=\(v("r8", 16))  r9=\(v("r9", 16)) r10=\(v("r10", 16))",
                "r11=\(v("r11", 16)) r12=\(v("r12", 16)) r13=\(v("r13", 16))",
                "r14=\(v("r14", 16)) r15=\(v("r15", 16))",
                "iopl=\((efl >> 12) & 3)         \(flags(efl))",
                "cs=\(v("cs", 4))  ss=\(v("ss", 4))  ds=\(v("ds", 4))  es=\(v("es", 4))  fs=\(v("fs", 4))  gs=\(v("gs", 4))             efl=\(v("efl", 8))",
            ]
        case .x86:
            let efl = ctx["efl"] ?? 0
            return [
                "eax=\(v("eax", 8)) ebx=\(v("ebx", 8)) ecx=\(v("ecx", 8)) edx=\(v("edx", 8)) esi=\(v("esi", 8)) edi=\(v("edi", 8))",
                "eip=\(v("eip", 8)) esp=\(v("esp", 8)) ebp=\(v("ebp", 8)) iopl=\((efl >> 12) & 3)         \(flags(efl))",
                "cs=\(v("cs", 4))  ss=\(v("ss", 4))  ds=\(v("ds", 4))  es=\(v("es", 4))  fs=\(v("fs", 4))  gs=\(v("gs", 4))             efl=\(v("efl", 8))",
            ]
        case .arm64:
            var lines: [String] = []
            var row: [String] = []
            for i in 0..<29 {
                row.append(("x\(i)").leftPad(3) + "=" + v("x\(i)", 16))
                if row.count == 4 { lines.append(row.joined(separator: "   ")); row = [] }
            }
            row.append(" fp=" + v("fp", 16))
            row.append(" lr=" + v("lr", 16))
            row.append(" sp=" + v("sp", 16))
            lines.append(row.joined(separator: "   "))
            lines.append(" pc=" + v("pc", 16) + "  psr=" + v("cpsr", 8))
            return lines
        default:
            // Other architectures: every register, four to a line, at its own width.
            var lines: [String] = []
            var row: [String] = []
            for r in ctx.registers {
                row.append(r.name.leftPad(4) + "=" + Hex.pad(r.value, r.bits / 4))
                if row.count == 4 { lines.append(row.joined(separator: " ")); row = [] }
            }
            if !row.isEmpty { lines.append(row.joined(separator: " ")) }
            return lines
        }
    }

    /// EFLAGS as WinDbg's mnemonics: "nv up ei pl zr na po nc".
    static func flags(_ efl: UInt64) -> String {
        func bit(_ n: UInt64) -> Bool { efl & (1 << n) != 0 }
        return [bit(11) ? "ov" : "nv", bit(10) ? "dn" : "up", bit(9) ? "ei" : "di", bit(7) ? "ng" : "pl",
                bit(6) ? "zr" : "nz", bit(4) ? "ac" : "na", bit(2) ? "pe" : "po", bit(0) ? "cy" : "nc"].joined(separator: " ")
    }
}

/// The line under the register block: the instruction at the address, disassembled, or `??` when the
/// code is not in the dump (as WinDbg prints it then).
enum InstructionLine {
    static func describe(_ ip: UInt64, session s: Session) -> String {
        let bytes = s.codeBytes(ip, count: 16)
        guard !bytes.isEmpty else { return "\(s.address(ip)) ??              ???" }
        guard let dis = s.disassembler, let i = dis.decode(bytes, at: ip) else {
            return "\(s.address(ip)) \(Array(bytes.prefix(8)).lowercaseHex)".rightPad(s.pointerSize == 8 ? 34 : 25) + "???"
        }
        return s.instructionText(i)
    }
}

/// `u`: disassemble; `ub`: the instructions before an address.
struct UnassembleCommand: DebuggerCommand {
    let names = ["u", "ub", "uf"]
    let summary = "disassemble (u [ADDRESS] [L COUNT]; ub ADDRESS: the instructions before it; uf: a whole function)"
    let help = """
    u [ADDRESS] [L COUNT]   disassembles COUNT instructions (8 by default) from ADDRESS (the current IP).
    ub [ADDRESS] [L COUNT]  disassembles the COUNT instructions that end just before ADDRESS: from the function's
                            start when a symbol gives it, else from the earliest byte that decodes up to ADDRESS.
    uf ADDRESS              disassembles the whole function holding ADDRESS, start to end, where its bounds are known
                            (an ELF symbol with a size, or a Windows x64 RUNTIME_FUNCTION).
    Code the dump lacks is read from the module's image file when one with the same build id is found (by
    its own path or on the image path, .exepath).
    Example: ub @rip L4
    """
    func run(_ inv: Invocation, in s: Session) throws {
        var out = DisassemblyValue.Builder(s)
        do { try disassemble(inv, s, &out) } catch {
            // What was listed before the failure (Ctrl-C, say) still shows, then the error.
            if !out.lines.isEmpty { s.emit(out.value) }
            throw error
        }
        s.emit(out.value)
    }

    private func disassemble(_ inv: Invocation, _ s: Session, _ out: inout DisassemblyValue.Builder) throws {
        guard let dis = s.disassembler else { throw CommandError("u: no disassembler for \(s.dump.system.architecture)") }
        let backward = inv.name == "ub"
        if inv.name == "uf" {
            let text = inv.arguments.trimmed(" \t")
            guard !text.isEmpty else { throw CommandError("Usage: uf ADDRESS", kind: .usage) }
            let a = try ExpressionEvaluator.evaluate(text, environment: s.expressionEnvironment)
            guard let f = s.nativeModules.functionBounds(at: a) else {
                throw CommandError("No function bounds for \(s.address(a)): no symbol with a size or unwind entry holds it (use u ADDRESS L COUNT)")
            }
            try Self.listing(from: f.start, until: f.end, dis, s, &out)
            return
        }
        let r = try AddressRange.parse(inv.arguments, session: s, defaultCount: 8, unit: 1,
                                       fallbackStart: backward ? s.context?.instructionPointer : (s.nextUnassembleAddress ?? s.context?.instructionPointer),
                                       limit: 0x1000)
        var at = r.start
        var count = r.count
        if backward {
            guard let start = Self.start(before: r.start, instructions: Int(min(r.count, 0x400)), dis, s) else {
                throw CommandError("No instructions decode up to \(s.address(r.start)): the code before it is not in the dump or its image")
            }
            (at, count) = start
        }
        var lastModule: String?
        for _ in 0..<count {
            try s.checkInterrupt()
            let bytes = s.codeBytes(at, count: 16)
            if bytes.isEmpty {
                if let m = s.namer.module(containing: at) {
                    out.missing(at)
                    out.note("(the code of \(m.moduleName) is not in the dump, and no image file with its identity was found: "
                             + ".exepath FOLDER adds the folder holding \(m.fileName) to the image path)")
                    break
                }
                if let skip = s.missingRun(at: at, remaining: UInt64.max - at, threshold: 16) {
                    out.note("Memory access error at \(s.address(at))-\(s.address(at &+ (skip - 1))) (not in the dump)")
                    if skip == UInt64.max - at { break }
                    at &+= skip
                    continue
                }
                out.missing(at)
                if at == UInt64.max { break }
                at &+= 1
                continue
            }
            // A label where the module changes, at the start, and at every function start.
            if let name = s.symbolicName(at), s.namer.module(containing: at)?.moduleName != lastModule || at == r.start || !name.contains("+") {
                out.label(name)
                lastModule = s.namer.module(containing: at)?.moduleName
            }
            guard let i = dis.decode(bytes, at: at) else {
                out.undecodable(at, bytes[0])
                at &+= 1
                continue
            }
            out.instruction(i)
            guard at <= UInt64.max - UInt64(i.bytes.count) else { break }  // the top of the address space
            at &+= UInt64(i.bytes.count)
        }
        if !backward { s.nextUnassembleAddress = at }
    }

    /// `uf`'s body: every instruction from `start` to `end`, with a label at each function start.
    static func listing(from start: UInt64, until end: UInt64, _ dis: Disassembler, _ s: Session,
                        _ out: inout DisassemblyValue.Builder) throws {
        var at = start
        guard end > start, end - start <= 1 << 20 else { throw CommandError("The function at \(s.address(start)) is larger than 1 MiB") }
        while at < end {
            try s.checkInterrupt()
            let bytes = s.codeBytes(at, count: 16)
            if at == start || !(s.symbolicName(at)?.contains("+") ?? true), let name = s.symbolicName(at) { out.label(name) }
            guard !bytes.isEmpty, let i = dis.decode(bytes, at: at) else {
                out.missing(at)
                out.note("(the rest of the function is not in the dump or its image)")
                return
            }
            out.instruction(i)
            at += UInt64(i.bytes.count)
        }
    }

    /// Where `ub` starts: the latest start that decodes, instruction by instruction, exactly up to `end`, with
    /// at least `n` instructions; the function's start first when a symbol says where it is.
    static func start(before end: UInt64, instructions n: Int, _ dis: Disassembler, _ s: Session) -> (UInt64, UInt64)? {
        var candidates: [UInt64] = []
        if let m = s.namer.module(containing: end &- 1), let (_, off) = s.nativeModules.symbol(at: end &- 1, in: m), off < 0x10000 {
            candidates.append(end &- 1 &- off)
        }
        let span = UInt64(n * 16)
        for back in stride(from: min(span, end), through: 1, by: -1) { candidates.append(end - back) }
        for start in candidates {
            var at = start
            var starts: [UInt64] = []
            while at < end, starts.count < 100_000 {
                let bytes = s.codeBytes(at, count: 16)
                guard !bytes.isEmpty, let i = dis.decode(bytes, at: at) else { break }
                starts.append(at)
                at += UInt64(i.bytes.count)
            }
            if at == end, starts.count >= n { return (starts[starts.count - n], UInt64(n)) }
        }
        return nil
    }
}

extension Session {
    /// Code bytes at an address: the dump's memory, else the module's image file (a gcore or minidump rarely
    /// holds read-only code). Stops at the first byte neither has.
    func codeBytes(_ address: UInt64, count: Int) -> [UInt8] {
        let raw = memory.read(address, count: count)
        let present = raw.prefix { $0 != nil }.map { $0! }
        if !present.isEmpty { return present }
        return nativeModules.imageBytes(at: address, count: count) ?? []
    }

    /// `module!function+0xoff` where a symbol is known, else `module+0xoff`.
    func symbolicName(_ address: UInt64) -> String? { nativeModules.name(address) }
}

/// `.ecxr`: switch to the exception's context record.
struct ExceptionContextCommand: DebuggerCommand {
    let names = [".ecxr"]
    let summary = "switch to the context of the exception in the dump"
    let help = ".ecxr         sets the register context to the one saved with the exception, and shows it.\nExample: .ecxr"
    func run(_ inv: Invocation, in s: Session) throws {
        guard let e = s.eventException, e.context != nil else {
            throw CommandError("Unable to get exception context, HRESULT 0x8000FFFF")
        }
        if let i = s.dump.threads.firstIndex(where: { $0.id == e.threadId }) { s.currentThread = i }
        s.contextOverride = nil
        s.useExceptionContext = true
        RegisterCommand.printAll(s)
    }
}

/// `.cxr ADDRESS`: use a CONTEXT record kept in the target's memory (what an exception filter or a crash
/// handler saved); `.cxr` alone goes back to the thread's own context.
struct ContextRecordCommand: DebuggerCommand {
    let names = [".cxr"]
    let summary = "use a context record in memory as the register context (.cxr ADDRESS; .cxr alone resets)"
    let help = """
    .cxr ADDRESS  reads a CONTEXT record (the dump architecture's Windows layout) at ADDRESS, makes it the register
                  context that r, k and u use, and shows it. It lasts until .cxr alone or a thread switch.
    .cxr          goes back to the current thread's own context.
    Example: .cxr 0012f3a0
    """
    func run(_ inv: Invocation, in s: Session) throws {
        let text = inv.arguments.trimmed(" \t")
        guard !text.isEmpty else {
            s.contextOverride = nil
            s.useExceptionContext = false
            return
        }
        let a = try ExpressionEvaluator.evaluate(text, environment: s.expressionEnvironment)
        guard let ctx = s.memory.windowsContext(at: a, architecture: s.dump.system.architecture) else {
            throw CommandError("Unable to read context record at \(s.address(a)): the dump does not hold all of it")
        }
        s.contextOverride = ctx
        RegisterCommand.printAll(s)
    }
}

/// `.exr -1`: the exception record.
struct ExceptionRecordCommand: ValueCommand {
    let names = [".exr"]
    let summary = "show the exception record (.exr -1: the one in the dump)"
    let help = ".exr -1       shows the most recent exception record: code, flags, address, parameters.\nExample: .exr -1"
    func evaluate(_ inv: Invocation, in s: Session) throws -> any CommandValue {
        let arg = inv.arguments.trimmed(" ")
        guard arg == "-1" || arg == "ffffffffffffffff" || arg == "ffffffff" else {
            if arg.isEmpty { throw CommandError("Usage: .exr -1 (an exception record address needs its memory in the dump)") }
            throw CommandError("Only the stored exception (.exr -1) is available in a dump")
        }
        guard let e = s.eventException else { throw CommandError("Unable to get exception record: this dump has no exception stream") }
        let source = s.dump.exception != nil ? "dump" : s.reconstructedFromTracker ? "runtimeTracker" : "rebuilt"
        return Note(record: Self.value(e, s, source: source), threadId: e.threadId)
    }

    /// The record, then (when the dump has no exception stream) a line saying where it came from.
    struct Note: CommandValue {
        let record: ExceptionRecordValue
        let threadId: UInt64
        func encode(to encoder: Encoder) throws { try record.encode(to: encoder) }
        func textLines() -> [String] {
            let tid = String(threadId, radix: 16)
            switch record.source {
            case "runtimeTracker":
                return record.textLines() + ["(the dump has no exception stream: this is the record the runtime raised, found through "
                    + "thread \(tid)'s exception tracker)"]
            case "rebuilt":
                return record.textLines() + ["(rebuilt by dumpdbg from the runtime's last thrown exception on thread \(tid): "
                    + "the dump has no exception stream; the exception address is not known)"]
            default:
                return record.textLines()
            }
        }
    }

    static func value(_ e: ExceptionInfo, _ s: Session, source: String = "dump") -> ExceptionRecordValue {
        let kinds: [UInt64: String] = [0: "read from", 1: "write to", 8: "execute"]
        let av = s.dump.system.os == .windows && e.code == 0xC000_0005 && e.parameters.count >= 2 ? (kinds[e.parameters[0]] ?? "access") : nil
        return ExceptionRecordValue(address: HexValue(e.address), addressName: s.namer.name(e.address), code: HexValue(UInt64(e.code)),
                                    codeName: Describe.exceptionName(e, os: s.dump.system.os), flags: HexValue(UInt64(e.flags)),
                                    parameters: e.parameters.map(HexValue.init), accessViolation: av,
                                    subcode: e.code == 0xC000_0409 ? e.parameters.first.map(HexValue.init) : nil,
                                    source: source, pointerSize: s.pointerSize)
    }

}

extension Session {
    /// One disassembled instruction in WinDbg's shape, with targets named by module.
    func instructionText(_ i: Disassembler.Instruction) -> String {
        Disassembler.line(i, address: address(i.address), format: { [unowned self] in self.address($0) },
                          name: { [unowned self] in self.nativeModules.name($0) })
    }
}
