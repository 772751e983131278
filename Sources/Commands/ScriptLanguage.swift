import Foundation

/// One statement of WinDbg's command language: a command, or a control-flow token with its parts. Bodies
/// stay text and are parsed when they run, so aliases and `.foreach` variables expand on every pass.
enum ScriptStatement {
    case command(String, line: Int)
    /// `.if (c) { } .elsif (c) { } .else { }`: conditions (nil for `.else`) with their bodies.
    case conditional([(condition: String?, body: String)], line: Int)
    case forLoop(initial: String, condition: String, step: String, body: String, line: Int)
    case whileLoop(condition: String, body: String, line: Int)
    case doLoop(body: String, condition: String, line: Int)
    /// `.foreach [/pS n] [/ps n] [/s] [/f] (variable { command | "string" | "file" }) { body }`.
    case foreach(options: ForeachOptions, variable: String, source: String, body: String, line: Int)
    case block(String, line: Int)
    case catchBlock(String, line: Int)
    case breakLoop, continueLoop, leave
}

struct ForeachOptions: Equatable {
    enum Source: Equatable { case command, string, file }
    var source: Source = .command
    /// `/pS n`: tokens skipped before the first one used; `/ps n`: tokens skipped after each one used.
    var initialSkip = 0
    var skip = 0
}

/// A script error with where it happened.
struct ScriptSyntaxError: Error {
    let message: String
    let line: Int
}

/// Splits command text into statements: `;` and line ends separate commands outside quotes, parentheses and
/// braces; `$$` comments run to the next `;` or line end; `~* e`, the script commands and the path commands own
/// the rest of their line. Linear in the text's length.
enum ScriptParser {
    static let keywords: Set<String> = ["if", "elsif", "else", "for", "while", "do", "foreach", "block", "catch", "break", "continue", "leave"]

    static func parse(_ text: String, firstLine: Int = 1) throws(ScriptSyntaxError) -> [ScriptStatement] {
        var p = Cursor(Array(text))
        p.line = firstLine
        var out: [ScriptStatement] = []
        while true {
            p.skipSeparators()
            guard !p.atEnd else { break }
            let line = p.line
            if p.hasPrefix("$$"), !CommandLineSplitter.isScriptCommand(p.rest(8)) {
                p.skipPast { $0 == ";" || $0 == "\n" }
                continue
            }
            if let word = p.keyword(), keywords.contains(word.lowercased()) {
                out.append(try statement(word.lowercased(), &p, line: line))
                continue
            }
            if CommandLineSplitter.ownsRestOfLine(Substring(p.rest(64))) {
                out.append(.command(p.takeLine().trimmed(" \t\r"), line: line))
                continue
            }
            let text = try p.takeCommand()
            if !text.isEmpty { out.append(.command(text, line: line)) }
        }
        return out
    }

    private static func statement(_ word: String, _ p: inout Cursor, line: Int) throws(ScriptSyntaxError) -> ScriptStatement {
        switch word {
        case "if":
            var arms = [(condition: String?, body: String)]()
            arms.append((try p.group("(", ")", word), try p.group("{", "}", word)))
            while true {
                let save = p
                p.skipBlanks()
                guard let next = p.keyword()?.lowercased(), next == "elsif" || next == "else" else { p = save; break }
                if next == "elsif" { arms.append((try p.group("(", ")", next), try p.group("{", "}", next))) } else {
                    arms.append((nil, try p.group("{", "}", next)))
                    break
                }
            }
            return .conditional(arms, line: line)
        case "elsif", "else":
            throw ScriptSyntaxError(message: ".\(word) without .if", line: line)
        case "for":
            let head = try p.group("(", ")", word)
            let parts = splitTopLevel(head, at: ";")
            guard parts.count == 3 else { throw ScriptSyntaxError(message: ".for needs (initial; condition; step)", line: line) }
            return .forLoop(initial: parts[0], condition: parts[1], step: parts[2], body: try p.group("{", "}", word), line: line)
        case "while":
            return .whileLoop(condition: try p.group("(", ")", word), body: try p.group("{", "}", word), line: line)
        case "do":
            let body = try p.group("{", "}", word)
            return .doLoop(body: body, condition: try p.group("(", ")", word), line: line)
        case "foreach":
            var options = ForeachOptions()
            while true {
                p.skipBlanks()
                guard p.peek == "/" else { break }
                let flag = p.takeWord()
                switch flag {
                case "/s": options.source = .string
                case "/f": options.source = .file
                case "/pS", "/ps":
                    let n = Int(p.takeWord()) ?? -1
                    guard n >= 0 else { throw ScriptSyntaxError(message: ".foreach \(flag) needs a number", line: line) }
                    if flag == "/pS" { options.initialSkip = n } else { options.skip = n }
                default: throw ScriptSyntaxError(message: "Unknown .foreach option '\(flag)'", line: line)
                }
            }
            let head = try p.group("(", ")", word).trimmed(" \t\r\n")
            let variable = String(head.prefix { !$0.isWhitespace && $0 != "{" && $0 != "\"" })
            guard !variable.isEmpty else { throw ScriptSyntaxError(message: ".foreach needs (variable { command })", line: line) }
            var inner = Cursor(Array(head.dropFirst(variable.count)))
            inner.skipBlanks()
            let source: String
            if options.source == .command {
                source = try inner.group("{", "}", "foreach")
            } else {
                guard inner.peek == "\"" else { throw ScriptSyntaxError(message: ".foreach /s and /f need a quoted string", line: line) }
                source = inner.takeQuoted()
            }
            return .foreach(options: options, variable: variable, source: source, body: try p.group("{", "}", word), line: line)
        case "block": return .block(try p.group("{", "}", word), line: line)
        case "catch": return .catchBlock(try p.group("{", "}", word), line: line)
        case "break": return .breakLoop
        case "continue": return .continueLoop
        default: return .leave
        }
    }

    /// Splits at a separator outside quotes, parentheses and braces.
    static func splitTopLevel(_ text: String, at separator: Character) -> [String] {
        var parts: [String] = [], cur = "", depth = 0, quoted = false
        for c in text {
            if c == "\"" { quoted.toggle() }
            if !quoted { if c == "(" || c == "{" { depth += 1 } else if c == ")" || c == "}" { depth -= 1 } }
            if c == separator && depth == 0 && !quoted { parts.append(cur.trimmed(" \t\r\n")); cur = "" } else { cur.append(c) }
        }
        parts.append(cur.trimmed(" \t\r\n"))
        return parts
    }

    struct Cursor {
        let chars: [Character]
        var i = 0
        var line = 1
        init(_ chars: [Character]) { self.chars = chars }

        var atEnd: Bool { i >= chars.count }
        var peek: Character? { i < chars.count ? chars[i] : nil }
        func rest(_ n: Int) -> String { text(i..<min(chars.count, i + n)) }
        /// The characters in `range`, appended one at a time: `String(chars[range])` is reached through the standard
        /// library's generic entry point, and its first use in a process scans every conformance
        /// record in the binary (a sixth of a millisecond of every `-c` run, measured with perf).
        func text(_ range: Range<Int>) -> String {
            var s = ""
            for k in range { s.append(chars[k]) }
            return s
        }
        func hasPrefix(_ s: String) -> Bool { rest(s.count) == s }

        mutating func advance() {
            if chars[i] == "\n" { line += 1 }
            i += 1
        }
        mutating func skipSeparators() { while let c = peek, c == " " || c == "\t" || c == "\r" || c == "\n" || c == ";" { advance() } }
        mutating func skipBlanks() { while let c = peek, c == " " || c == "\t" || c == "\r" || c == "\n" { advance() } }
        mutating func skipPast(_ stop: (Character) -> Bool) { while let c = peek { advance(); if stop(c) { break } } }

        /// `.word` at the cursor (consumed), or nil (nothing consumed).
        mutating func keyword() -> String? {
            guard peek == "." else { return nil }
            var j = i + 1
            while j < chars.count, chars[j].isLetter { j += 1 }
            let word = text((i + 1)..<j)
            guard ScriptParser.keywords.contains(word.lowercased()) else { return nil }
            // `.if(` and `.if (` both start a statement; `.iffy` is another command.
            if j < chars.count, chars[j].isLetter || chars[j].isNumber { return nil }
            while i < j { advance() }
            return word
        }

        mutating func takeWord() -> String {
            skipBlanks()
            var s = ""
            while let c = peek, !c.isWhitespace, c != "(" { s.append(c); advance() }
            return s
        }

        mutating func takeLine() -> String {
            var s = ""
            while let c = peek, c != "\n" { s.append(c); advance() }
            return s
        }

        mutating func takeQuoted() -> String {
            advance()
            var s = ""
            while let c = peek, c != "\"" { s.append(c); advance() }
            if !atEnd { advance() }
            return s
        }

        /// A command up to `;` or a line end, outside quotes, parentheses and braces.
        mutating func takeCommand() throws(ScriptSyntaxError) -> String {
            var s = "", depth = 0, quoted = false
            let start = line
            while let c = peek {
                if c == "\"" { quoted.toggle() }
                if !quoted {
                    if c == "{" || c == "(" { depth += 1 } else if c == "}" || c == ")" { depth -= 1 }
                    if depth <= 0 && (c == ";" || c == "\n") { break }
                }
                s.append(c)
                advance()
            }
            if depth > 0 { throw ScriptSyntaxError(message: "Missing '}' or ')' in '\(s.prefix(80))'", line: start) }
            return s.trimmed(" \t\r")
        }

        /// The text between an opening and its matching closing character (quotes respected), both consumed.
        mutating func group(_ open: Character, _ close: Character, _ owner: String) throws(ScriptSyntaxError) -> String {
            skipBlanks()
            guard peek == open else { throw ScriptSyntaxError(message: ".\(owner) expects '\(open)'", line: line) }
            let start = line
            advance()
            var s = "", depth = 1, quoted = false
            while let c = peek {
                if c == "\"" { quoted.toggle() }
                if !quoted { if c == open { depth += 1 } else if c == close { depth -= 1; if depth == 0 { advance(); return s } } }
                s.append(c)
                advance()
            }
            throw ScriptSyntaxError(message: "Missing '\(close)' for .\(owner)", line: start)
        }
    }
}

/// Loop and block control, thrown through the statements that contain them.
enum ScriptControl: Error { case breakLoop, continueLoop, leave, caught }

extension Session {
    /// The most iterations one loop may run: a runaway script ends with a message rather than never.
    static let maxLoopIterations = 10_000_000

    /// Runs statements; `.break`, `.continue` and `.leave` escape to the loop or `.catch` that handles them.
    func run(_ statements: [ScriptStatement]) throws {
        for st in statements {
            if quitRequested || interruptRequested.load(ordering: .relaxed) { return }
            switch st {
            case .command(let text, let line):
                scriptLine = line
                let before = failures
                run(expandAliases(text))
                // Inside .catch, a failing command ends the block (WinDbg's .catch), and the script goes on after it.
                if catchDepth > 0, failures > before { throw ScriptControl.caught }
            case .conditional(let arms, let line):
                for arm in arms {
                    if let c = arm.condition, try !condition(c, line: line) { continue }
                    try run(parsed(arm.body, line: line))
                    break
                }
            case .forLoop(let initial, let cond, let step, let body, let line):
                try run(parsed(initial, line: line))
                try loop(line: line, test: { try self.condition(cond, line: line) }, body: body, after: { try self.run(self.parsed(step, line: line)) })
            case .whileLoop(let cond, let body, let line):
                try loop(line: line, test: { try self.condition(cond, line: line) }, body: body, after: {})
            case .doLoop(let body, let cond, let line):
                var first = true
                try loop(line: line, test: { defer { first = false }; return try first || self.condition(cond, line: line) }, body: body, after: {})
            case .foreach(let options, let variable, let source, let body, let line):
                try foreach(options, variable, source, body, line: line)
            case .block(let body, let line):
                try run(parsed(body, line: line))
            case .catchBlock(let body, let line):
                catchDepth += 1
                let before = failures
                defer { catchDepth -= 1 }
                do { try run(parsed(body, line: line)) } catch ScriptControl.leave {} catch ScriptControl.caught {
                    // The error was printed; the .catch handled it, so the script has not failed.
                    failures = before
                }
            case .breakLoop: throw ScriptControl.breakLoop
            case .continueLoop: throw ScriptControl.continueLoop
            case .leave: throw ScriptControl.leave
            }
        }
    }

    private func loop(line: Int, test: () throws -> Bool, body: String, after: () throws -> Void) throws {
        var n = 0
        while try test() {
            try checkInterrupt()
            n += 1
            guard n <= Self.maxLoopIterations else { throw CommandError("Loop stopped after \(Self.maxLoopIterations) iterations") }
            do { try run(parsed(body, line: line)) } catch ScriptControl.breakLoop { return } catch ScriptControl.continueLoop {}
            if quitRequested || interruptRequested.load(ordering: .relaxed) { return }
            try after()
        }
    }

    private func foreach(_ o: ForeachOptions, _ variable: String, _ source: String, _ body: String, line: Int) throws {
        let text: String
        switch o.source {
        case .string: text = source
        case .file:
            guard let t = try? String(contentsOfFile: source, encoding: .utf8) else { throw CommandError("Couldn't open .foreach file '\(source)'") }
            text = t
        case .command:
            // The command's text output, whatever the session's output format.
            let saved = outputFormat
            outputFormat = .text
            defer { outputFormat = saved }
            text = output.capture { try? run(parsed(source, line: line)) }.1
        }
        var tokens = text.split(whereSeparator: { $0.isWhitespace }).map(String.init)
        tokens = Array(tokens.dropFirst(o.initialSkip))
        var i = 0, n = 0
        while i < tokens.count {
            try checkInterrupt()
            n += 1
            guard n <= Self.maxLoopIterations else { throw CommandError("Loop stopped after \(Self.maxLoopIterations) iterations") }
            do { try run(parsed(Self.replaceWord(variable, with: tokens[i], in: body), line: line)) }
            catch ScriptControl.breakLoop { return } catch ScriptControl.continueLoop {}
            if quitRequested || interruptRequested.load(ordering: .relaxed) { return }
            i += 1 + o.skip
        }
    }

    /// Replaces whole-word occurrences of `word` (the `.foreach` variable) in `text`.
    static func replaceWord(_ word: String, with value: String, in text: String) -> String {
        guard !word.isEmpty else { return text }
        var out = "", i = text.startIndex
        func isWordChar(_ c: Character) -> Bool { c.isLetter || c.isNumber || c == "_" || c == "$" }
        while i < text.endIndex {
            if text[i...].hasPrefix(word) {
                let end = text.index(i, offsetBy: word.count)
                let before = i == text.startIndex ? nil : text[text.index(before: i)]
                let after = end < text.endIndex ? text[end] : nil
                if !(before.map(isWordChar) ?? false), !(after.map(isWordChar) ?? false) {
                    out += value
                    i = end
                    continue
                }
            }
            out.append(text[i])
            i = text.index(after: i)
        }
        return out
    }

    /// A body's statements; its lines count from the line of the statement that holds it.
    private func parsed(_ text: String, line: Int) throws -> [ScriptStatement] {
        do { return try ScriptParser.parse(text, firstLine: line) } catch {
            scriptLine = error.line
            throw CommandError("Syntax error: \(error.message)", kind: .syntax)
        }
    }

    /// A MASM condition, with aliases expanded: true when non-zero.
    private func condition(_ text: String, line: Int) throws -> Bool {
        try ExpressionEvaluator.evaluate(expandAliases(text), environment: expressionEnvironment) != 0
    }

    /// `${Name}` is the alias's text; `${/v:Name}` the name itself; `${/d:Name}` 1 or 0 as it is defined;
    /// `${/f:Name}` the text, or nothing when undefined. Unknown names stay as typed (`${$arg1}` outside `$$>a<`).
    func expandAliases(_ text: String) -> String {
        let text = expandAliasTokens(text)
        guard text.contains("${") else { return text }
        var out = "", rest = Substring(text)
        while let open = rest.range(of: "${") {
            out += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].firstIndex(of: "}") else { out += rest[open.lowerBound...]; return out }
            let inner = String(rest[open.upperBound..<close])
            let whole = String(rest[open.lowerBound...close])
            if inner.hasPrefix("/v:") { out += String(inner.dropFirst(3)) }
            else if inner.hasPrefix("/d:") { out += aliases[String(inner.dropFirst(3))] == nil ? "0" : "1" }
            else if inner.hasPrefix("/f:") { out += aliases[String(inner.dropFirst(3))] ?? "" }
            else { out += aliases[inner] ?? whole }
            rest = rest[rest.index(after: close)...]
        }
        return out + rest
    }

    /// An alias named on its own, as a space-separated token of a command, is replaced by its text, as WinDbg
    /// does; not in the alias commands themselves (`as Name`, `ad Name`), whose words are names.
    func expandAliasTokens(_ text: String) -> String {
        guard !aliases.isEmpty else { return text }
        let trimmed = text.drop { $0 == " " || $0 == "\t" }
        let first = trimmed.prefix { $0 != " " && $0 != "\t" }.lowercased()
        if ["as", "as/c", "as/x", "as/ma", "as/mu", "as/f", "ad", "al", ".foreach"].contains(first) { return text }
        var out = "", token = ""
        func flush() {
            if !token.isEmpty { out += aliases[token] ?? token }
            token = ""
        }
        for ch in text {
            if ch == " " || ch == "\t" { flush(); out.append(ch) } else { token.append(ch) }
        }
        flush()
        return out
    }
}
