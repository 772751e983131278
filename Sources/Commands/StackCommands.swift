import Foundation
import DumpModel
import Native
import Unwind

/// What `k`'s letters ask for (`kbn`, `kc`, `kf`...).
struct StackOptions: Equatable {
    var arguments = false   // b, v: "Args to Child"
    var frameNumbers = false // n
    var clean = false       // c: call sites only
    var memoryUse = false   // f: bytes between frames
    var sourceLines = true  // L hides them

    /// Every name `k` answers to: k, then one of b/v/p/P/c, then any order of n, f, L. Written out, not
    /// generated: the registry is built at every start, and generating them was 2 % of a short session.
    static let names: [String] = {
        let tails = ["", "n", "f", "L", "nf", "fn", "nL", "Ln", "fL", "Lf", "nfL", "nLf", "fnL", "fLn", "Lnf", "Lfn"]
        var out: [String] = []
        out.reserveCapacity(6 * tails.count)
        for head in ["k", "kb", "kv", "kp", "kP", "kc"] { for t in tails { out.append(head + t) } }
        return out
    }()

    init() {}
    init(name: String) {
        for c in name.dropFirst() {
            switch c {
            case "b", "v": arguments = true
            case "n": frameNumbers = true
            case "c": clean = true
            case "f": memoryUse = true
            case "L": sourceLines = false
            default: break  // p, P: typed parameters need private symbols.
            }
        }
    }
}

/// One thread's native call stack, as `k` computes it.
struct StackValue: CommandValue {
    struct Frame: Encodable {
        let index: Int
        let childSP: HexValue
        let framePointer: HexValue?
        let returnAddress: HexValue?
        let instructionPointer: HexValue
        /// `module!function+0xoff`, `module+0xoff`, or the bare address.
        let callSite: String
        let module: String?
        let function: String?
        /// How the frame was found: context, cfi, frame_pointer or scan (rust-minidump's trust levels), or
        /// inline: a call the compiler inlined into the next frame (from the symbol file's INLINE records).
        let trust: String
        /// Up to four stack words (`kb`'s "Args to Child"); nil where not asked for.
        let arguments: [HexValue?]?
        /// The source line of the frame's code (its call, in callers), from the module's symbol file.
        var sourceFile: String? = nil
        var sourceLine: Int? = nil
        /// The frame of the native walk this frame belongs to (inline frames share their caller's).
        var walkIndex: Int? = nil
        /// The instruction pointer's offset from the start of an inlined call's code (inline frames only).
        var inlineOffset: UInt64? = nil

        var isInline: Bool { trust == Self.inlineTrust }
        /// The frame the walk started from (its instruction pointer is not a return address).
        var isContextFrame: Bool { (walkIndex ?? index) == 0 }
        /// Where to look the frame's code up: inside the call instruction for return addresses.
        var lookupAddress: UInt64 { isContextFrame ? instructionPointer.value : instructionPointer.value &- 1 }
        static let inlineTrust = "inline"

        enum CodingKeys: String, CodingKey {
            case index, childSP, framePointer, returnAddress, instructionPointer, callSite, module, function, trust, arguments
            case sourceFile, sourceLine
        }
    }
    let threadIndex: Int
    let threadId: HexValue
    let frames: [Frame]
    let note: String?
    let options: StackOptions
    let pointerSize: Int

    enum CodingKeys: String, CodingKey { case threadIndex, threadId, frames, note }

    func textLines() -> [String] {
        var out: [String] = []
        if let note { out.append(note) }
        if frames.contains(where: { $0.trust == FrameTrust.scan.rawValue }) {
            out.append("WARNING: Stack unwind information not available. Following frames may be wrong.")
        }
        let x64 = pointerSize == 8
        func a(_ v: UInt64?) -> String {
            guard let v else { return x64 ? "????????`????????" : "????????" }
            return Hex.address(v, pointerSize: pointerSize)
        }
        var header = options.frameNumbers ? " # " : ""
        if options.memoryUse { header += "  Memory  " }
        if options.clean {
            header += "Call Site"
        } else {
            header += x64 ? "Child-SP          RetAddr           " : "ChildEBP RetAddr  "
            if options.arguments { header += x64 ? ": Args to Child                                                           : " : "Args to Child              " }
            header += "Call Site"
        }
        out.append(header)
        for (i, f) in frames.enumerated() {
            var line = options.frameNumbers ? Hex.pad(UInt64(f.index), 2) + " " : ""
            if options.memoryUse {
                let mem = i > 0 ? String(f.childSP.value &- frames[i - 1].childSP.value, radix: 16) : ""
                line += String(repeating: " ", count: max(0, 8 - mem.count)) + mem + "  "
            }
            if !options.clean && f.isInline {
                line += x64 ? "(Inline Function) --------`-------- " : "(Inline) -------- "
                if options.arguments { line += x64 ? ": " + String(repeating: " ", count: 71) + " : " : String(repeating: " ", count: 27) }
            } else if !options.clean {
                line += x64 ? "\(a(f.childSP.value)) \(a(f.returnAddress?.value)) " : "\(a(f.framePointer?.value)) \(a(f.returnAddress?.value)) "
                if let args = f.arguments {
                    let words = args.map { a($0?.value) }.joined(separator: " ")
                    line += x64 ? ": \(words) : " : "\(words) "
                }
            }
            line += options.clean ? (f.function.map { "\(f.module ?? "")!\($0)" } ?? f.callSite) : f.callSite
            if options.sourceLines, let file = f.sourceFile, let l = f.sourceLine { line += " [\(file) @ \(l)]" }
            if f.trust == FrameTrust.scan.rawValue { line += "  [scan]" }
            out.append(line)
        }
        return out
    }
}

/// SOS's `File.dll!Namespace.Type.Method(Args)` split as WinDbg's stacks and buckets use it.
struct ManagedMethodName {
    /// The image file (`System.Private.CoreLib.dll`).
    let image: String
    /// WinDbg's module name for it (`System_Private_CoreLib`).
    let module: String
    /// The method without its parameters (`System.Threading.Thread.Sleep`).
    let method: String

    init(_ full: String) {
        let bang = full.firstIndex(of: "!") ?? full.startIndex
        image = String(full[..<bang])
        module = DumpModule(base: 0, size: 0, path: image).moduleName
        let rest = bang == full.startIndex ? full[...] : full[full.index(after: bang)...]
        method = rest.split(separator: "(").first.map(String.init) ?? full
    }
}

extension StackValue {
    /// The same stack with the frames `name` knows renamed: (module, function, offset from the function's start).
    func naming(_ name: (Frame) -> (module: String, function: String, offset: UInt64)?) -> StackValue {
        let renamed = frames.map { f -> Frame in
            guard let (module, function, offset) = name(f) else { return f }
            return Frame(index: f.index, childSP: f.childSP, framePointer: f.framePointer, returnAddress: f.returnAddress,
                         instructionPointer: f.instructionPointer, callSite: "\(module)!\(function)+0x\(String(offset, radix: 16))",
                         module: module, function: function, trust: f.trust, arguments: f.arguments,
                         sourceFile: f.sourceFile, sourceLine: f.sourceLine, walkIndex: f.walkIndex,
                         inlineOffset: f.isInline ? offset : nil)
        }
        return StackValue(threadIndex: threadIndex, threadId: threadId, frames: renamed, note: note, options: options, pointerSize: pointerSize)
    }
}

/// `~* k` and `~N k`: the stacks of several threads, each under its `~` line.
struct ThreadStacksValue: CommandValue {
    struct Entry: Encodable {
        let thread: ThreadListValue
        let stack: StackValue
    }
    let threads: [Entry]

    func textLines() -> [String] {
        threads.flatMap { [""] + $0.thread.textLines() + $0.stack.textLines() }
    }
}

/// `k` and its variants: the native call stack of the current thread (or of the exception after `.ecxr`).
struct StackCommand: ValueCommand {
    let names = StackOptions.names
    let summary = "native call stack of the current thread (k, kb, kn, kc, kf, k N)"
    let help = """
    k[b|v|p|P|c][n][f][L] [= BasePtr [StackPtr [InstructionPtr]]] [FrameCount]
                  walks the current thread's stack (the exception context after .ecxr) and prints one frame per
                  line: Child-SP (x86: ChildEBP), RetAddr, and the call site as module!function+0xoff where a
                  symbol is known (a Breakpad .sym on the symbol path, .sympath; PE exports; ELF .symtab/.dynsym
                  of the module's file, or the .symtab of its separate debug file found by build id in
                  FOLDER/.build-id/ab/cdef.debug under the symbol path and /usr/lib/debug, or debuginfod's cache),
                  else module+0xoff. A symbol file with line records, or the DWARF .debug_line of an ELF
                  module's file or debug file, adds [file @ line] (kL leaves it out), and its INLINE records add a "(Inline Function)" frame for
                  each call the compiler inlined, innermost first, before the frame that holds the code.
                  b/v add four "Args to Child" words, n numbers the frames, c prints call sites only, f adds the
                  bytes each frame uses. FrameCount (hex, default 0x100) limits the frames shown.
    How frames are found, for each caller in turn (rust-minidump's order and rules):
                  1. call frame information (.eh_frame, .debug_frame; Windows x64 .pdata) of the module's file,
                     found by its path or on the image path (.exepath) with the same build id, or of its image
                     in the dump's memory; else the symbol file's STACK CFI rules, or for x86 its STACK WIN
                     frame data and FPO records (Breakpad's program strings, as minidump_stackwalk runs them);
                     code outside every module unwinds by the dump's function tables (FunctionTableStream: what
                     a JIT registered with RtlAddFunctionTable) or, once SOS has found it, the CLR's code map;
                  2. the frame pointer chain (not on Windows x64; on ARM64 the fp/lr frame records, with pointer
                     authentication bits stripped, and a record that leads nowhere hands over to scanning);
                  3. stack scanning: the first stack word that points just after a call instruction in a
                     module (ARM64: 4-byte aligned). Such frames are guesses: they end in "[scan]", and a
                     WARNING line precedes them.
                  Architectures: x64, x86 and ARM64; others show the context frame only.
                  The walk stops at 0x400 frames, when the stack pointer does not grow, or at a null return.
                  `--json` gives each frame's trust (context, cfi, frame_pointer, scan).
    k = BasePtr StackPtr InstructionPtr   walks from these registers instead of the context's (a frame
                  found by hand, or a stack the unwinder lost).
    ~* k          every thread's stack; ~N k one thread's.
    Example: kn
    """
    var acceptsGluedOptions: Bool { false }

    func evaluate(_ inv: Invocation, in s: Session) throws -> any CommandValue {
        var arguments = inv.arguments.trimmed(" \t")
        var context = s.context
        // `k = BasePtr [StackPtr [InstructionPtr]] [FrameCount]`: walk from these registers instead of the context's.
        if arguments.hasPrefix("=") {
            let words = arguments.dropFirst().split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard !words.isEmpty, words.count <= 4, let base = context else {
                throw CommandError("Usage: k = BasePtr [StackPtr [InstructionPtr]] [FrameCount]", kind: .usage)
            }
            let values = try words.prefix(3).map { try ExpressionEvaluator.evaluate($0, environment: s.expressionEnvironment) }
            context = Self.context(base, framePointer: values[0], stackPointer: values.count > 1 ? values[1] : nil,
                                   instructionPointer: values.count > 2 ? values[2] : nil)
            arguments = words.count == 4 ? words[3] : ""
        }
        let count = try Self.frameCount(arguments, s)
        return try Self.stack(of: s.currentThread, context: context, options: StackOptions(name: inv.name), limit: count, in: s)
    }

    /// The context with its frame, stack and instruction pointers replaced (`k = ...`).
    static func context(_ c: RegisterContext, framePointer: UInt64, stackPointer: UInt64?, instructionPointer: UInt64?) -> RegisterContext {
        let names: (fp: String, sp: String, ip: String)
        switch c.architecture {
        case .x86: names = ("ebp", "esp", "eip")
        case .arm64: names = ("fp", "sp", "pc")
        default: names = ("rbp", "rsp", "rip")
        }
        let replaced = c.registers.map { r -> RegisterContext.Register in
            switch r.name {
            case names.fp: return .init(name: r.name, value: framePointer, bits: r.bits)
            case names.sp: return stackPointer.map { .init(name: r.name, value: $0, bits: r.bits) } ?? r
            case names.ip: return instructionPointer.map { .init(name: r.name, value: $0, bits: r.bits) } ?? r
            default: return r
            }
        }
        return RegisterContext(architecture: c.architecture, registers: replaced)
    }

    static func frameCount(_ arguments: String, _ s: Session) throws -> Int {
        let text = arguments.trimmed(" \t")
        guard !text.isEmpty else { return 0x100 }
        let n = try ExpressionEvaluator.evaluate(text, environment: s.expressionEnvironment)
        guard n > 0 else { throw CommandError("Frame count must be at least 1", kind: .usage) }
        return Int(min(n, UInt64(StackWalker.maxFrames)))
    }

    /// The native walk `k` shows: with the runtime's code unwinder once SOS has found the runtime. Nil where the
    /// architecture has no unwinder or the thread no context.
    static func walk(of index: Int, context: RegisterContext?, limit: Int, in s: Session) -> NativeStack? {
        guard let context, s.dump.threads.indices.contains(index), var walker = StackWalker(modules: s.nativeModules, stack: context.stackPointer.flatMap {
            StackWalker.stackRange(thread: s.dump.threads[index], stackPointer: $0, memory: s.memory)
        }) else { return nil }
        if let map = s.loadedClrRuntime?.codeMap { walker.codeUnwinder = { regs, pc in map.unwind(regs, pc: pc) } }
        return walker.walk(context, limit: limit)
    }

    /// `walked`: a walk the caller already made (with `walk`), so that it is not made twice.
    static func stack(of index: Int, context: RegisterContext?, options: StackOptions, limit: Int, in s: Session,
                      walked: NativeStack? = nil) throws -> StackValue {
        guard s.dump.threads.indices.contains(index) else { throw CommandError("No thread \(index) in this dump") }
        let thread = s.dump.threads[index]
        let ps = s.pointerSize
        func value(_ frames: [NativeFrame], note: String?) -> StackValue {
            let modules = s.nativeModules
            var out: [StackValue.Frame] = []
            for (i, f) in frames.enumerated() {
                let m = modules.module(containing: f.lookupAddress)
                // Calls the compiler inlined here come first, innermost first, as WinDbg lists them.
                let sources = modules.sourceFrames(at: f.lookupAddress)
                for inline in sources.dropLast() {
                    guard let m else { break }
                    let name = BreakpadSymbolFile.displayName(inline.function)
                    out.append(StackValue.Frame(index: out.count, childSP: HexValue(f.stackPointer), framePointer: nil, returnAddress: nil,
                                                instructionPointer: HexValue(f.instructionPointer),
                                                callSite: "\(m.moduleName)!\(name)+0x\(String(f.instructionPointer &- inline.start, radix: 16))",
                                                module: m.moduleName, function: name, trust: StackValue.Frame.inlineTrust, arguments: nil,
                                                sourceFile: inline.file, sourceLine: inline.line, walkIndex: i,
                                                inlineOffset: f.instructionPointer &- inline.start))
                }
                let sym = m.flatMap { modules.symbol(at: f.lookupAddress, in: $0) }
                let site = modules.callSite(of: f) ?? s.address(f.instructionPointer)
                var args: [HexValue?]?
                if options.arguments {
                    let base: UInt64? = ps == 8 ? (i + 1 < frames.count ? frames[i + 1].stackPointer : f.stackPointer &+ 8)
                                                : f.framePointer.map { $0 &+ 8 }
                    args = (0..<(ps == 8 ? 4 : 3)).map { k in base.flatMap { s.memory.readPointer($0 &+ UInt64(k * ps)) }.map(HexValue.init) }
                }
                out.append(StackValue.Frame(index: out.count, childSP: HexValue(f.stackPointer), framePointer: f.framePointer.map(HexValue.init),
                                            returnAddress: i + 1 < frames.count ? HexValue(frames[i + 1].instructionPointer) : nil,
                                            instructionPointer: HexValue(f.instructionPointer), callSite: site, module: m?.moduleName,
                                            function: sym?.0, trust: f.trust.rawValue, arguments: args,
                                            sourceFile: sources.last?.file, sourceLine: sources.last?.line, walkIndex: i))
            }
            return StackValue(threadIndex: index, threadId: HexValue(thread.id), frames: out, note: note, options: options, pointerSize: ps)
        }
        guard let context else { return value([], note: "No register context for thread \(index) in this dump") }
        guard let stack = walked ?? walk(of: index, context: context, limit: limit, in: s) else {
            // No unwinder for this architecture yet: the context frame is all that is known.
            guard let ip = context.instructionPointer else { return value([], note: "The context has no instruction pointer") }
            let name = s.nativeModules.name(ip) ?? s.address(ip)
            return StackValue(threadIndex: index, threadId: HexValue(thread.id),
                              frames: [.init(index: 0, childSP: HexValue(context.stackPointer ?? 0), framePointer: nil, returnAddress: nil,
                                             instructionPointer: HexValue(ip), callSite: name, module: s.namer.module(containing: ip)?.moduleName,
                                             function: nil, trust: FrameTrust.context.rawValue, arguments: nil)],
                              note: "Stack walking is not implemented for \(s.dump.system.architecture) yet: only the context frame is shown",
                              options: options, pointerSize: ps)
        }
        // Once SOS has found the runtime, JIT-compiled frames unwind by their own unwind info (see `walk`), and managed
        // frames are named from their MethodDescs (`System_Private_CoreLib!System.Threading.Thread.Sleep+0x1b`).
        var result = value(stack.frames, note: stack.note)
        if let r = s.loadedClrRuntime {
            result = result.naming { f in
                let lookup = f.lookupAddress
                guard let code = r.codeMap.code(at: lookup) else { return nil }
                let name = ManagedMethodName(r.methodName(code.methodDesc))
                return (name.module, name.method, f.instructionPointer.value &- code.start)
            }
        }
        return result
    }
}

extension Session {
    /// The modules' debug information for the current image and symbol paths (rebuilt when `.exepath` or `.sympath` changes).
    public var nativeModules: NativeModules {
        if let m = nativeModulesCache, m.imagePath == imagePath, m.symbolPath == symbolPath { return m }
        let m = NativeModules(dump: dump, imagePath: imagePath, symbolPath: symbolPath, namer: namer)
        nativeModulesCache = m
        return m
    }
}

/// `ln ADDRESS`: the nearest symbols around an address.
struct NearSymbolValue: CommandValue {
    struct Symbol: Encodable {
        let address: HexValue
        let name: String
    }
    let address: HexValue
    let before: Symbol?
    let after: Symbol?
    /// `module!function+0xoff` of the address itself.
    let name: String
    let pointerSize: Int

    enum CodingKeys: String, CodingKey { case address, before, after, name }

    func textLines() -> [String] {
        guard let before else { return [name == "" ? "(no symbol or module holds this address)" : "(\(Hex.address(address.value, pointerSize: pointerSize)))   \(name)"] }
        var line = "(\(Hex.address(before.address.value, pointerSize: pointerSize)))   \(name)"
        if let after { line += "   |  (\(Hex.address(after.address.value, pointerSize: pointerSize)))   \(after.name)" }
        var out = [line]
        if before.address.value == address.value { out += ["Exact matches:", "    \(before.name) (<no parameter info>)"] }
        return out
    }
}

struct NearSymbolCommand: ValueCommand {
    let names = ["ln"]
    let summary = "list the nearest symbols to an address (ln ADDRESS)"
    let help = """
    ln ADDRESS    the symbol at or before ADDRESS and the next one: (start) module!function+0xoff | (start) module!next.
                  Symbols: ELF .symtab/.dynsym of the module's file (matched by build id) or PE export tables in the dump.
    Example: ln @rip
    """

    func evaluate(_ inv: Invocation, in s: Session) throws -> any CommandValue {
        guard !inv.arguments.trimmed(" \t").isEmpty else { throw CommandError("Usage: ln ADDRESS", kind: .usage) }
        let a = try ExpressionEvaluator.evaluate(inv.arguments, environment: s.expressionEnvironment)
        let modules = s.nativeModules
        let name = modules.name(a) ?? ""
        guard let m = modules.module(containing: a) else {
            return NearSymbolValue(address: HexValue(a), before: nil, after: nil, name: "", pointerSize: s.pointerSize)
        }
        let syms = modules.symbols(in: m)
        // The first symbol above the address follows the last one at or below it.
        let lo = (SortedSearch.lastIndex(syms.count, atOrBelow: a) { syms[$0].address } ?? -1) + 1
        let before = lo > 0 ? NearSymbolValue.Symbol(address: HexValue(syms[lo - 1].address), name: "\(m.moduleName)!\(syms[lo - 1].name)") : nil
        let after = lo < syms.count ? NearSymbolValue.Symbol(address: HexValue(syms[lo].address), name: "\(m.moduleName)!\(syms[lo].name)") : nil
        return NearSymbolValue(address: HexValue(a), before: before ?? .init(address: HexValue(m.base), name: m.moduleName), after: after,
                               name: name, pointerSize: s.pointerSize)
    }
}

/// `x module!pattern`: symbols by wildcard.
struct SymbolListValue: CommandValue {
    struct Symbol: Encodable {
        let address: HexValue
        let name: String
    }
    let symbols: [Symbol]
    let pointerSize: Int

    enum CodingKeys: String, CodingKey { case symbols }

    func textLines() -> [String] {
        symbols.map { "\(Hex.address($0.address.value, pointerSize: pointerSize)) \($0.name) (<no parameter info>)" }
    }
}

struct ExamineSymbolsCommand: ValueCommand {
    let names = ["x"]
    let summary = "list symbols matching a pattern (x module!pattern)"
    let help = """
    x MODULE!PATTERN   lists the function symbols whose names match PATTERN (* and ? wildcards, case-insensitive) in the
                       modules matching MODULE, sorted by address.
    Example: x libc_so!*pthread_cond*
    """

    func evaluate(_ inv: Invocation, in s: Session) throws -> any CommandValue {
        let text = inv.arguments.trimmed(" \t")
        guard let bang = text.firstIndex(of: "!") else { throw CommandError("Usage: x MODULE!PATTERN", kind: .usage) }
        let modulePattern = String(text[..<bang]), pattern = String(text[text.index(after: bang)...])
        var out: [SymbolListValue.Symbol] = []
        for m in s.dump.modules.sorted(by: { $0.base < $1.base }) where Wildcard.matches(modulePattern, m.moduleName) {
            try s.checkInterrupt()
            for sym in s.nativeModules.symbols(in: m) where Wildcard.matches(pattern, sym.name) {
                out.append(.init(address: HexValue(sym.address), name: "\(m.moduleName)!\(sym.name)"))
                if out.count >= 100_000 { break }
            }
        }
        return SymbolListValue(symbols: out, pointerSize: s.pointerSize)
    }
}

/// `.frame [/r] [N]`: one frame of the current stack, with the registers unwinding recovered for it (`/r`).
struct FrameCommand: DebuggerCommand {
    let names = [".frame"]
    let summary = "show one frame of the current stack (.frame [/r] N)"
    let help = """
    .frame [/r] [N]   shows frame N (hex, as `kn` numbers them; 0 by default) of the current thread's stack;
                      /r adds the registers known in that frame (frame 0 has all; callers only the ones unwinding
                      recovers: the stack and instruction pointers, and the callee-saved registers).
    Example: .frame /r 2
    """
    func run(_ inv: Invocation, in s: Session) throws {
        var words = inv.words[...]
        var showRegisters = false
        if words.first?.lowercased() == "/r" { showRegisters = true; words.removeFirst() }
        let n = try words.first.map { try ExpressionEvaluator.evaluate($0, environment: s.expressionEnvironment) } ?? 0
        guard words.count <= 1 else { throw CommandError("Usage: .frame [/r] [N]", kind: .usage) }
        var options = StackOptions()
        options.frameNumbers = true
        let walked = StackCommand.walk(of: s.currentThread, context: s.context, limit: Int(min(n + 2, 0x400)), in: s)
        let stack = try StackCommand.stack(of: s.currentThread, context: s.context, options: options, limit: Int(min(n + 2, 0x400)), in: s,
                                           walked: walked)
        guard n < UInt64(stack.frames.count) else { throw CommandError("Frame \(String(n, radix: 16)) is not on the stack (it has \(stack.frames.count) frames)") }
        let one = StackValue(threadIndex: stack.threadIndex, threadId: stack.threadId, frames: [stack.frames[Int(n)]], note: nil,
                             options: options, pointerSize: stack.pointerSize)
        let walkIndex = stack.frames[Int(n)].walkIndex ?? Int(n)
        let registers = showRegisters ? walked.flatMap { walkIndex < $0.frames.count ? $0.frames[walkIndex] : nil }?.registers
            .map { RegistersValue.Register(name: $0.name, value: HexValue($0.value), bits: s.pointerSize * 8) } : nil
        s.emit(FrameValue(frame: one, registers: registers, pointerSize: s.pointerSize))
    }
}

/// `.frame`'s value: the frame as `kn` shows it, and (with /r) the registers unwinding recovered in it.
struct FrameValue: CommandValue {
    let frame: StackValue
    let registers: [RegistersValue.Register]?
    let pointerSize: Int

    enum CodingKeys: String, CodingKey { case frame, registers }

    func textLines() -> [String] {
        var out = [frame.textLines().last ?? ""]
        guard let registers else { return out }
        var line = ""
        for (i, r) in registers.enumerated() {
            line += (line.isEmpty ? "" : " ") + "\(r.name)=\(Hex.pad(r.value.value, pointerSize * 2))"
            if (i + 1) % 3 == 0 { out.append(line); line = "" }
        }
        if !line.isEmpty { out.append(line) }
        return out
    }
}

/// `!uniqstack`: each distinct native stack once, with the threads that share it.
struct UniqueStacksValue: CommandValue {
    struct Group: Encodable {
        let thread: ThreadListValue
        let stack: StackValue
        /// The other threads with the same frames.
        let duplicates: [Int]
    }
    let threadCount: Int
    let groups: [Group]

    func textLines() -> [String] {
        var out = ["Processing \(threadCount) threads, please wait", ""]
        for g in groups { out += g.thread.textLines() + g.stack.textLines() + [""] }
        let dups = groups.flatMap(\.duplicates).sorted()
        out.append("Total threads: \(threadCount)")
        out.append("Duplicate callstacks: \(dups.count) (windbg thread #s follow):")
        out.append(dups.map(String.init).joined(separator: ", "))
        return out
    }
}

struct UniqueStacksCommand: ValueCommand {
    let names = ["!uniqstack"]
    let summary = "print each distinct thread stack once, with the threads that share it"
    let help = """
    !uniqstack    walks every thread's stack (as ~* kn) and prints each distinct one once, under its first thread;
                  the threads whose frames are the same (same instruction pointers) are listed at the end.
    Example: !uniqstack
    """
    func evaluate(_ inv: Invocation, in s: Session) throws -> any CommandValue {
        guard inv.words.isEmpty else { throw CommandError("Usage: !uniqstack", kind: .usage) }
        var options = StackOptions()
        options.frameNumbers = true
        var groups: [UniqueStacksValue.Group] = []
        var byKey: [[UInt64]: Int] = [:]
        for i in s.dump.threads.indices {
            try s.checkInterrupt()
            let context = i == s.currentThread ? s.context : s.dump.threads[i].context
            let stack = try StackCommand.stack(of: i, context: context, options: options, limit: 0x100, in: s)
            let key = stack.frames.map(\.instructionPointer.value)
            if let g = byKey[key], !key.isEmpty {
                let old = groups[g]
                groups[g] = .init(thread: old.thread, stack: old.stack, duplicates: old.duplicates + [i])
            } else {
                byKey[key] = groups.count
                groups.append(.init(thread: ThreadListValue([i], s), stack: stack, duplicates: []))
            }
        }
        return UniqueStacksValue(threadCount: s.dump.threads.count, groups: groups)
    }
}
