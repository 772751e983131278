import DumpModel

/// Splits a WinDbg input line into commands. `;` separates commands except inside quotes; `$$` starts a
/// comment that runs to the next `;`; `~* e ...` and the script commands (`$<`, `$$><`, ...) own the rest of
/// the line, semicolons included, as in WinDbg.
///
/// Linear in the line's length: whether a command owns the rest of the line depends only on how it
/// starts, so that is decided once per command, not once per character.
public enum CommandLineSplitter {
    public static func split(_ line: String) -> [String] {
        var out: [String] = []
        var rest = Substring(line)
        while true {
            rest = rest.drop { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" }
            guard !rest.isEmpty else { break }
            if rest.hasPrefix("$$"), !isScriptCommand(rest) {
                // A comment: skip to the next command.
                guard let semi = rest.firstIndex(of: ";") else { break }
                rest = rest[rest.index(after: semi)...]
                continue
            }
            if ownsRestOfLine(rest) {
                append(rest, to: &out)
                break
            }
            var inQuote = false
            var end = rest.endIndex
            var i = rest.startIndex
            while i < rest.endIndex {
                let c = rest[i]
                if c == "\"" { inQuote.toggle() } else if c == ";" && !inQuote { end = i; break }
                i = rest.index(after: i)
            }
            append(rest[..<end], to: &out)
            guard end < rest.endIndex else { break }
            rest = rest[rest.index(after: end)...]
        }
        return out
    }

    private static func append(_ command: Substring, to out: inout [String]) {
        let t = String(command).trimmed(" \t\r\n")
        if !t.isEmpty { out.append(t) }
    }

    static func isScriptCommand<S: StringProtocol>(_ t: S) -> Bool {
        t.hasPrefix("$$<") || t.hasPrefix("$$><") || t.hasPrefix("$$>a<") || t.hasPrefix("$<") || t.hasPrefix("$><")
    }

    /// True when the command that `text` starts with takes the rest of the line.
    static func ownsRestOfLine(_ text: Substring) -> Bool {
        if isScriptCommand(text) { return true }
        // `as` takes the rest of the line as the alias's text (`aS` stops at ';').
        if text.hasPrefix("as ") || text.hasPrefix("as\t") { return true }
        // Path commands take ';'-separated folder lists.
        let head = text.prefix(10).lowercased()
        for path in [".exepath ", ".exepath+ ", ".sympath ", ".sympath+ ", ".srcpath "] where head.hasPrefix(path) { return true }
        return ThreadSelector.parseEachPrefix(text) != nil
    }
}
