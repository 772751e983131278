import DumpModel
import Foundation
import Native

/// WinDbg's MASM expression evaluator: hex by default (`0n` decimal, `0t` octal, `0y` binary, `0x` hex,
/// backticks inside numbers), `@reg` and `$pseudo` registers, module names as their base address,
/// `poi()`/`dwo()`/`qwo()`/`wo()`/`by()` memory reads, and C-like operators with MASM precedence.
/// Evaluation stops at the first token that cannot continue the expression, so ranges like
/// `@rsp L40` or `1000 2000` parse as two parts.
public struct ExpressionEvaluator {
    public struct Environment {
        public var register: (String) -> UInt64?
        public var symbol: (String) -> UInt64?
        public var readPointer: (UInt64) -> UInt64?
        public var readU8: (UInt64) -> UInt8?
        public var readU16: (UInt64) -> UInt16?
        public var readU32: (UInt64) -> UInt32?
        public var readU64: (UInt64) -> UInt64?

        public init(register: @escaping (String) -> UInt64?, symbol: @escaping (String) -> UInt64?,
                    readPointer: @escaping (UInt64) -> UInt64?, readU8: @escaping (UInt64) -> UInt8?,
                    readU16: @escaping (UInt64) -> UInt16?, readU32: @escaping (UInt64) -> UInt32?,
                    readU64: @escaping (UInt64) -> UInt64?) {
            self.register = register
            self.symbol = symbol
            self.readPointer = readPointer
            self.readU8 = readU8
            self.readU16 = readU16
            self.readU32 = readU32
            self.readU64 = readU64
        }
    }

    let env: Environment
    let text: [Character]
    public private(set) var position: Int
    /// How deep the parser has recursed (parentheses, unary operators); bounded so that hostile input
    /// gets an error instead of overflowing the stack.
    private var depth = 0
    static let maximumDepth = 256

    public init(_ text: String, environment: Environment, position: Int = 0) {
        self.text = Array(text)
        env = environment
        self.position = position
    }

    public var atEnd: Bool {
        var p = position
        while p < text.count, text[p] == " " || text[p] == "\t" { p += 1 }
        return p >= text.count
    }

    public var remainder: String {
        var p = position
        while p < text.count, text[p] == " " || text[p] == "\t" { p += 1 }
        return String(text[p...])
    }

    /// Evaluates one expression starting at the current position.
    public mutating func evaluate() throws -> UInt64 {
        skipSpaces()
        guard position < text.count else { throw CommandError.syntax(String(text), column: position) }
        return try parseOr()
    }

    /// Evaluates the whole text as one expression; trailing text is a syntax error.
    public static func evaluate(_ text: String, environment: Environment) throws -> UInt64 {
        var e = ExpressionEvaluator(text, environment: environment)
        let v = try e.evaluate()
        guard e.atEnd else { throw CommandError.syntax(text, column: e.position) }
        return v
    }

    // MARK: - Grammar

    private mutating func parseOr() throws -> UInt64 {
        var v = try parseXor()
        while true {
            if matchWord("or") || matchOp("|") { v |= try parseXor() } else { return v }
        }
    }

    private mutating func parseXor() throws -> UInt64 {
        var v = try parseAnd()
        while true {
            if matchWord("xor") || matchOp("^") { v ^= try parseAnd() } else { return v }
        }
    }

    private mutating func parseAnd() throws -> UInt64 {
        var v = try parseCompare()
        while true {
            if matchWord("and") || matchOp("&") { v &= try parseCompare() } else { return v }
        }
    }

    private mutating func parseCompare() throws -> UInt64 {
        let v = try parseShift()
        if matchOp("==") || matchOp("=") { return v == (try parseShift()) ? 1 : 0 }
        if matchOp("!=") { return v != (try parseShift()) ? 1 : 0 }
        if matchOp("<=") { return v <= (try parseShift()) ? 1 : 0 }
        if matchOp(">=") { return v >= (try parseShift()) ? 1 : 0 }
        if peek("<<") || peek(">>") { return v }
        if matchOp("<") { return v < (try parseShift()) ? 1 : 0 }
        if matchOp(">") { return v > (try parseShift()) ? 1 : 0 }
        return v
    }

    private mutating func parseShift() throws -> UInt64 {
        var v = try parseAdditive()
        while true {
            if matchOp("<<") { v = v << (try parseAdditive() & 63) }
            else if matchOp(">>>") { v = UInt64(bitPattern: Int64(bitPattern: v) >> Int64(try parseAdditive() & 63)) }
            else if matchOp(">>") { v = v >> (try parseAdditive() & 63) }
            else { return v }
        }
    }

    private mutating func parseAdditive() throws -> UInt64 {
        var v = try parseMultiplicative()
        while true {
            if matchOp("+") { v = v &+ (try parseMultiplicative()) }
            else if matchOp("-") { v = v &- (try parseMultiplicative()) }
            else { return v }
        }
    }

    private mutating func parseMultiplicative() throws -> UInt64 {
        var v = try parseUnary()
        while true {
            if matchOp("*") { v = v &* (try parseUnary()) }
            else if matchOp("/") {
                let d = try parseUnary()
                guard d != 0 else { throw CommandError("Divide by zero error at '\(remainder)'") }
                v /= d
            } else if matchWord("mod") || matchOp("%") {
                let d = try parseUnary()
                guard d != 0 else { throw CommandError("Divide by zero error at '\(remainder)'") }
                v %= d
            } else { return v }
        }
    }

    private mutating func parseUnary() throws -> UInt64 {
        depth += 1
        defer { depth -= 1 }
        guard depth <= Self.maximumDepth else {
            throw CommandError("Expression too complex: more than \(Self.maximumDepth) nested levels at '\(String(remainder.prefix(20)))'")
        }
        skipSpaces()
        if matchOp("-") { return 0 &- (try parseUnary()) }
        if matchOp("+") { return try parseUnary() }
        if matchWord("not") { return (try parseUnary()) == 0 ? 1 : 0 }
        if matchOp("~") { return ~(try parseUnary()) }
        return try parsePrimary()
    }

    private mutating func parsePrimary() throws -> UInt64 {
        skipSpaces()
        guard position < text.count else { throw CommandError.syntax(String(text), column: position) }
        let c = text[position]
        if c == "(" {
            position += 1
            let v = try parseOr()
            guard matchOp(")") else { throw CommandError("Missing ')' at '\(remainder)'") }
            return v
        }
        if c == "@" {
            position += 1
            let name = readIdentifier(allowDollar: true)
            guard !name.isEmpty else { throw CommandError.syntax(String(text), column: position) }
            guard let v = env.register(name.lowercased()) else { throw CommandError("Bad register error at '@\(name)'") }
            return v
        }
        // `.` alone is the current address, as in `u .` and `bp .` (MASM's $ip).
        if c == ".", position + 1 >= text.count || !(text[position + 1].isLetter || text[position + 1].isNumber) {
            position += 1
            guard let v = env.register("$ip") else { throw CommandError("Bad register error at '.'") }
            return v
        }
        if c == "$" {
            let name = readIdentifier(allowDollar: true)
            guard let v = env.register(name.lowercased()) else { throw CommandError("Bad register error at '\(name)'") }
            return v
        }
        // A function like poi( ... ).
        let save = position
        let word = readIdentifier(allowDollar: false)
        if !word.isEmpty {
            skipSpaces()
            if position < text.count, text[position] == "(" {
                let reader: ((UInt64) -> UInt64?)?
                switch word.lowercased() {
                case "poi": reader = env.readPointer
                case "qwo": reader = env.readU64
                case "dwo": let r = env.readU32; reader = { a in r(a).map(UInt64.init) }
                case "wo": let r = env.readU16; reader = { a in r(a).map(UInt64.init) }
                case "by": let r = env.readU8; reader = { a in r(a).map(UInt64.init) }
                case "hi": reader = nil
                case "low": reader = nil
                default: throw CommandError("Couldn't resolve error at '\(word)(\(remainder)'")
                }
                position += 1
                let arg = try parseOr()
                guard matchOp(")") else { throw CommandError("Missing ')' at '\(remainder)'") }
                if word.lowercased() == "hi" { return (arg >> 16) & 0xFFFF }
                if word.lowercased() == "low" { return arg & 0xFFFF }
                guard let v = reader!(arg) else { throw CommandError("Memory access error at ')'") }
                return v
            }
            position = save
        }
        // A number, or a name that is not one (module, register).
        let token = readToken()
        guard !token.isEmpty else { throw CommandError.syntax(String(text), column: position) }
        if let v = Self.number(token) { return v }
        if let v = env.symbol(token) { return v }
        if let v = env.register(token.lowercased()) { return v }
        throw CommandError("Couldn't resolve error at '\(token)'")
    }

    /// Parses a MASM number: hex by default, radix prefixes, backticks ignored, optional `h` suffix.
    public static func number(_ token: String) -> UInt64? {
        var t = token.replacingOccurrences(of: "`", with: "").lowercased()
        var radix = 16
        if t.hasPrefix("0x") { t.removeFirst(2) }
        else if t.hasPrefix("0n") { radix = 10; t.removeFirst(2) }
        else if t.hasPrefix("0t") { radix = 8; t.removeFirst(2) }
        else if t.hasPrefix("0y") { radix = 2; t.removeFirst(2) }
        else if t.hasSuffix("h"), t.count > 1, UInt64(t.dropLast(), radix: 16) != nil { t.removeLast() }
        guard !t.isEmpty else { return nil }
        return UInt64(t, radix: radix)
    }

    // MARK: - Lexing

    private mutating func skipSpaces() {
        while position < text.count, text[position] == " " || text[position] == "\t" { position += 1 }
    }

    private func peek(_ op: String) -> Bool {
        var p = position
        while p < text.count, text[p] == " " || text[p] == "\t" { p += 1 }
        let chars = Array(op)
        guard p + chars.count <= text.count else { return false }
        return Array(text[p..<(p + chars.count)]) == chars
    }

    private mutating func matchOp(_ op: String) -> Bool {
        let save = position
        skipSpaces()
        let chars = Array(op)
        if position + chars.count <= text.count, Array(text[position..<(position + chars.count)]) == chars {
            position += chars.count
            return true
        }
        position = save
        return false
    }

    /// Matches a word operator (`and`, `mod`) only when a space or '(' follows it.
    private mutating func matchWord(_ word: String) -> Bool {
        let save = position
        skipSpaces()
        let chars = Array(word)
        if position + chars.count < text.count,
           Array(text[position..<(position + chars.count)]).map({ Character($0.lowercased()) }) == chars,
           text[position + chars.count] == " " || text[position + chars.count] == "(" {
            position += chars.count
            return true
        }
        position = save
        return false
    }

    private mutating func readIdentifier(allowDollar: Bool) -> String {
        var s = ""
        while position < text.count {
            let c = text[position]
            if c.isLetter || c.isNumber || c == "_" || (allowDollar && c == "$") { s.append(c); position += 1 } else { break }
        }
        return s
    }

    /// A number or name: letters, digits, '_', '`', '!', '.', '$'.
    private mutating func readToken() -> String {
        var s = ""
        while position < text.count {
            let c = text[position]
            if c.isLetter || c.isNumber || c == "_" || c == "`" || c == "!" || c == "." || c == "$" { s.append(c); position += 1 } else { break }
        }
        return s
    }
}

extension Session {
    /// The evaluator's view of this session: registers of the current context, module names, memory.
    public var expressionEnvironment: ExpressionEvaluator.Environment {
        ExpressionEvaluator.Environment(
            register: { [unowned self] name in self.registerValue(name) },
            symbol: { [unowned self] name in
                // `module!function` is the function's address; a bare name is a module's base.
                if let bang = name.firstIndex(of: "!") {
                    guard let m = self.namer.module(named: String(name[..<bang])) else { return nil }
                    return self.nativeModules.address(of: String(name[name.index(after: bang)...]), in: m)
                }
                return self.namer.module(named: name)?.base
            },
            readPointer: { [unowned self] a in self.memory.readPointer(a) },
            readU8: { [unowned self] a in self.memory.readU8(a) },
            readU16: { [unowned self] a in self.memory.readU16(a) },
            readU32: { [unowned self] a in self.memory.readU32(a) },
            readU64: { [unowned self] a in self.memory.readU64(a) })
    }

    /// Registers, their 32/16/8-bit x86 views, and the pseudo-registers WinDbg defines.
    public func registerValue(_ name: String) -> UInt64? {
        let n = name.lowercased()
        let ctx = context
        switch n {
        case "$ip": return ctx?.instructionPointer
        case "$csp": return ctx?.stackPointer
        case "$teb": return thread.map { $0.teb }
        case "$peb": return thread.flatMap { t in
            t.teb == 0 ? nil : ThreadEnvironmentBlock.pebAddress(memory: memory, teb: t.teb) }
        case "$tid": return thread?.id
        case "$tpid": return dump.processId
        case "$ptrsize": return UInt64(pointerSize)
        case "$exentry": return ProcessEntryPoint.address(in: dump)
        case "$ra":
            // The return address of the current frame: frame 1's instruction pointer.
            guard let frames = StackCommand.walk(of: currentThread, context: ctx, limit: 2, in: self)?.frames else { return nil }
            return frames.count > 1 ? frames[1].instructionPointer : nil
        default: break
        }
        if n.hasPrefix("$t"), let i = Int(n.dropFirst(2)), (0..<20).contains(i) { return pseudoRegisters[i] }
        guard let ctx else { return nil }
        if let v = ctx[n] { return v }
        if n == "efl" || n == "eflags" || n == "rflags" { return ctx["efl"] }
        if ctx.architecture == .amd64 || ctx.architecture == .x32 {
            // eax/ax/al views of the 64-bit registers.
            let map: [String: (String, UInt64, UInt64)] = [
                "eax": ("rax", 0, 0xFFFF_FFFF), "ebx": ("rbx", 0, 0xFFFF_FFFF), "ecx": ("rcx", 0, 0xFFFF_FFFF),
                "edx": ("rdx", 0, 0xFFFF_FFFF), "esi": ("rsi", 0, 0xFFFF_FFFF), "edi": ("rdi", 0, 0xFFFF_FFFF),
                "esp": ("rsp", 0, 0xFFFF_FFFF), "ebp": ("rbp", 0, 0xFFFF_FFFF), "eip": ("rip", 0, 0xFFFF_FFFF),
                "ax": ("rax", 0, 0xFFFF), "bx": ("rbx", 0, 0xFFFF), "cx": ("rcx", 0, 0xFFFF), "dx": ("rdx", 0, 0xFFFF),
                "al": ("rax", 0, 0xFF), "bl": ("rbx", 0, 0xFF), "cl": ("rcx", 0, 0xFF), "dl": ("rdx", 0, 0xFF),
                "ah": ("rax", 8, 0xFF), "bh": ("rbx", 8, 0xFF), "ch": ("rcx", 8, 0xFF), "dh": ("rdx", 8, 0xFF),
            ]
            if let (full, shift, mask) = map[n], let v = ctx[full] { return (v >> shift) & mask }
            if n.hasPrefix("r"), n.hasSuffix("d"), let v = ctx[String(n.dropLast())] { return v & 0xFFFF_FFFF }
        }
        return nil
    }
}
