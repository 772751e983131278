/// A command's words checked against what it accepts: flags (`-stat`), flags that take a value
/// (`-mt <MT>`), and a bounded number of other words. Anything else is a usage error that names the word,
/// so a typo never runs the command as if it had not been typed. Options are case-insensitive, as in SOS.
struct CommandArguments {
    private(set) var flags: Set<String> = []
    private(set) var values: [String: String] = [:]
    private(set) var positionals: [String] = []

    /// `flags` and `valued` are written lowercased with their '-'; `usage` is the command's synopsis.
    init(_ inv: Invocation, flags known: Set<String> = [], valued: Set<String> = [],
         positionals allowed: ClosedRange<Int> = 0...0, usage: String) throws {
        var words = inv.words[...]
        while let w = words.popFirst() {
            let lw = w.lowercased()
            if lw.hasPrefix("-"), lw.count > 1, lw.drop(while: { $0 == "-" }).first?.isLetter == true, !lw.hasPrefix("---") {
                if known.contains(lw) {
                    flags.insert(lw)
                } else if valued.contains(lw) {
                    guard let v = words.popFirst() else { throw CommandError("Missing value for \(w). Usage: \(usage)", kind: .usage) }
                    values[lw] = v
                } else {
                    throw CommandError("Unknown option '\(w)'. Usage: \(usage)", kind: .usage)
                }
            } else {
                positionals.append(w)
            }
        }
        if positionals.count > allowed.upperBound {
            throw CommandError("Unexpected argument '\(positionals[allowed.upperBound])'. Usage: \(usage)", kind: .usage)
        }
        if positionals.count < allowed.lowerBound {
            throw CommandError("Missing argument. Usage: \(usage)", kind: .usage)
        }
    }

    func has(_ flag: String) -> Bool { flags.contains(flag) }
}
