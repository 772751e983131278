import Foundation

/// `$<`, `$$<`, `$><`, `$$><`, `$$>a<`: run commands from a file, as WinDbg does.
/// `$<`/`$$<` echo each command with the prompt; `$><`/`$$><` run the file as one block without echo;
/// `$$>a<FILE ARGS` also replaces `${$arg1}`... with the arguments.
struct ScriptCommand: DebuggerCommand {
    let names = ["$<", "$$<", "$><", "$$><", "$$>a<"]
    let summary = "run commands from a script file"
    let help = """
    $<FILE        runs each line of FILE, echoing it.   $><FILE   runs FILE condensed (no echo).
    $$>a<FILE A1 A2   runs FILE with ${$arg1}, ${$arg2} replaced; ${$arg0} is the file name.
    $$ starts a comment (up to the next ';').
    Example: $$><triage.txt
    """
    static let maxDepth = 16

    func run(_ inv: Invocation, in s: Session) throws {
        var args: [String] = []
        var pathText = inv.arguments.trimmed(" ")
        if inv.name == "$$>a<" {
            let words = Invocation(name: inv.name, arguments: pathText).words
            guard let first = words.first else { throw CommandError("Usage: $$>a<FILE [ARGS]") }
            pathText = first
            args = Array(words.dropFirst())
        } else if pathText.hasPrefix("\""), pathText.hasSuffix("\""), pathText.count >= 2 {
            pathText = String(pathText.dropFirst().dropLast())
        }
        guard !pathText.isEmpty else { throw CommandError("Usage: \(inv.name)FILE") }
        guard let data = FileManager.default.contents(atPath: pathText), let text = String(data: data, encoding: .utf8) else {
            throw CommandError("Couldn't open script file '\(pathText)'")
        }
        guard s.scriptDepth < Self.maxDepth else { throw CommandError("Script nesting is deeper than \(Self.maxDepth): stopped at '\(pathText)'") }
        s.scriptDepth += 1
        defer { s.scriptDepth -= 1 }
        var body = text
        if inv.name == "$$>a<" {
            body = body.replacingOccurrences(of: "${$arg0}", with: pathText)
            for (i, a) in args.enumerated() { body = body.replacingOccurrences(of: "${$arg\(i + 1)}", with: a) }
            body = body.replacingOccurrences(of: "${$argc}", with: String(args.count))
        }
        let echo = inv.name == "$<" || inv.name == "$$<"
        let saved = (s.scriptFile, s.scriptLine)
        s.scriptFile = pathText
        defer { (s.scriptFile, s.scriptLine) = saved }
        guard echo else {
            // Condensed: the whole file is one block, so a .if or .for may span lines.
            s.execute(text: body, firstLine: 1)
            return
        }
        // Echoed line by line; a line that opens a block runs together with the lines that close it.
        var piece: [Substring] = [], pieceStart = 1, depth = 0
        for (n, raw) in body.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" }).enumerated() {
            // After Ctrl-C the interrupted command has said so; the script just stops.
            if s.quitRequested || interruptRequested.load(ordering: .relaxed) { return }
            let line = raw.trimmed(" \t\r")
            if line.isEmpty && piece.isEmpty { continue }
            if piece.isEmpty { pieceStart = n + 1 }
            piece.append(Substring(line))
            depth += Self.braceBalance(line)
            guard depth <= 0 else { continue }
            if s.outputFormat == .text { for l in piece where !l.isEmpty { s.output.line(s.prompt + l) } }
            s.execute(text: piece.joined(separator: "\n"), firstLine: pieceStart)
            piece = []
            depth = 0
        }
        if !piece.isEmpty { s.execute(text: piece.joined(separator: "\n"), firstLine: pieceStart) }
    }

    /// Opening minus closing braces outside quotes.
    static func braceBalance<S: StringProtocol>(_ line: S) -> Int {
        var n = 0, quoted = false
        for c in line {
            if c == "\"" { quoted.toggle() } else if !quoted { if c == "{" { n += 1 } else if c == "}" { n -= 1 } }
        }
        return n
    }
}
