import DumpModel

/// Splits a WinDbg input line into commands. `;` separates commands except inside quotes; `$$` starts a
/// comment that runs to the next `;`; `~* e ...` and the script commands (`$<`, `$$><`, ...) own the rest of
/// the line, semicolons included, as in WinDbg.
public enum CommandLineSplitter {
    public static func split(_ line: String) -> [String] {
        var out: [String] = []
        var current = ""
        var inQuote = false
        var rest = Substring(line)
        func flush() {
            let t = current.trimmed(" \t\r\n")
            if !t.isEmpty { out.append(t) }
            current = ""
        }
        while let c = rest.first {
            let lead = current.drop(while: { $0 == " " || $0 == "\t" })
            if lead.isEmpty, rest.hasPrefix("$$"), !isScriptCommand(rest) {
                if let semi = rest.firstIndex(of: ";") { rest = rest[rest.index(after: semi)...] } else { rest = "" }
                continue
            }
            if !inQuote, ownsRestOfLine(lead) {
                current += rest
                rest = ""
                break
            }
            rest.removeFirst()
            if c == "\"" { inQuote.toggle() }
            if c == ";" && !inQuote {
                flush()
                continue
            }
            current.append(c)
        }
        flush()
        return out
    }

    static func isScriptCommand<S: StringProtocol>(_ t: S) -> Bool {
        t.hasPrefix("$$<") || t.hasPrefix("$$><") || t.hasPrefix("$$>a<") || t.hasPrefix("$<") || t.hasPrefix("$><")
    }

    /// True once `lead` is the head of a command that takes the rest of the line.
    static func ownsRestOfLine(_ lead: Substring) -> Bool {
        if isScriptCommand(lead) { return true }
        // Path commands take ';'-separated folder lists.
        for path in [".exepath ", ".exepath+ ", ".sympath ", ".sympath+ ", ".srcpath "] where lead.lowercased().hasPrefix(path) { return true }
        return ThreadSelector.parseEachPrefix(lead) != nil
    }
}
