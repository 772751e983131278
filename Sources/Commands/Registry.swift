import DumpModel

/// One debugger command: its names, help, and how it runs. Commands read the dump through the session's
/// resolvers and write text to its output; they never parse raw dump bytes.
public protocol DebuggerCommand: Sendable {
    /// Every name it answers to (`db`, `dw`, ...); the first is the one help lists.
    var names: [String] { get }
    var summary: String { get }
    /// Usage and an example, shown by `.help NAME`.
    var help: String { get }
    /// `!` commands of an extension that must be loaded first (`sos`); nil for built-ins.
    var extensionName: String? { get }
    /// True when options may be glued to the name, as in `lmvm ntdll` or `~3s`.
    var acceptsGluedOptions: Bool { get }
    func run(_ invocation: Invocation, in session: Session) throws
}

extension DebuggerCommand {
    public var extensionName: String? { nil }
    public var acceptsGluedOptions: Bool { false }
}

/// How a command was called: the name typed and everything after it.
public struct Invocation: Sendable {
    public let name: String
    public let arguments: String

    /// Whitespace-separated words of the arguments, quotes kept together.
    public var words: [String] {
        var out: [String] = []
        var cur = ""
        var quoted = false
        for c in arguments {
            if c == "\"" { quoted.toggle(); continue }
            if (c == " " || c == "\t") && !quoted {
                if !cur.isEmpty { out.append(cur); cur = "" }
            } else {
                cur.append(c)
            }
        }
        if !cur.isEmpty { out.append(cur) }
        return out
    }
}

public final class CommandRegistry: @unchecked Sendable {
    // @unchecked: filled once at start-up, then only read.
    public private(set) var commands: [any DebuggerCommand] = []
    private var byName: [String: Int] = [:]
    private var maxNameLength = 0
    /// Extensions loaded with `.load`/`.loadby` (SOS); their `!` commands answer only after that.
    public var loadedExtensions: Set<String> = []

    public init() {}

    public func register(_ command: any DebuggerCommand) {
        commands.append(command)
        for n in command.names {
            byName[n.lowercased()] = commands.count - 1
            maxNameLength = max(maxNameLength, n.count)
        }
    }

    public func command(named name: String) -> (any DebuggerCommand)? {
        byName[name.lowercased()].map { commands[$0] }
    }

    /// Names for Tab completion.
    public var allNames: [String] { commands.flatMap(\.names).sorted() }

    /// Finds the command a text names and runs it.
    public func dispatch(_ text: String, in session: Session) throws {
        let (name, args) = try resolve(text)
        guard let cmd = command(named: name) else {
            let hint = Suggestions.unknown(name, known: allNames)
            if name.hasPrefix("!") {
                throw CommandError("No export \(name.dropFirst()) found" + (hint.map { " (\($0))" } ?? ""), kind: .unavailable)
            }
            guard let hint else { throw CommandError.syntax(text) }
            let e = CommandError.syntax(text)
            throw CommandError(e.message + " (\(hint))", kind: .syntax)
        }
        if let ext = cmd.extensionName, !loadedExtensions.contains(ext) {
            throw CommandError("No export \(name.dropFirst()) found (an SOS command: .loadby sos clr loads SOS)", kind: .unavailable)
        }
        try cmd.run(Invocation(name: name, arguments: args), in: session)
        if session.hintsEnabled, session.outputFormat == .text, session.scriptFile == nil,
           let hint = Hints.after(cmd.names[0], arguments: args), session.hintsShown.insert(hint.key).inserted {
            session.output.line("Hint: \(hint.text)  (.hints off hides these)")
        }
    }

    /// Splits `text` into a registered command name and its arguments, following WinDbg's rules.
    func resolve(_ text: String) throws -> (String, String) {
        let t = Substring(text)
        func rest(_ n: Int) -> String { String(t.dropFirst(n)).trimmed(" \t") }
        for special in ["$$>a<", "$$><", "$><", "$$<", "$<", "||", "|", "~", "?"] where t.hasPrefix(special) {
            return (special, rest(special.count))
        }
        if let first = t.first, first == "." || first == "!" {
            let word = t.dropFirst().prefix { $0.isLetter || $0.isNumber || $0 == "_" || (first == "!" && $0 == ".") }
            var name = String(first) + word
            // `!sos.dumpheap` names the extension explicitly.
            if first == "!", let dot = name.lastIndex(of: ".") { name = "!" + name[name.index(after: dot)...] }
            return (name, rest(1 + word.count))
        }
        let word = String(t.prefix { $0.isLetter || $0.isNumber })
        guard !word.isEmpty else { throw CommandError.syntax(text) }
        if command(named: word) != nil { return (word, rest(word.count)) }
        // Glued options: `lmvm foo` is `lm` with `vm foo`; try the longest registered prefix. No name is
        // longer than a few letters, so a long unknown word costs nothing here.
        for n in stride(from: min(word.count - 1, maxNameLength), through: 1, by: -1) {
            let head = String(word.prefix(n))
            if let c = command(named: head), c.acceptsGluedOptions {
                return (head, String(t.dropFirst(n)).trimmed(" \t"))
            }
        }
        return (word, rest(word.count))
    }

    /// Every built-in command and every extension command dumpdbg knows.
    public static func standard() -> CommandRegistry {
        let r = CommandRegistry()
        for c in builtInCommands { r.register(c) }
        return r
    }
}
