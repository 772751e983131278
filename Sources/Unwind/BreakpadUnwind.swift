import DumpModel
import Native

/// Breakpad's postfix language, in which `STACK CFI` rules and `STACK WIN` programs are written: numbers,
/// variables (`$esp`, `.cfa`, `$T0`), binary `+ - * / % @` (`@` aligns down), unary `^` (read a pointer) and
/// `=` (assign, in programs). Arithmetic wraps at the target's pointer width.
struct PostfixEvaluator {
    let mask: UInt64
    let read: (UInt64) -> UInt64?
    /// Programs and rules come from files on disk; a bound keeps a corrupt one from costing much.
    static let maxTokens = 256

    private enum Item {
        case value(UInt64)
        case name(Substring)
    }

    /// The value of one expression (a CFI rule).
    func value(_ expression: String, _ variables: [String: UInt64]) -> UInt64? {
        var stack: [Item] = []
        var vars = variables
        var assigned = Set<String>()
        guard run(expression, &stack, &vars, &assigned), stack.count == 1 else { return nil }
        return resolve(stack[0], vars)
    }

    /// Runs a program of assignments (a STACK WIN program); `assigned` collects the variables it set.
    func run(_ program: String, _ variables: inout [String: UInt64], assigned: inout Set<String>) -> Bool {
        var stack: [Item] = []
        return run(program, &stack, &variables, &assigned) && stack.isEmpty
    }

    private func resolve(_ item: Item, _ vars: [String: UInt64]) -> UInt64? {
        switch item {
        case .value(let v): return v
        case .name(let n): return vars[String(n)]
        }
    }

    private func run(_ text: String, _ stack: inout [Item], _ vars: inout [String: UInt64], _ assigned: inout Set<String>) -> Bool {
        let tokens = text.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard tokens.count <= Self.maxTokens else { return false }
        for t in tokens {
            switch t {
            case "+", "-", "*", "/", "%", "@":
                guard stack.count >= 2, let b = resolve(stack.removeLast(), vars), let a = resolve(stack.removeLast(), vars) else { return false }
                let r: UInt64
                switch t {
                case "+": r = a &+ b
                case "-": r = a &- b
                case "*": r = a &* b
                case "/": guard b & mask != 0 else { return false }; r = (a & mask) / (b & mask)
                case "%": guard b & mask != 0 else { return false }; r = (a & mask) % (b & mask)
                default: guard b & mask != 0 else { return false }; r = a & (0 &- b)
                }
                stack.append(.value(r & mask))
            case "^":
                guard let a = stack.popLast().flatMap({ resolve($0, vars) }), let v = read(a & mask) else { return false }
                stack.append(.value(v & mask))
            case "=":
                guard stack.count >= 2, let v = resolve(stack.removeLast(), vars), case .name(let n) = stack.removeLast() else { return false }
                vars[String(n)] = v & mask
                assigned.insert(String(n))
            default:
                if let v = Self.number(t) {
                    stack.append(.value(v & mask))
                } else {
                    stack.append(.name(t))
                }
            }
        }
        return true
    }

    /// Decimal (possibly negative) or 0x-prefixed hexadecimal.
    private static func number(_ t: Substring) -> UInt64? {
        if t.hasPrefix("0x") { return UInt64(t.dropFirst(2), radix: 16) }
        if t.hasPrefix("-"), let v = UInt64(t.dropFirst()) { return 0 &- v }
        return UInt64(t)
    }
}

extension StackWalker {
    /// The register names Breakpad's symbol files use: `$rsp`, `$eip` on x86 and x64; `sp`, `x29`, `pc` on ARM64.
    func breakpadName(_ dwarf: Int) -> String {
        switch arch.architecture {
        case .arm64:
            switch dwarf {
            case 29: return "x29"
            case 30: return "x30"
            case 31: return "sp"
            case 32: return "pc"
            default: return arch.name(dwarf)
            }
        default: return "$" + arch.name(dwarf)
        }
    }

    private var mask: UInt64 { arch.pointerSize == 4 ? 0xFFFF_FFFF : UInt64.max }

    /// The caller's registers from the symbol file's `STACK CFI` rules at the callee's address (Breakpad's
    /// CFIFrameInfo::FindCallerRegs): `.cfa` first, then `.ra` and every register with a rule; callee-saved
    /// registers without one keep their values.
    func byBreakpadCallFrameInfo(_ callee: NativeFrame, _ symbols: BreakpadSymbolFile, module: DumpModule) -> ([Int: UInt64], FrameTrust, Bool)? {
        guard let rules = symbols.callFrameRules(at: callee.lookupAddress &- module.base), let cfaRule = rules[".cfa"],
              let raRule = rules[".ra"] else { return nil }
        var variables: [String: UInt64] = [:]
        for (n, v) in callee.dwarfRegisters { variables[breakpadName(n)] = v }
        if arch.architecture == .arm64 { variables["lr"] = callee.dwarfRegisters[30]; variables["fp"] = callee.dwarfRegisters[29] }
        let evaluator = PostfixEvaluator(mask: mask, read: { self.memory.readPointer($0) })
        guard let cfa = evaluator.value(cfaRule, variables) else { return nil }
        variables[".cfa"] = cfa
        guard let ra = evaluator.value(raRule, variables) else { return nil }
        var out: [Int: UInt64] = [:]
        for n in arch.calleeSaved { if let v = callee.dwarfRegisters[n] { out[n] = v } }
        for (name, rule) in rules where !name.hasPrefix(".") {
            guard let n = arch.names.first(where: { breakpadName($0.key) == name || $0.value == name })?.key else { continue }
            out[n] = evaluator.value(rule, variables)
        }
        out[arch.instructionPointer] = ra
        out[arch.stackPointer] = cfa
        return (out, .callFrameInfo, false)
    }

    /// The caller of an x86 frame from its `STACK WIN` record, as Breakpad's StackwalkerX86 computes it:
    /// the record's program (frame data), or the standard one for FPO data with or without an ebp frame,
    /// with `.raSearchStart` found by scanning a few words for a return address.
    func byWindowsFrameInfo(_ callee: NativeFrame, calleeOfCallee: NativeFrame?, _ symbols: BreakpadSymbolFile, module: DumpModule)
        -> ([Int: UInt64], FrameTrust, Bool)? {
        guard arch.architecture == .x86, let info = symbols.windowsFrameInfo(at: callee.lookupAddress &- module.base),
              let esp = callee.dwarfRegisters[4], let ebp = callee.dwarfRegisters[5] else { return nil }
        // The bytes of parameters the callee of this frame took: they sit between its return address and our locals.
        var calleeParameters: UInt64 = 0
        if let inner = calleeOfCallee, let m = modules.module(containing: inner.lookupAddress),
           let size = modules.breakpad(for: m)?.parameterSize(at: inner.lookupAddress &- m.base) {
            calleeParameters = size
        }
        var variables: [String: UInt64] = ["$ebp": ebp, "$esp": esp, ".cbCalleeParams": calleeParameters,
                                           ".cbSavedRegs": info.savedRegisterSize, ".cbLocals": info.localSize,
                                           ".cbParams": info.parameterSize]
        if let ebx = callee.dwarfRegisters[3] { variables["$ebx"] = ebx }
        var raSearchStart = (esp &+ calleeParameters &+ info.localSize &+ info.savedRegisterSize) & mask
        let searchStartBefore = raSearchStart
        if let (location, found) = scanForReturnAddress(from: raSearchStart, words: 3) {
            raSearchStart = location
            // A context frame in an FPO function may have the return address of its own call still on the stack.
            if callee.trust == .context, info.type == 0, searchStartBefore == location, found == callee.instructionPointer {
                raSearchStart = location &+ 4
                if let (next, _) = scanForReturnAddress(from: raSearchStart, words: 3) { raSearchStart = next }
            }
        }
        var program: String
        var recoverEbp = true
        if let p = info.program, !p.isEmpty {
            program = p
        } else if info.allocatesBasePointer {
            program = "$eip .raSearchStart ^ = $ebp $esp .cbCalleeParams + .cbSavedRegs + 8 - ^ = $esp .raSearchStart 4 + ="
        } else {
            program = "$eip .raSearchStart ^ = $esp .raSearchStart 4 + ="
            if variables["$ebx"] != nil { program += " $ebx $ebx =" }
            recoverEbp = false
        }
        if program.contains("@") { raSearchStart = (ebp &+ 4) & mask }
        variables[".raSearchStart"] = raSearchStart
        variables[".raSearch"] = raSearchStart
        let evaluator = PostfixEvaluator(mask: mask, read: { self.memory.readU32($0).map(UInt64.init) })
        var assigned = Set<String>()
        var trust = FrameTrust.callFrameInfo
        if !evaluator.run(program, &variables, assigned: &assigned) || !assigned.contains("$eip") || !assigned.contains("$esp") {
            // The program does not fit this stack: scan from the stack pointer, as Breakpad does, rather than let
            // the frame pointer chain guess (the function may not keep one).
            guard let (location, found) = scanForReturnAddress(from: esp, words: callee.trust == .context ? 160 : 40) else { return nil }
            variables["$eip"] = found
            variables["$esp"] = (location &+ 4) & mask
            trust = .scan
        }
        var eip = variables["$eip"] ?? 0
        var offset: UInt64 = 0
        if eip != 0 || (variables["$ebp"] ?? 0) != 0 {
            // A return address outside every module: the program was wrong for this frame; scan from the search start.
            if modules.module(containing: eip) == nil {
                let from = (variables[".raSearchStart"] ?? raSearchStart) &+ 4
                if let (location, found) = scanForReturnAddress(from: from, words: callee.trust == .context ? 160 : 40) {
                    eip = found
                    variables["$eip"] = found
                    variables["$esp"] = location &+ 4
                    offset = location &- from
                    trust = .scan
                }
            }
            if recoverEbp {
                var callerEbp = variables["$ebp"] ?? 0
                let skipped = trust != .callFrameInfo && callerEbp <= raSearchStart &+ offset
                if skipped || memory.readU32(callerEbp) == nil {
                    // Look for a saved ebp among the words the callee pushed.
                    let end = esp &+ calleeParameters
                    var location = end &+ info.savedRegisterSize &+ offset
                    while location >= end {
                        guard let candidate = memory.readU32(location) else { break }
                        if memory.readU32(UInt64(candidate)) != nil { callerEbp = UInt64(candidate); break }
                        if location < 4 { break }
                        location -= 4
                    }
                    variables["$ebp"] = callerEbp
                }
            }
        }
        var out: [Int: UInt64] = [8: variables["$eip"] ?? eip, 4: variables["$esp"] ?? 0, 5: variables["$ebp"] ?? 0]
        for (name, n) in [("$ebx", 3), ("$esi", 6), ("$edi", 7)] where assigned.contains(name) { out[n] = variables[name] }
        return (out, trust, false)
    }

    /// The first stack word from `start` on that looks like a return address: its location and value. Breakpad looks
    /// at `words` words past the first (160 from a context frame, else 40).
    func scanForReturnAddress(from start: UInt64, words: Int) -> (UInt64, UInt64)? {
        let ps = UInt64(arch.pointerSize)
        for i in 0...UInt64(words) {
            let (slot, overflow) = start.addingReportingOverflow(i * ps)
            guard !overflow, let v = memory.readPointer(slot) else { return nil }
            if looksLikeReturnAddress(v) { return (slot, v) }
        }
        return nil
    }
}
