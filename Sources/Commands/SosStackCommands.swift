import ClrLayout
import DumpModel
import Unwind

/// `!CLRStack`'s value: each thread's managed frames (and, with -f, the native ones between them).
struct ManagedStacksValue: CommandValue {
    struct Frame: Encodable {
        let childSP: HexValue
        let ip: HexValue
        /// `Namespace.Type.Method(Signature)` for managed frames; `module!function+0xoff` for native ones (-f).
        let callSite: String
        let managed: Bool
        /// "jit" or "readyToRun" for managed frames.
        let codeKind: String?
        let methodDesc: HexValue?
        /// The IL offset the JIT's debug info maps the frame's IP to (at a return address, the call's); nil in a
        /// prolog or epilog, or when the runtime keeps no map (IL stubs).
        var ilOffset: UInt32? = nil
        /// With -a/-p: the arguments; with -a/-l: the locals (nil when the method has no local signature).
        var parameters: [Variable]? = nil
        var locals: [Variable]? = nil
        /// With -r: the frame's registers as the runtime's stack walk carries them (see `ClrStackCommand.frames`).
        var registers: [Register]? = nil
        /// With -gc: the references the GC would report from this frame (its GC info at the IP; a GCFrame's
        /// protected slots), and whether its GC info could not be read.
        var references: [Reference]? = nil
        var referencesFailed: Bool? = nil
    }
    /// A GC reference from a frame: where it is (`rbp-38`, `rbx`; none for a Frame's slot), the slot, the object.
    struct Reference: Encodable {
        let location: String?
        let address: HexValue?
        /// Nil when the dump lacks the slot's memory.
        let object: HexValue?
        let type: String?
        let interior: Bool
        let pinned: Bool

        /// SOS's BuildRegisterOutput, then the type (PrintRef).
        var text: String {
            var out = location.map { $0 + ": " } ?? ""
            if let address { out += Sos.p(address.value) + " -> " }
            out += object.map { Sos.p($0.value) } ?? "????????????????"
            if pinned { out += " (pinned)" }
            if interior { out += " (interior)" }
            if let type { out += " - " + type }
            return out
        }
    }
    struct Register: Encodable {
        let name: String
        let value: HexValue
    }
    /// An argument or local: where the JIT keeps it at this IP and its value.
    struct Variable: Encodable {
        let name: String?
        /// "register", "memory", "split" (two places) or "none" (no live location: `<no data>`).
        let location: String
        let register: String?
        let address: HexValue?
        /// Nil when there is no location or the dump lacks the bytes.
        let value: HexValue?
    }
    struct Thread: Encodable {
        let threadIndex: Int
        let osId: HexValue
        let frames: [Frame]
    }
    let threads: [Thread]
    /// -a/-p/-l asked for arguments and/or locals.
    let variablesRequested: Bool

    func textLines() -> [String] {
        var out: [String] = []
        for (n, t) in threads.enumerated() {
            if n > 0 { out.append("") }
            out.append("OS Thread Id: 0x\(String(t.osId.value, radix: 16)) (\(t.threadIndex))")
            out.append("        Child SP               IP Call Site")
            for f in t.frames {
                out.append(Self.frameLine(f))
                // SOS's table writes them in the Call Site column, after two blank 16-wide columns.
                let column = String(repeating: " ", count: 34)
                for ref in f.references ?? [] { out.append(column + ref.text) }
                if f.referencesFailed == true { out.append(column + "Failed to enumerate GC references.") }
                if variablesRequested, f.managed {
                    out += Self.variableLines(f)
                    out.append("")
                }
                if let registers = f.registers { out += Self.registerLines(registers) }
            }
        }
        return out
    }

    /// A frame's line: Child SP, IP and call site. SOS writes a method's IP in upper case, an explicit Frame's
    /// (where the runtime's walk stands) and a native frame's in lower case.
    static func frameLine(_ f: Frame) -> String {
        "\(Sos.P(f.childSP.value)) \(f.managed ? Sos.P(f.ip.value) : Sos.p(f.ip.value)) \(f.callSite)"
    }

    /// SOS's PrintManagedFrameContext for x64: three registers a line, names right-aligned in three columns.
    static func registerLines(_ registers: [Register]) -> [String] {
        let value = Dictionary(registers.map { ($0.name, $0.value.value) }, uniquingKeysWith: { a, _ in a })
        return ClrStackCommand.registerLayout.map { names in
            "    " + names.map { name in
                String(repeating: " ", count: max(0, 3 - name.count)) + name + "=" + Hex.pad(value[name] ?? 0, 16)
            }.joined(separator: " ")
        }
    }

    /// SOS's ClrStackImpl::ShowArgs / ShowLocals lines.
    static func variableLines(_ f: Frame) -> [String] {
        var out: [String] = []
        func value(_ v: Variable) -> String {
            if v.location == "none" { return "<no data>" }
            guard let x = v.value?.value else { return "<unable to retrieve data>" }
            return "0x" + Hex.pad(x, 16)
        }
        if let params = f.parameters, !params.isEmpty {
            out.append("    PARAMETERS:")
            // SOS never resets "a location was printed" within a frame, so a nameless argument after one
            // with a location still gets its "= ".
            var printedLocation = false
            for p in params {
                var line = "        "
                let name = p.name ?? ""
                if !name.isEmpty { line += name + " " }
                switch p.location {
                case "register": line += "(<CLR reg>) "; printedLocation = true
                case "memory": line += "(0x\(Sos.P(p.address?.value ?? 0))) "; printedLocation = true
                default: break
                }
                if !name.isEmpty || printedLocation { line += "= " }
                out.append(line + value(p))
            }
        }
        if let locals = f.locals, !locals.isEmpty {
            out.append("    LOCALS:")
            for l in locals {
                var line = "        "
                switch l.location {
                case "register": line += "<CLR reg> = "
                case "memory": line += "0x\(Sos.P(l.address?.value ?? 0)) = "
                default: break
                }
                out.append(line + value(l))
            }
        }
        return out
    }
}

/// `!CLRStack [-a|-p|-l] [-f] [-r] [-all]`: the managed call stack, found by unwinding from the thread's context through
/// native code (call frame information) and managed code (the JIT's unwind info), with method names from the
/// runtime's MethodDescs.
struct ClrStackCommand: ValueCommand {
    let names = ["!CLRStack", "!clrstack"]
    let summary = "show the managed call stack of the current thread (-all: every managed thread)"
    let help = """
    !CLRStack [-a | -p | -l] [-f] [-r] [-gc] [-all]
    Unwinds the thread from its context: native frames by call frame information (libcoreclr's .eh_frame,
    coreclr.dll's .pdata), JIT-compiled frames by the unwind info in their code headers, ReadyToRun frames by
    the image's RUNTIME_FUNCTIONs; each managed frame is named from its MethodDesc (Docs/clr/code-lookup.md).
    -f adds the native frames between the managed ones; -all does every managed thread.
    The runtime's explicit Frames ([HelperMethodFrame: ...], [GCFrame: ...]) are listed where they sit on the stack.
    -p adds each frame's arguments, -l its locals, -a both: where the JIT keeps each one at the frame's IP
    (its debug info: JIT'd methods' code headers, ReadyToRun images' DEBUG_INFO section) and the value
    there. Argument names come from metadata; locals have no names without a PDB, as in SOS. A variable
    with no live location at the IP prints <no data>; one in a register prints <CLR reg>.
    -r adds each frame's registers (x64) as the runtime's stack walk carries them: callee-saved registers as
    unwinding restored them, the others as the thread left them. -i (ICorDebug's view) is not available.
    In JSON each managed frame also has its IL offset, from the JIT's native-to-IL map (SOS needs a PDB to turn
    it into a source line; dumpdbg reads none).
    -gc adds, under each frame, the object references the GC would report from it (x64): the registers and
    stack slots the method's GC info says are live at the frame's IP (rbp-38: slot -> object - type), and the
    references a GCFrame protects.
    Example: !CLRStack -a
    """
    var extensionName: String? { "sos" }

    func evaluate(_ inv: Invocation, in s: Session) throws -> any CommandValue {
        let args = try CommandArguments(inv, flags: ["-a", "-p", "-l", "-f", "-all", "-i", "-r", "-gc"], positionals: 0...0,
                                        usage: "!CLRStack [-a | -p | -l] [-f] [-r] [-gc] [-all]")
        if args.has("-i") {
            throw CommandError("!CLRStack -i shows variables through ICorDebug, which dumpdbg does not have: -a shows each frame's parameters and locals")
        }
        for option in ["-r", "-gc"] where args.has(option) && s.dump.system.architecture != .amd64 {
            throw CommandError("!CLRStack \(option) reads x64 registers and GC info; this dump is \(s.dump.system.architecture)")
        }
        let r = try Sos.run { try SosRuntimes.runtime(for: s) }
        var indices: [Int]
        if args.has("-all") {
            let managed = Set(r.threads().filter { !$0.isDead }.map(\.osId))
            indices = s.dump.threads.indices.filter { managed.contains(s.dump.threads[$0].id) }
        } else {
            guard let t = s.thread, r.threads().contains(where: { $0.osId == t.id && !$0.isDead }) else {
                throw CommandError("The current thread is unmanaged")
            }
            indices = [s.currentThread]
        }
        var threads: [ManagedStacksValue.Thread] = []
        for i in indices {
            try s.checkInterrupt()
            let context = i == s.currentThread ? s.context : s.dump.threads[i].context
            let params = args.has("-a") || args.has("-p"), locals = args.has("-a") || args.has("-l")
            threads.append(.init(threadIndex: i, osId: HexValue(s.dump.threads[i].id),
                                 frames: Self.frames(thread: i, context: context, native: args.has("-f"), r, s,
                                                     parameters: params, locals: locals, registers: args.has("-r"),
                                                     references: args.has("-gc"))))
        }
        return ManagedStacksValue(threads: threads, variablesRequested: args.has("-a") || args.has("-p") || args.has("-l"))
    }

    /// The registers `-r` prints after each frame, a line each, in SOS's order.
    static let registerLayout = [["rsp", "rbp", "rip"], ["rax", "rbx", "rcx"], ["rdx", "rsi", "rdi"], ["r8", "r9", "r10"],
                                 ["r11", "r12", "r13"], ["r14", "r15"]]

    static func frames(thread i: Int, context: RegisterContext?, native: Bool, _ r: ClrRuntime, _ s: Session,
                       parameters: Bool = false, locals: Bool = false, registers showRegisters: Bool = false,
                       references showReferences: Bool = false) -> [ManagedStacksValue.Frame] {
        guard let context else { return [] }
        let walk = r.stackFrames(thread: s.dump.threads[i], context: context, modules: s.nativeModules, includeNative: native)
        let refs = showReferences ? r.stackReferences(walk, windowsABI: s.dump.system.os == .windows,
                                                    heap: try? SosRuntimes.heap(for: s).1) : nil
        let failed = Set(refs?.failedFrames ?? [])
        return walk.map { f in
            var frame = Self.frame(f, r, s)
            switch f.kind {
            case .managed(let code):
                frame.ilOffset = r.ilOffset(code, ip: f.instructionPointer, isReturnAddress: !f.isActive && !f.isFaulted)
                if parameters || locals {
                    let v = r.frameVariables(code, ip: f.instructionPointer, registers: f.registers, stackPointer: f.stackPointer)
                    if parameters { frame.parameters = (v?.parameters ?? []).map(Self.variable) }
                    if locals { frame.locals = v?.locals.map { $0.map(Self.variable) } }
                }
                if let refs {
                    frame.references = refs.references.filter { !$0.fromExplicitFrame && $0.source == f.instructionPointer && $0.stackPointer == f.stackPointer }
                        .map { Self.reference($0, r) }
                    frame.referencesFailed = failed.contains(f.instructionPointer)
                }
            case .explicit(let e):
                if let refs {
                    frame.references = refs.references.filter { $0.fromExplicitFrame && $0.source == e.address }.map { Self.reference($0, r) }
                    frame.referencesFailed = failed.contains(e.address)
                }
            case .native:
                return frame
            }
            if showRegisters { frame.registers = registerLayout.joined().map { .init(name: $0, value: HexValue(f.registers[$0] ?? 0)) } }
            return frame
        }
    }

    /// A frame's line: SP, IP and call site.
    static func frame(_ f: ClrStackFrame, _ r: ClrRuntime, _ s: Session) -> ManagedStacksValue.Frame {
        switch f.kind {
        case .managed(let code):
            return .init(childSP: HexValue(f.stackPointer), ip: HexValue(f.instructionPointer),
                         callSite: r.methodName(code.methodDesc, withModule: false), managed: true, codeKind: code.kind.rawValue,
                         methodDesc: HexValue(code.methodDesc))
        case .explicit(let e):
            // SOS: "[Class: address] " and, when the Frame stands for a method (a HelperMethodFrame's FCall), its name.
            return .init(childSP: HexValue(e.address), ip: HexValue(f.instructionPointer),
                         callSite: "[\(e.name ?? "Frame"): \(Hex.pad(e.address, 16))] " + (e.methodDesc.map { r.methodName($0, withModule: false) } ?? ""),
                         managed: false, codeKind: nil, methodDesc: e.methodDesc.map(HexValue.init))
        case .native:
            return .init(childSP: HexValue(f.stackPointer), ip: HexValue(f.instructionPointer),
                         callSite: f.native.flatMap { s.nativeModules.callSite(of: $0) } ?? s.address(f.instructionPointer),
                         managed: false, codeKind: nil, methodDesc: nil)
        }
    }

    static func reference(_ ref: ClrStackReference, _ r: ClrRuntime) -> ManagedStacksValue.Reference {
        let location: String?
        switch ref.location {
        case .register(let name): location = name
        case .stack(let base, let offset):
            location = base + (offset == 0 ? "" : (offset > 0 ? "+" : "-") + String(offset.magnitude, radix: 16))
        case .frame: location = nil
        }
        return .init(location: location, address: ref.address.map(HexValue.init), object: ref.object.map(HexValue.init),
                     type: ref.interior ? nil : ref.object.flatMap { Sos.typeWithExtraInfo($0, r) }, interior: ref.interior, pinned: ref.pinned)
    }

    static func variable(_ v: ClrFrameVariable) -> ManagedStacksValue.Variable {
        switch v.place {
        case .register(let name): return .init(name: v.name, location: "register", register: name, address: nil, value: v.value.map(HexValue.init))
        case .memory(let a): return .init(name: v.name, location: "memory", register: nil, address: HexValue(a), value: v.value.map(HexValue.init))
        case .split: return .init(name: v.name, location: "split", register: nil, address: nil, value: v.value.map(HexValue.init))
        case .none: return .init(name: v.name, location: "none", register: nil, address: nil, value: nil)
        }
    }
}


/// `!IP2MD` and `!DumpMD`: a method's MethodDesc, name, type, token, module and code.
struct MethodDescValue: CommandValue {
    let methodDesc: HexValue
    let name: String
    let eeClass: HexValue
    let methodTable: HexValue
    let token: HexValue
    let module: HexValue
    /// "jit" or "readyToRun", when the code was found.
    let codeKind: String?
    let codeAddress: HexValue?

    func textLines() -> [String] {
        var out = ["MethodDesc:   \(Sos.p(methodDesc.value))",
                   "Method Name:          \(name)",
                   "Class:                \(Sos.p(eeClass.value))",
                   "MethodTable:          \(Sos.p(methodTable.value))",
                   "mdToken:              \(Hex.pad(token.value, 16).uppercased())",
                   "Module:               \(Sos.p(module.value))"]
        // Only where the code was found (!IP2MD); !DumpMD does not read the method's code yet.
        if let codeKind, let codeAddress {
            out.append("IsJitted:             yes" + (codeKind == "readyToRun" ? " (ReadyToRun code)" : ""))
            out.append("Current CodeAddr:     " + Sos.p(codeAddress.value))
        }
        return out
    }

    static func of(_ md: UInt64, code: ClrCodeInfo?, _ r: ClrRuntime) throws -> MethodDescValue {
        guard let (t, token) = r.methodDescInfo(md) else { throw CommandError("\(Sos.p(md)) is not a MethodDesc") }
        return MethodDescValue(methodDesc: HexValue(md), name: r.methodName(md, withModule: false), eeClass: HexValue(t.eeClass),
                               methodTable: HexValue(t.methodTable), token: HexValue(UInt64(token)), module: HexValue(t.module?.address ?? 0),
                               codeKind: code?.kind.rawValue, codeAddress: code.map { HexValue($0.start) })
    }
}

struct IP2MDCommand: ValueCommand {
    let names = ["!IP2MD", "!ip2md"]
    let summary = "the MethodDesc of managed code at an address"
    let help = """
    !IP2MD <code address>   finds the managed method holding the address (JIT or ReadyToRun code) and shows its
                            MethodDesc, name, class, MethodTable, token, module and code start.
    Example: !ip2md @rip
    """
    var extensionName: String? { "sos" }

    func evaluate(_ inv: Invocation, in s: Session) throws -> any CommandValue {
        let args = try CommandArguments(inv, positionals: 1...1, usage: "!IP2MD <code address>")
        let ip = try Sos.address(args.positionals[0], s)
        let r = try Sos.run { try SosRuntimes.runtime(for: s) }
        guard let code = r.codeMap.code(at: ip) else { throw CommandError("Failed to request MethodData, not in JIT code range") }
        return try MethodDescValue.of(code.methodDesc, code: code, r)
    }
}

struct DumpMDCommand: ValueCommand {
    let names = ["!DumpMD", "!dumpmd"]
    let summary = "show a MethodDesc"
    let help = "!DumpMD <MethodDesc address>   shows the method's name, class, MethodTable, token, module and code.\nExample: !dumpmd 00007fb09770fef0"
    var extensionName: String? { "sos" }

    func evaluate(_ inv: Invocation, in s: Session) throws -> any CommandValue {
        let args = try CommandArguments(inv, positionals: 1...1, usage: "!DumpMD <MethodDesc address>")
        let md = try Sos.address(args.positionals[0], s)
        let r = try Sos.run { try SosRuntimes.runtime(for: s) }
        return try MethodDescValue.of(md, code: nil, r)
    }
}

/// `!DumpIL <MethodDesc>`: the method's IL, as SOS's !DumpIL prints it.
struct DumpILValue: CommandValue {
    let ilAddress: HexValue
    /// `IL_0000: ldarg.0 ` lines, with the `.try`/`.catch` blocks of the method's exception clauses.
    let lines: [String]
    func textLines() -> [String] { ["ilAddr = " + Sos.p(ilAddress.value)] + lines }
}

struct DumpILCommand: ValueCommand {
    let names = ["!DumpIL", "!dumpil"]
    let summary = "show a method's IL"
    let help = """
    !DumpIL <MethodDesc address>   the method's IL, read where the runtime mapped its module (or from the module's
                                   file), one instruction a line (IL_0000: ...), tokens named from metadata in
                                   ILDASM's style (call void [System.Console]System.Console::WriteLine(string)),
                                   .try/.catch/.finally blocks indented. IL stubs have no IL body. Branch targets and
                                   ldc.i4.s values are decoded signed.
    Example: !dumpil 00007fb09770fef0
    """
    var extensionName: String? { "sos" }

    func evaluate(_ inv: Invocation, in s: Session) throws -> any CommandValue {
        let args = try CommandArguments(inv, positionals: 1...1, usage: "!DumpIL <MethodDesc address>")
        let md = try Sos.address(args.positionals[0], s)
        let r = try Sos.run { try SosRuntimes.runtime(for: s) }
        let il = try Sos.run { try r.ilBody(methodDesc: md) }
        return DumpILValue(ilAddress: HexValue(il.address), lines: il.metadata.ilText(il.body))
    }
}

/// `!U <code address>`: the managed method holding the address, disassembled from its start.
struct ManagedUnassembleCommand: DebuggerCommand {
    // Emits a DisassemblyValue (the same value as u), with the method's header lines as notes.
    let names = ["!U", "!u"]
    let summary = "disassemble the managed method holding an address"
    let help = """
    !U [-n] [-il [-map]] <code address>
                        disassembles the JIT or ReadyToRun code block holding the address (its main body, or
                        the funclet it is in), under the method's name; '>>>' marks the address's instruction.
                        -il first lists the method's IL (as !DumpIL), then puts each IL instruction before the
                        native code the JIT's IL map gives it, as SOS does; -map (with -il) lists the map itself:
                        IL offset, native start and end. -n (no source lines) changes nothing: dumpdbg reads no
                        PDBs. -gcinfo, -ehinfo and -o are SOS options dumpdbg does not have: it says so.
    Example: !u -il 00007fb09766183d
    """
    var extensionName: String? { "sos" }

    func run(_ inv: Invocation, in s: Session) throws {
        let args = try CommandArguments(inv, flags: ["-gcinfo", "-ehinfo", "-n", "-o", "-il", "-map"], positionals: 1...1,
                                        usage: "!U [-n] [-il [-map]] <code address>")
        for option in ["-gcinfo", "-ehinfo", "-o"] where args.has(option) {
            throw CommandError("!U \(option) is not available in dumpdbg")
        }
        let ip = try Sos.address(args.positionals[0], s)
        let r = try Sos.run { try SosRuntimes.runtime(for: s) }
        guard let code = r.codeMap.code(at: ip) else { throw CommandError("Unmanaged code") }
        guard let dis = s.disassembler else { throw CommandError("!U: no disassembler for \(s.dump.system.architecture)") }
        let end = code.blockEnd ?? min(ip + 0x100, code.start + 0x10000)
        let start = code.start
        var out = DisassemblyValue.Builder(s)
        out.note(code.kind == .jit ? "Normal JIT generated code" : "ReadyToRun code")
        out.note(r.methodName(code.methodDesc, withModule: false))
        // -il: the map rows (with -map) and the whole IL listing first, then each IL range before its native code.
        let il = args.has("-il") ? r.ilInterleaving(code) : nil
        if args.has("-il") {
            if let il {
                if args.has("-map") { for row in il.map { out.note(Hex.pad(UInt64(row.ilOffset), 8) + " " + Sos.p(row.start) + " " + Sos.p(row.end)) } }
                for line in il.lines { out.note(line.text) }
            } else {
                out.note("Failed to get IL address map, proceeding without IL map")
            }
        }
        var ilRanges = il?.ranges ?? []
        out.note("Begin \(Sos.P(start)), size \(String(end - start, radix: 16))")
        var at = start
        while at < end {
            try s.checkInterrupt()
            let bytes = s.codeBytes(at, count: 16)
            guard !bytes.isEmpty, let i = dis.decode(bytes, at: at) else {
                out.missing(at)
                out.note("(the rest of the code is not in the dump)")
                break
            }
            // SOS: the IL the map gives this native address, once, before its first instruction.
            if let k = ilRanges.firstIndex(where: { $0.start <= at && at < $0.end }) {
                let range = ilRanges.remove(at: k)
                for line in il?.lines ?? [] where range.ilOffsets.contains(line.offset) { out.note(line.text) }
            }
            // '>>>' marks the instruction holding the address.
            out.instruction(i, marked: i.address <= ip && ip < i.address + UInt64(i.bytes.count))
            at += UInt64(i.bytes.count)
        }
        s.emit(out.value)
    }
}

/// `!soshelp` / `!help`: the SOS commands dumpdbg has, or one command's help.
struct SosHelpCommand: DebuggerCommand {
    let names = ["!soshelp", "!help"]
    let summary = "list the SOS commands dumpdbg knows (!soshelp CMD: one command's help)"
    let help = "!soshelp [COMMAND]   lists the SOS commands with a line each, or shows one command's usage and example.\nExample: !soshelp clrstack"
    var extensionName: String? { "sos" }

    func run(_ inv: Invocation, in s: Session) throws {
        let sos = s.registry.commands.filter { $0.extensionName == "sos" }
        if let word = inv.words.first {
            let name = (word.hasPrefix("!") ? word : "!" + word).lowercased()
            guard let c = sos.first(where: { $0.names.contains { $0.lowercased() == name } }) else {
                throw CommandError("No SOS command \(word) in dumpdbg: !soshelp lists them")
            }
            for l in c.help.split(separator: "\n", omittingEmptySubsequences: false) { s.output.line(String(l)) }
            return
        }
        s.output.line("SOS commands dumpdbg reads without the DAC (!soshelp COMMAND for one):")
        for c in sos.sorted(by: { $0.names[0].lowercased() < $1.names[0].lowercased() }) {
            let aliases = c.names.dropFirst().filter { $0.lowercased() != c.names[0].lowercased() }
            let title = c.names[0] + (aliases.isEmpty ? "" : " (" + aliases.joined(separator: ", ") + ")")
            s.output.line("  " + title.rightPad(34) + " " + c.summary)
        }
    }
}

/// `!DumpStack` and `!EEStack`: native and managed frames of one thread (every thread), as one list.
struct DumpStackCommand: DebuggerCommand {
    let names = ["!DumpStack", "!dumpstack", "!EEStack", "!eestack"]
    let summary = "native and managed frames together (!EEStack: every thread)"
    let help = """
    !DumpStack    the current thread's frames, native and managed, each with the frame it calls:
                  Child-SP, RetAddr, "Caller, calling Callee". Managed frames are named from their MethodDesc.
                  These are the frames the unwinder found (as !CLRStack -f), not SOS's raw scan of every stack word.
    !EEStack      the same for every thread.
    Example: !dumpstack
    """
    var extensionName: String? { "sos" }

    func run(_ inv: Invocation, in s: Session) throws {
        _ = try CommandArguments(inv, flags: ["-EE", "-short", "-ee"], positionals: 0...0, usage: "\(inv.name)")
        let r = try Sos.run { try SosRuntimes.runtime(for: s) }
        let all = inv.name.lowercased() == "!eestack"
        var threads: [MixedStacksValue.Thread] = []
        for i in (all ? Array(s.dump.threads.indices) : [s.currentThread]) {
            try s.checkInterrupt()
            let context = i == s.currentThread ? s.context : s.dump.threads[i].context
            // The frames the unwinder found: the runtime's explicit Frames are not code.
            let walk = context.map { r.stackFrames(thread: s.dump.threads[i], context: $0, modules: s.nativeModules, includeNative: true) } ?? []
            let frames = walk.filter { if case .explicit = $0.kind { return false }; return true }.map { ClrStackCommand.frame($0, r, s) }
            threads.append(.init(threadIndex: i, osId: HexValue(s.dump.threads[i].id), frames: frames))
        }
        s.emit(MixedStacksValue(threads: threads, everyThread: all))
    }
}

/// `!DumpStack`/`!EEStack`'s value: each thread's native and managed frames, in order from the top.
struct MixedStacksValue: CommandValue {
    struct Thread: Encodable {
        let threadIndex: Int
        let osId: HexValue
        let frames: [ManagedStacksValue.Frame]
    }
    let threads: [Thread]
    /// !EEStack: every thread, each under a separator line.
    let everyThread: Bool

    enum CodingKeys: String, CodingKey { case threads }

    func textLines() -> [String] {
        var out: [String] = []
        for t in threads {
            if everyThread { out += ["---------------------------------------------", "Thread " + String(t.threadIndex).leftPad(3)] }
            out.append("OS Thread Id: 0x\(String(t.osId.value, radix: 16)) (\(t.threadIndex))")
            guard let top = t.frames.first else { out.append("(no frames: the thread has no register context)"); continue }
            out.append("Current frame: " + top.callSite)
            out.append("Child-SP         RetAddr          Caller, Callee")
            for k in t.frames.indices.dropFirst() {
                let f = t.frames[k], callee = t.frames[k - 1]
                out.append("\(Sos.P(callee.childSP.value)) \(Hex.pad(f.ip.value, 16)) \(f.callSite), calling \(callee.callSite)")
            }
        }
        return out
    }
}
