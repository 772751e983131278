import ClrLayout
import DumpModel
import Foundation

/// `!eeheap -gc`: the GC heap's generations and segments.
struct EEHeapCommand: ValueCommand {
    let names = ["!eeheap"]
    let summary = "GC heap segments and generations (!eeheap -gc)"
    let help = """
    !eeheap [-gc]   lists the GC heap's generations and segments (regions on .NET 8); loader heaps are not listed yet.
    Example: !eeheap -gc
    """
    var extensionName: String? { "sos" }

    func evaluate(_ inv: Invocation, in s: Session) throws -> any CommandValue {
        let words = inv.words.map { $0.lowercased() }
        if let bad = words.first(where: { $0 != "-gc" && $0 != "-loader" }) { throw CommandError("Invalid argument \(bad)") }
        let (_, heap) = try Sos.run { try SosRuntimes.heap(for: s) }
        return GCHeapValue(loaderHeapsAsked: !words.contains("-gc"), kind: heap.kind == .regions ? "regions" : "segments",
                           isServer: heap.isServer, maxGeneration: heap.maxGeneration,
                           heaps: heap.heaps.map { h in
                               .init(index: h.index, address: HexValue(h.address),
                                     generationStarts: heap.kind == .regions ? nil : heap.generationStartsByHeap[h.index].map(HexValue.init),
                                     segments: heap.segments.filter { $0.heap == h.index }.map { seg in
                                         .init(address: HexValue(seg.address), begin: HexValue(seg.start), allocated: HexValue(seg.end),
                                               committed: HexValue(seg.committed), kind: seg.kind.rawValue, generation: seg.generation)
                                     })
                           })
    }
}

/// `!eeheap -gc`'s value: the heap's layout (segments, or 8.0's regions), and each GC heap's segments or regions.
struct GCHeapValue: CommandValue {
    struct Segment: Encodable {
        let address: HexValue
        let begin: HexValue
        let allocated: HexValue
        let committed: HexValue
        /// ClrSegment.Kind's name (smallObject, largeObject, pinnedObject, frozen).
        let kind: String
        let generation: Int
    }
    struct Heap: Encodable {
        let index: Int
        /// The gc_heap object (0 with workstation GC).
        let address: HexValue
        let generationStarts: [HexValue]?
        let segments: [Segment]
    }
    let loaderHeapsAsked: Bool
    /// "segments" or "regions".
    let kind: String
    let isServer: Bool
    let maxGeneration: Int
    let heaps: [Heap]

    /// SOS's text: the workstation heap's body then "Total Size" / "GC Heap Size"; with server GC each heap's
    /// body under "Heap N (address)" with its "Heap Size", then "GC Heap Size" (strike.cpp EEHeap).
    func textLines() -> [String] {
        var out: [String] = []
        if loaderHeapsAsked { out.append("Loader Heap: (not listed yet; use !eeheap -gc)") }
        out.append("Number of GC Heaps: \(heaps.count)")
        if kind == "regions" { return out + regionLines() }
        var total: UInt64 = 0
        for h in heaps {
            if isServer { out += ["------------------------------", "Heap \(h.index) (\(Sos.p(h.address.value)))"] }
            let size = segmentBody(h, into: &out)
            total &+= size
            if isServer { out.append("Heap Size:               Size: 0x\(String(size, radix: 16)) (\(size)) bytes.") }
            else { out.append("Total Size:              Size: 0x\(String(size, radix: 16)) (\(size)) bytes.") }
        }
        out.append("------------------------------")
        out.append("GC Heap Size:            Size: 0x\(String(total, radix: 16)) (\(total)) bytes.")
        return out
    }

    /// One heap's generations and segment tables (GCHeapInfo); returns its size.
    func segmentBody(_ h: Heap, into out: inout [String]) -> UInt64 {
        for (g, start) in (h.generationStarts ?? []).enumerated() { out.append("generation \(g) starts at 0x\(Sos.P(start.value))") }
        out.append("ephemeral segment allocation context: none")
        func table(_ segs: [Segment]) -> UInt64 {
            out.append("         segment             begin         allocated              size")
            var total: UInt64 = 0
            for seg in segs {
                let size = seg.allocated.value &- seg.begin.value
                total &+= size
                out.append("\(Sos.p(seg.address.value))  \(Sos.p(seg.begin.value))  \(Sos.p(seg.allocated.value))  0x\(String(size, radix: 16))(\(size))")
            }
            return total
        }
        var total = table(h.segments.filter { $0.kind != "largeObject" })
        let loh = h.segments.filter { $0.kind == "largeObject" }
        out.append("Large object heap starts at 0x\(Sos.P(loh.first?.begin.value ?? 0))")
        total &+= table(loh)
        return total
    }

    /// SOS's layout for a regions heap (eeheap.cpp, has_regions): each generation's regions, the frozen
    /// segments, the LOH's and the POH's; committed sizes count the region header as SOS does (+0x20). With
    /// server GC each heap's part comes under "Heap N (address)", as 8.0's SOS prints it.
    func regionLines() -> [String] {
        var out: [String] = []
        let header = ["segment", "begin", "allocated", "committed", "allocated size", "committed size"]
            .map { $0.leftPad(16) }.joined(separator: "  ")
        var allocatedTotal: UInt64 = 0, committedTotal: UInt64 = 0
        for h in heaps {
            var allocatedHeap: UInt64 = 0, committedHeap: UInt64 = 0
            func row(_ seg: Segment) {
                let allocated = seg.allocated.value &- seg.begin.value
                let committed = seg.committed.value &- seg.begin.value &+ 0x20
                allocatedHeap &+= allocated
                committedHeap &+= committed
                out.append("\(Sos.p(seg.address.value))  \(Sos.p(seg.begin.value))  \(Sos.p(seg.allocated.value))  \(Sos.p(seg.committed.value))  "
                    + "0x\(String(allocated, radix: 16))(\(allocated))  0x\(String(committed, radix: 16))(\(committed))")
            }
            if isServer { out += ["------------------------------", "Heap \(h.index) (\(Sos.p(h.address.value)))"] }
            out.append("Small object heap")
            out.append(header)
            for g in 0...maxGeneration {
                out.append("generation \(g):")
                for seg in h.segments where seg.generation == g && seg.kind == "smallObject" { row(seg) }
            }
            out.append("Frozen object heap")
            out.append(header)
            for seg in h.segments where seg.kind == "frozen" { row(seg) }
            for (title, kind) in [("Large object heap", "largeObject"), ("Pinned object heap", "pinnedObject")] {
                out.append(title)
                out.append(header)
                for seg in h.segments where seg.kind == kind { row(seg) }
            }
            out.append("Allocated Heap Size:       Size: 0x\(String(allocatedHeap, radix: 16)) (\(allocatedHeap)) bytes.")
            out.append("Committed Heap Size:       Size: 0x\(String(committedHeap, radix: 16)) (\(committedHeap)) bytes.")
            allocatedTotal &+= allocatedHeap
            committedTotal &+= committedHeap
        }
        out.append("------------------------------")
        out.append("GC Allocated Heap Size:    Size: 0x\(String(allocatedTotal, radix: 16)) (\(allocatedTotal)) bytes.")
        out.append("GC Committed Heap Size:    Size: 0x\(String(committedTotal, radix: 16)) (\(committedTotal)) bytes.")
        return out
    }
}

/// `!dumpheap [-stat] [-type T] [-mt MT] [-min N] [-max N] [-short]`.
struct DumpHeapCommand: DebuggerCommand {
    let names = ["!dumpheap"]
    let summary = "list or count the objects on the GC heap"
    let help = """
    !dumpheap [-stat] [-strings] [-short] [-type NAME] [-mt MT] [-min SIZE] [-max SIZE] [START [END]]
    Lists every object (Address, MT, Size) and then per-type statistics sorted by total size;
    -stat prints the statistics only, -short the addresses only. -type matches a substring of the type name.
    -strings counts the strings by value. START [END] keeps the objects whose address is in [START, END].
    Example: !dumpheap -stat -type System.String
    """
    var extensionName: String? { "sos" }

    static let stringWidth = 60

    /// A string value on one line: control characters escaped, long values cut with "...".
    static func display(_ text: String) -> String {
        var out = ""
        for (i, ch) in text.enumerated() {
            if i >= stringWidth { out += "..."; break }
            switch ch {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default: out += ch.isASCII && (ch.asciiValue ?? 0) < 0x20 ? "." : String(ch)
            }
        }
        return out
    }

    func run(_ inv: Invocation, in s: Session) throws {
        var stat = false, short = false, strings = false
        var range: [UInt64] = []
        var typeFilter: String?, mtFilter: UInt64?, minSize: UInt64?, maxSize: UInt64?
        var words = inv.words[...]
        func number(_ w: String) throws -> UInt64 {
            guard let n = ExpressionEvaluator.number(w) else { throw CommandError("Invalid number \(w)") }
            return n
        }
        while let w = words.popFirst() {
            switch w.lowercased() {
            case "-stat": stat = true
            case "-short": short = true
            case "-type":
                guard let t = words.popFirst() else { throw CommandError("Missing argument for -type") }
                typeFilter = t
            case "-mt":
                guard let t = words.popFirst() else { throw CommandError("Missing argument for -mt") }
                mtFilter = try number(t)
            case "-min":
                guard let t = words.popFirst() else { throw CommandError("Missing argument for -min") }
                minSize = try number(t)
            case "-max":
                guard let t = words.popFirst() else { throw CommandError("Missing argument for -max") }
                maxSize = try number(t)
            case "-strings": strings = true
            case "-live", "-dead", "-thinlock", "-gen":
                throw CommandError("\(w) is not supported yet")
            default:
                if w.hasPrefix("-") { throw CommandError("Invalid argument \(w)") }
                // A start [end] address range.
                guard range.count < 2 else { throw CommandError("Invalid argument \(w)") }
                range.append(try Sos.address(w, s))
            }
        }
        let rangeStart = range.first ?? 0, rangeEnd = range.count > 1 ? range[1] : UInt64.max
        if rangeEnd < rangeStart { throw CommandError("Invalid range: \(Sos.p(rangeStart)) is above \(Sos.p(rangeEnd))") }
        let (runtime, heap) = try Sos.run { try SosRuntimes.heap(for: s) }
        let o = s.output
        struct Stat { var count = 0; var size: UInt64 = 0 }
        var stats: [UInt64: Stat] = [:]
        var nameOf: [UInt64: String] = [:]
        var matched: [UInt64: Bool] = [:]
        var stringStats: [String: Stat] = [:]
        func name(_ mt: UInt64) -> String {
            if let n = nameOf[mt] { return n }
            let n = runtime.type(mt)?.name ?? "<invalid>"
            nameOf[mt] = n
            return n
        }
        // The plain statistics (the first thing a triage asks for) come from the parallel tally walk.
        if stat && !strings && !short && range.isEmpty && typeFilter == nil && mtFilter == nil && minSize == nil && maxSize == nil {
            let t = heap.tally(workers: s.heapWalkThreads, shouldStop: { interruptRequested.load(ordering: .relaxed) })
            if t.stopped { throw CommandError.interrupted }
            s.emit(HeapStatisticsValue(counts: t.entries.map { ($0.methodTable, $0.count, $0.size) }, name: name, walkProblems: t.problems))
            return
        }
        // JSON mode collects the listing as a value (columns, not a struct per object); text mode streams it.
        let json = s.outputFormat == .json
        var listed = HeapListingValue(freeMT: runtime.freeMT)
        if !stat && !short && !strings && !json { o.line(HeapListingValue.header) }
        var interrupted = false
        var chunk = TextChunk(o)
        var runMT: UInt64 = 0, runCount = 0, runSize: UInt64 = 0
        var seen = 0
        let heapBytes = Double(max(1, heap.totalSize))
        heap.enumerateObjects { obj in
            seen &+= 1
            if seen & 0xFFFF == 0 {
                if interruptRequested.load(ordering: .relaxed) { interrupted = true; return false }
                s.progress.update("!dumpheap", fraction: Double(heap.bytesBefore(obj.address)) / heapBytes)
            }
            if obj.address < rangeStart { return true }
            if obj.address > rangeEnd { return false }
            if let mtFilter, obj.methodTable != mtFilter { return true }
            if strings {
                guard obj.methodTable == runtime.stringMT else { return true }
                if !short {
                    let text = runtime.stringValue(obj.address, limit: Self.stringWidth + 1) ?? "<invalid>"
                    stringStats[text, default: Stat()].count += 1
                    stringStats[text, default: Stat()].size += obj.size
                    return true
                }
            }
            if let minSize, obj.size < minSize { return true }
            if let maxSize, obj.size > maxSize { return true }
            if let typeFilter {
                let ok: Bool
                if let m = matched[obj.methodTable] { ok = m } else {
                    ok = name(obj.methodTable).contains(typeFilter)
                    matched[obj.methodTable] = ok
                }
                if !ok { return true }
            }
            if json {
                if short || !stat { listed.addresses.append(obj.address) }
                if !short && !stat { listed.methodTables.append(obj.methodTable); listed.sizes.append(obj.size) }
            } else if short {
                chunk.hex(obj.address)
                chunk.newline()
            } else if !stat {
                chunk.hex(obj.address); chunk.byte(32); chunk.hex(obj.methodTable); chunk.byte(32); chunk.decimal(obj.size, width: 8)
                if obj.methodTable == runtime.freeMT { chunk.text(" Free") }
                chunk.newline()
            }
            // One dictionary lookup per run of same-typed objects, not two per object.
            if obj.methodTable != runMT {
                if runCount > 0 { stats[runMT, default: Stat()].count += runCount; stats[runMT, default: Stat()].size += runSize }
                runMT = obj.methodTable
                runCount = 0
                runSize = 0
            }
            runCount += 1
            runSize &+= obj.size
            return true
        }
        if runCount > 0 { stats[runMT, default: Stat()].count += runCount; stats[runMT, default: Stat()].size += runSize }
        chunk.flush()
        if interrupted { throw CommandError.interrupted }
        /// The per-type table, sorted as SOS sorts it (total size, then count, then name).
        func statistics(walkProblems: [String]) -> HeapStatisticsValue {
            HeapStatisticsValue(counts: stats.map { ($0.key, $0.value.count, $0.value.size) }, name: name, walkProblems: walkProblems)
        }
        if stat && !strings && !short {
            s.emit(statistics(walkProblems: heap.walkProblems))
            return
        }
        listed.walkProblems = heap.walkProblems
        listed.isShort = short
        if strings && !short {
            // SOS's -strings: one row per distinct value (the first characters), ascending by total size.
            listed.strings = stringStats.sorted { ($0.value.size, $0.value.count, $0.key) < ($1.value.size, $1.value.count, $1.key) }
                .map { .init(count: $0.value.count, totalSize: $0.value.size, value: Self.display($0.key)) }
        } else if !short {
            listed.statistics = statistics(walkProblems: [])
        }
        if json { s.emit(listed); return }
        // The objects were streamed above; the rest is the value's text after its object rows.
        for l in listed.textLines() { o.line(l) }
    }
}

/// `!dumpheap`'s listing: the objects (address, MethodTable, size) or, with -short, their addresses, or with
/// -strings the strings counted by value; then the per-type statistics. Text mode streams the object rows
/// as the walk finds them and prints `textLines()` after them; JSON mode writes the whole value.
struct HeapListingValue: StreamedJSONValue {
    struct StringRow: Encodable {
        let count: Int
        let totalSize: UInt64
        let value: String
    }
    static let header = "         Address               MT     Size"
    let freeMT: UInt64
    var isShort = false
    var addresses: [UInt64] = []
    var methodTables: [UInt64] = []
    var sizes: [UInt64] = []
    var strings: [StringRow]?
    var statistics: HeapStatisticsValue?
    var walkProblems: [String] = []

    /// The text after the object rows (which text mode streams): walk problems, then the strings table or the
    /// statistics.
    func textLines() -> [String] {
        var out = walkProblems.map { "Error: " + $0 }
        if let strings {
            out += ["Statistics:", "   Count    TotalSize String Value"]
            out += strings.map { "\(String($0.count).leftPad(8)) \(String($0.totalSize).leftPad(12)) \($0.value)" }
            out.append("Total \(strings.reduce(0) { $0 + $1.count }) strings")
        } else if let statistics {
            out.append("")
            out += statistics.textLines()
        }
        return out
    }

    /// Every line, object rows included (what text mode prints in all).
    func allTextLines() -> [String] {
        var rows: [String] = []
        if isShort {
            rows = addresses.map { Sos.p($0) }
        } else if strings == nil {
            rows = [Self.header] + addresses.indices.map { i in
                "\(Sos.p(addresses[i])) \(Sos.p(methodTables[i])) \(String(sizes[i]).leftPad(8))" + (methodTables[i] == freeMT ? " Free" : "")
            }
        }
        return rows + textLines()
    }

    enum CodingKeys: String, CodingKey { case objects, addresses, strings, statistics, walkProblems }
    struct Object: Encodable { let address: HexValue; let methodTable: HexValue; let size: UInt64 }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        if isShort { try c.encode(addresses.map(HexValue.init), forKey: .addresses) }
        else if strings == nil {
            try c.encode(addresses.indices.map { Object(address: HexValue(addresses[$0]), methodTable: HexValue(methodTables[$0]), size: sizes[$0]) },
                         forKey: .objects)
        }
        try c.encodeIfPresent(strings, forKey: .strings)
        try c.encodeIfPresent(statistics, forKey: .statistics)
        try c.encode(walkProblems, forKey: .walkProblems)
    }

    /// The same document as `encode(to:)` with sorted keys, written directly (about ten times faster).
    func writeJSON(_ j: inout JSONBytes) {
        j.reserve(addresses.count * (isShort ? 21 : 80) + 4096)
        j.byte(123)   // {
        var first = true
        func key(_ k: StaticString) { if !first { j.byte(44) }; first = false; j.raw(k) }
        if isShort {
            key("\"addresses\":[")
            for (i, a) in addresses.enumerated() { if i > 0 { j.byte(44) }; j.hexString(a) }
            j.byte(93)
        } else if strings == nil {
            key("\"objects\":[")
            for i in addresses.indices {
                if i > 0 { j.byte(44) }
                j.raw("{\"address\":"); j.hexString(addresses[i])
                j.raw(",\"methodTable\":"); j.hexString(methodTables[i])
                j.raw(",\"size\":"); j.number(sizes[i]); j.byte(125)
            }
            j.byte(93)
        }
        if let statistics { key("\"statistics\":"); j.encoded(statistics) }
        if let strings { key("\"strings\":"); j.encoded(strings) }
        key("\"walkProblems\":"); j.encoded(walkProblems)
        j.byte(125)   // }
    }
}
