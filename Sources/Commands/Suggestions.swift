/// What to say when a command name is not known: a WinDbg command dumpdbg does not have is named as such
/// (with why, for the ones that need a live process), and a typo gets the nearest known names.
enum Suggestions {
    /// WinDbg commands that only make sense on a live process.
    static let liveOnly: Set<String> = [
        "g", "gh", "gn", "gu", "p", "pa", "pc", "pt", "t", "ta", "tc", "tt", "wt", "bp", "bu", "bm", "ba", "bl", "bc", "bd", "be",
        ".attach", ".detach", ".kill", ".restart", ".create", ".childdbg", "sx", "sxe", "sxd", "sxi", "sxn", "ed", "eb", "ew", "eq", "ea", "eu",
        ".dump", "!gle",
    ]
    /// WinDbg and SOS commands dumpdbg does not implement yet (the open issues track them).
    static let notYet: Set<String> = [
        "dt", "dv", "dx", ".symfix", ".srcpath", "!heap", "!locks", "!cs",
        "!for_each_frame", "!for_each_thread", "!objsize",
        "!dumpil", "!bpmd", "!analyzeoom", "!verifyheap", "!traverseheap", "!gcwhere", "!findappdomain", "!sym", "!dlls", "!chkimg", "kd",
    ]

    /// The message for an unknown name, or nil to keep WinDbg's own.
    static func unknown(_ name: String, known: [String]) -> String? {
        let lower = name.lowercased()
        if liveOnly.contains(lower) { return "'\(name)' needs a live process: dumpdbg reads dumps, so it does not support it" }
        if notYet.contains(where: { $0.lowercased() == lower }) { return "'\(name)' is a WinDbg command dumpdbg does not support yet" }
        let near = nearest(lower, in: known)
        return near.isEmpty ? nil : "did you mean " + near.joined(separator: " or ") + "?"
    }

    /// Known names within a small edit distance (a third of the name's length, at least 1, at most 2).
    static func nearest(_ name: String, in known: [String]) -> [String] {
        guard name.count >= 2, name.count <= 64 else { return [] }
        let limit = min(2, max(1, name.count / 3))
        var best: [(Int, String)] = []
        for k in Set(known.map { $0.lowercased() }) where k.first == name.first || !(name.first == "!" || name.first == ".") {
            guard abs(k.count - name.count) <= limit, k != name else { continue }
            let d = distance(name, k)
            if d <= limit { best.append((d, k)) }
        }
        best.sort { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
        guard let top = best.first?.0 else { return [] }
        return best.filter { $0.0 == top }.prefix(3).map { display($0.1, in: known) }
    }

    /// The registered spelling of a name (`!DumpObj`, not `!dumpobj`).
    private static func display(_ lower: String, in known: [String]) -> String {
        known.first { $0.lowercased() == lower } ?? lower
    }

    /// Optimal string alignment distance (Levenshtein with adjacent transpositions).
    static func distance(_ a: String, _ b: String) -> Int {
        let x = Array(a), y = Array(b)
        if x.isEmpty { return y.count }
        if y.isEmpty { return x.count }
        var d = [[Int]](repeating: [Int](repeating: 0, count: y.count + 1), count: x.count + 1)
        for i in 0...x.count { d[i][0] = i }
        for j in 0...y.count { d[0][j] = j }
        for i in 1...x.count {
            for j in 1...y.count {
                let cost = x[i - 1] == y[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1, j > 1, x[i - 1] == y[j - 2], x[i - 2] == y[j - 1] { d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1) }
            }
        }
        return d[x.count][y.count]
    }
}
