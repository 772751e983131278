import ClrLayout
import DumpModel

// The values the converted commands compute (Docs/json.md describes their JSON). Each renders WinDbg's text
// from the value alone, so text and JSON always say the same thing.

/// `~`: the threads listed.
struct ThreadListValue: CommandValue {
    struct Row: Encodable {
        let index: Int
        let processId: HexValue
        let threadId: HexValue
        let suspendCount: UInt32
        let teb: HexValue
        let name: String?
        let isCurrent: Bool
        let isEvent: Bool
    }
    let threads: [Row]
    let pointerSize: Int

    init(_ indices: [Int], _ s: Session) {
        pointerSize = s.pointerSize
        threads = indices.map { i in
            let t = s.dump.threads[i]
            return Row(index: i, processId: HexValue(s.dump.processId ?? 0), threadId: HexValue(t.id), suspendCount: t.suspendCount,
                       teb: HexValue(t.teb), name: t.name, isCurrent: i == s.currentThread, isEvent: i == s.eventThread)
        }
    }

    enum CodingKeys: String, CodingKey { case threads }

    /// `.  0  Id: 1f40.3124 Suspend: 0 Teb: 00000026`0b2b5000 Unfrozen "CrBrowserMain"`.
    func textLines() -> [String] {
        threads.map { t in
            let mark: Character = t.isCurrent ? "." : (t.isEvent ? "#" : " ")
            var line = "\(mark)" + String(t.index).leftPad(3)
                + "  Id: \(String(t.processId.value, radix: 16)).\(String(t.threadId.value, radix: 16)) Suspend: \(t.suspendCount) "
                + "Teb: \(Hex.address(t.teb.value, pointerSize: pointerSize)) Unfrozen"
            if let name = t.name { line += " \"\(name)\"" }
            return line
        }
    }
}

/// `.lastevent`: the event the dump was written for.
struct LastEventValue: CommandValue {
    struct Event: Encodable {
        let processId: HexValue
        let threadId: HexValue
        let code: HexValue
        let description: String
        /// "dump" when the dump recorded it, "runtime" when `.loadby sos` found it in the runtime's state.
        let source: String
    }
    let event: Event?
    let debuggerTime: String?

    func textLines() -> [String] {
        guard let e = event else { return ["Last event: <none>"] }
        var out = ["Last event: \(String(e.processId.value, radix: 16)).\(String(e.threadId.value, radix: 16)): \(e.description) - code "
                   + "\(Hex.pad(e.code.value, 8)) (first/second chance not available)",
                   "  debugger time: " + (debuggerTime ?? "not available")]
        if e.source == "runtime" {
            out.append("  (the dump has no exception stream: the event comes from the runtime's thread state, after .loadby sos)")
        }
        return out
    }
}

/// `!eeversion`.
struct RuntimeVersionValue: CommandValue {
    let fileVersion: String
    let productVersion: String
    let runtimeFile: String
    /// "workstation", "server", or nil when the dump does not say.
    let gcMode: String?
    let heapKind: String
    let globals: String

    func textLines() -> [String] {
        ["\(fileVersion) (.NET \(productVersion), \(runtimeFile))",
         gcMode == "server" ? "Server mode" : gcMode == "workstation" ? "Workstation mode" : "GC mode: not known (the GC heap type is not in this dump)",
         "GC heap: \(heapKind)",
         "Runtime globals: \(globals)",
         "SOS Version: dumpdbg (reads the runtime's structures itself, no DAC)"]
    }
}

/// `!dumpheap -stat`: objects per type, smallest total first, as SOS sorts them.
struct HeapStatisticsValue: CommandValue {
    struct Row: Encodable {
        let methodTable: HexValue
        let count: Int
        let totalSize: UInt64
        let name: String
    }
    let types: [Row]
    let totalObjects: Int
    /// Problems the walk met (damaged MethodTables), one line each.
    let walkProblems: [String]

    func textLines() -> [String] {
        var out = walkProblems.map { "Error: " + $0 }
        out += ["Statistics:", "              MT    Count    TotalSize Class Name"]
        for r in types {
            out.append("\(Sos.p(r.methodTable.value)) \(String(r.count).leftPad(8)) \(String(r.totalSize).leftPad(12)) \(r.name)")
        }
        out.append("Total \(totalObjects) objects")
        return out
    }
}
