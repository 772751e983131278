import DumpModel
import Foundation

/// `as`, `aS`: define an alias, expanded as `${Name}` when a later command runs.
struct SetAliasCommand: DebuggerCommand {
    let names = ["as"]
    let summary = "define an alias: as Name text, as /x Name expr, as /c Name command, as /ma Name address"
    let help = """
    as Name TEXT        the alias's text is the rest of the line (aS: up to the next ';').
    as /x Name EXPR     the expression's value, as 0x... hex.
    as /ma Name ADDR    the ASCII string at ADDR (/mu: UTF-16).
    as /c Name COMMAND  the command's output, its lines joined by spaces.
    as /f Name FILE     the file's text.
    ${Name} expands to the text in every later command; ${/v:Name} is the name itself, ${/d:Name} 1 or 0 as it is
    defined, ${/f:Name} the text or nothing. ad Name removes one (ad * all); al lists them.
    Example: as /x Base @$ip
    """
    var acceptsGluedOptions: Bool { false }

    func run(_ inv: Invocation, in s: Session) throws {
        var rest = Substring(inv.arguments.trimmed(" \t"))
        var option: String?
        if rest.hasPrefix("/") {
            let word = rest.prefix { !$0.isWhitespace }
            option = String(word)
            rest = rest.dropFirst(word.count).drop { $0 == " " || $0 == "\t" }
        }
        let name = String(rest.prefix { !$0.isWhitespace })
        guard !name.isEmpty else { throw CommandError("Usage: as [/x|/ma|/mu|/c|/f] Name text", kind: .usage) }
        let text = String(rest.dropFirst(name.count).drop { $0 == " " || $0 == "\t" })
        let value: String
        switch option {
        case nil: value = text
        case "/x"?: value = "0x" + String(try ExpressionEvaluator.evaluate(text, environment: s.expressionEnvironment), radix: 16)
        case "/ma"?, "/mu"?:
            let a = try ExpressionEvaluator.evaluate(text, environment: s.expressionEnvironment)
            guard let str = option == "/ma" ? s.memory.readCString(a, limit: 4096) : PrintfCommand.utf16String(at: a, s) else {
                throw CommandError("Memory access error at \(s.address(a))")
            }
            value = str
        case "/c"?:
            let saved = s.outputFormat
            s.outputFormat = .text
            defer { s.outputFormat = saved }
            value = s.output.capture { s.execute(line: text) }.1.split(whereSeparator: { $0 == "\n" }).joined(separator: " ")
        case "/f"?:
            guard let t = try? String(contentsOfFile: text, encoding: .utf8) else { throw CommandError("Couldn't open '\(text)'") }
            value = t
        default: throw CommandError("Unknown option '\(option!)'. Usage: as [/x|/ma|/mu|/c|/f] Name text", kind: .usage)
        }
        s.aliases[name] = value
    }
}

/// `ad Name` / `ad *`: remove aliases.
struct DeleteAliasCommand: DebuggerCommand {
    let names = ["ad"]
    let summary = "remove an alias (ad Name; ad * removes all)"
    let help = "ad [/q] Name | *   removes the alias Name, or every alias.\nExample: ad *"
    func run(_ inv: Invocation, in s: Session) throws {
        var words = inv.words
        let quiet = words.first == "/q"
        if quiet { words.removeFirst() }
        guard words.count == 1 else { throw CommandError("Usage: ad [/q] Name | *", kind: .usage) }
        if words[0] == "*" { s.aliases = [:]; return }
        if s.aliases.removeValue(forKey: words[0]) == nil && !quiet { throw CommandError("No alias \(words[0]) found") }
    }
}

/// `al`: list aliases.
struct ListAliasesCommand: DebuggerCommand {
    let names = ["al"]
    let summary = "list the aliases"
    let help = "al            lists every alias with its text.\nExample: al"
    func run(_ inv: Invocation, in s: Session) throws {
        guard !s.aliases.isEmpty else { s.output.line("No aliases"); return }
        s.output.line("  Alias            Value  ")
        s.output.line(" -------          ------- ")
        for (k, v) in s.aliases.sorted(by: { $0.key < $1.key }) { s.output.line(" \(k.rightPad(16)) \(v)") }
    }
}

/// `.printf "format", args`: WinDbg's formatted output.
struct PrintfCommand: DebuggerCommand {
    let names = [".printf"]
    let summary = "formatted output (.printf \"%p %d %x %s %ma %mu %y\\n\", args)"
    let help = """
    .printf "FORMAT", ARG, ...   %p a pointer, %N a pointer without the backtick, %x %d %u hex, signed and unsigned
                                 decimal (%I64x... and %lx accepted), %s a quoted argument, %ma / %mu the ASCII /
                                 UTF-16 string at an address, %y the symbol of an address, %% a percent sign.
                                 \\n, \\t and \\" work in the format. Arguments are MASM expressions.
    Example: .printf "rip is %p (%y)\\n", @rip, @rip
    """
    func run(_ inv: Invocation, in s: Session) throws {
        let text = inv.arguments.trimmed(" \t")
        guard text.hasPrefix("\"") else { throw CommandError("Usage: .printf \"format\", args", kind: .usage) }
        // The format runs to the closing quote (\" escapes one).
        var format = "", i = text.index(after: text.startIndex), closed = false
        while i < text.endIndex {
            let c = text[i]
            if c == "\\", text.index(after: i) < text.endIndex {
                let n = text[text.index(after: i)]
                format += n == "n" ? "\n" : n == "t" ? "\t" : String(n)
                i = text.index(i, offsetBy: 2)
                continue
            }
            if c == "\"" { closed = true; i = text.index(after: i); break }
            format.append(c)
            i = text.index(after: i)
        }
        guard closed else { throw CommandError("Missing '\"' in .printf's format", kind: .syntax) }
        var args = ScriptParser.splitTopLevel(String(text[i...]), at: ",")
        if args.first == "" { args.removeFirst() }
        var out = "", f = Substring(format), next = 0
        func arg() throws -> String {
            guard next < args.count else { throw CommandError(".printf: the format needs more arguments than the \(args.count) given", kind: .usage) }
            defer { next += 1 }
            return args[next]
        }
        func number() throws -> UInt64 { try ExpressionEvaluator.evaluate(try arg(), environment: s.expressionEnvironment) }
        while let c = f.first {
            f = f.dropFirst()
            guard c == "%" else { out.append(c); continue }
            // Size prefixes change nothing here: values are 64-bit.
            for p in ["I64", "ll", "l", "h"] where f.hasPrefix(p) { f = f.dropFirst(p.count); break }
            guard let k = f.first else { out.append("%"); break }
            f = f.dropFirst()
            switch k {
            case "%": out.append("%")
            case "p": out += s.address(try number())
            case "N": out += Hex.pad(try number(), s.pointerSize * 2)
            case "x", "X": out += String(try number(), radix: 16, uppercase: k == "X")
            case "d", "i": out += String(Int64(bitPattern: try number()))
            case "u": out += String(try number())
            case "c": out.append(Character(Unicode.Scalar(UInt8(truncatingIfNeeded: try number()))))
            case "s":
                let a = try arg()
                out += a.hasPrefix("\"") && a.hasSuffix("\"") && a.count >= 2 ? String(a.dropFirst().dropLast()) : a
            case "y":
                let a = try number()
                out += s.symbolicName(a) ?? s.address(a)
            case "m":
                guard let kind = f.first, kind == "a" || kind == "u" else { throw CommandError(".printf: %m needs a or u", kind: .syntax) }
                f = f.dropFirst()
                let a = try number()
                guard let str = kind == "a" ? s.memory.readCString(a, limit: 4096) : Self.utf16String(at: a, s) else {
                    throw CommandError("Memory access error at \(s.address(a))")
                }
                out += str
            default: throw CommandError(".printf: unknown format %\(k)", kind: .syntax)
            }
        }
        // WinDbg prints exactly the text: lines end where the format says.
        s.output.write(out)
    }

    /// A NUL-terminated UTF-16 string at an address (at most 4096 characters).
    static func utf16String(at a: UInt64, _ s: Session) -> String? {
        var units: [UInt16] = []
        while units.count < 4096 {
            guard let u = s.memory.readU16(a &+ UInt64(units.count * 2)) else { return units.isEmpty ? nil : String(decodingUTF16: units) }
            if u == 0 { break }
            units.append(u)
        }
        return String(decodingUTF16: units)
    }
}
