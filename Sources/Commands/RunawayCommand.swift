import DumpModel

/// `!runaway [flags]`: the CPU time each thread used, busiest first (WinDbg's ext.dll command).
struct RunawayCommand: ValueCommand {
    let names = ["!runaway"]
    let summary = "show how much CPU time each thread used"
    let help = """
    !runaway [Flags]
    lists the threads by the CPU time they used, busiest first. Flags (default 1): 1 user-mode time,
    2 kernel-mode time, 4 time since the thread was created (minidumps with thread creation times).
    Minidumps hold the times in their ThreadInfoList stream; Linux cores in each thread's NT_PRSTATUS.
    Example: !runaway 7
    """

    func evaluate(_ inv: Invocation, in s: Session) throws -> any CommandValue {
        guard inv.words.count <= 1 else { throw CommandError("Usage: !runaway [Flags]", kind: .usage) }
        let flags = try inv.words.first.map { try ExpressionEvaluator.evaluate($0, environment: s.expressionEnvironment) } ?? 1
        guard flags & 7 != 0, flags <= 0xFF else { throw CommandError("Usage: !runaway [Flags]: 1 user, 2 kernel, 4 elapsed time", kind: .usage) }
        let threads = s.dump.threads
        func table(_ title: String, _ time: (DumpThread) -> UInt64?) -> RunawayValue.Table? {
            let rows = threads.enumerated().compactMap { i, t in time(t).map { RunawayValue.Row(index: i, threadId: HexValue(t.id), time100ns: $0) } }
            guard !rows.isEmpty else { return nil }
            return .init(title: title, rows: rows.enumerated().sorted { a, b in
                a.element.time100ns != b.element.time100ns ? a.element.time100ns > b.element.time100ns : a.offset < b.offset
            }.map(\.element))
        }
        var tables: [RunawayValue.Table] = []
        var missing: [String] = []
        if flags & 1 != 0 { if let t = table("User Mode Time", { $0.userTime }) { tables.append(t) } else { missing.append("user-mode") } }
        if flags & 2 != 0 { if let t = table("Kernel Mode Time", { $0.kernelTime }) { tables.append(t) } else { missing.append("kernel-mode") } }
        if flags & 4 != 0 {
            // FILETIME counts 100 ns from 1601; the dump time is a time_t.
            let now = s.dump.dumpTime.map { UInt64($0) * 10_000_000 + 116_444_736_000_000_000 }
            if let now, let t = table("Elapsed Time", { t in t.createTime.flatMap { c in c != 0 && c <= now ? now - c : nil } }) {
                tables.append(t)
            } else { missing.append("creation") }
        }
        if tables.isEmpty {
            throw CommandError("The dump holds no \(missing.joined(separator: " or ")) times for its threads", kind: .unavailable)
        }
        return RunawayValue(tables: tables, missing: missing)
    }
}

struct RunawayValue: CommandValue {
    struct Row: Encodable {
        let index: Int
        let threadId: HexValue
        let time100ns: UInt64
    }
    struct Table: Encodable {
        let title: String
        let rows: [Row]
    }
    let tables: [Table]
    /// Kinds of time asked for that the dump does not hold.
    let missing: [String]

    /// WinDbg's "0 days 0:00:00.031" (milliseconds, truncated).
    static func duration(_ t: UInt64) -> String {
        let ms = t / 10_000
        let days = ms / 86_400_000, h = ms / 3_600_000 % 24, m = ms / 60_000 % 60, sec = ms / 1000 % 60, milli = ms % 1000
        func two(_ v: UInt64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(days) days \(h):\(two(m)):\(two(sec)).\(String(String(milli + 1000).dropFirst()))"
    }

    func textLines() -> [String] {
        var out: [String] = []
        for t in tables {
            out += [" " + t.title, "  Thread       Time"]
            out += t.rows.map { String($0.index).leftPad(4) + ":" + String($0.threadId.value, radix: 16).rightPad(10) + " " + Self.duration($0.time100ns) }
        }
        for m in missing { out.append("The dump holds no \(m) times for its threads") }
        return out
    }
}
