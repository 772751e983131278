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
        for raw in body.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" }) {
            // After Ctrl-C the interrupted command has said so; the script just stops.
            if s.quitRequested || interruptRequested.load(ordering: .relaxed) { return }
            let line = raw.trimmed(" \t\r")
            if line.isEmpty { continue }
            if echo && s.outputFormat == .text { s.output.line(s.prompt + line) }
            s.execute(line: line)
        }
    }
}
