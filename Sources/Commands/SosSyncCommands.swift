import ClrLayout
import DumpModel

/// Who holds a monitor, as `!syncblk` and `!analyze -hang` name a thread: its Thread*, OS id and debugger number.
struct MonitorOwner: Encodable {
    let thread: HexValue
    let osId: HexValue?
    let debuggerThread: Int?
    let orphaned: Bool

    /// Names the owners of many monitors (a damaged table gives `!syncblk -all` a row for each of 100,000 entries):
    /// the runtime's and the dump's thread lists become lookups once, not a search for every row.
    struct Resolver {
        private let osIds: [UInt64: UInt64]
        private let debuggerThreads: [UInt64: Int]

        init(_ r: ClrRuntime, _ s: Session) {
            // The first thread with an address or id wins, as a search in list order finds.
            osIds = Dictionary(r.threads().map { ($0.address, $0.osId) }, uniquingKeysWith: { first, _ in first })
            debuggerThreads = Dictionary(s.dump.threads.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { first, _ in first })
        }

        func owner(_ thread: UInt64) -> MonitorOwner? {
            guard thread != 0 else { return nil }
            if thread == UInt64.max { return MonitorOwner(thread: HexValue(thread), osId: nil, debuggerThread: nil, orphaned: true) }
            let os = osIds[thread]
            return MonitorOwner(thread: HexValue(thread), osId: os.map(HexValue.init), debuggerThread: os.flatMap { debuggerThreads[$0] },
                                orphaned: false)
        }
    }
}

/// `!SyncBlk [-all | <index>]`: the monitors that are held (or, with -all, every sync table entry).
struct SyncBlkCommand: ValueCommand {
    let names = ["!SyncBlk", "!syncblk"]
    let summary = "list the monitors that are held, with their owner thread and waiters"
    let help = """
    !SyncBlk [-all | <index>]
    lists the sync blocks whose monitor is held: MonitorHeld counts 1 for the owner and 2 for each thread
    waiting to enter; Recursion is how many times the owner entered. -all lists every sync table entry;
    an index lists that entry. A monitor that was never contended stays a thin lock in the object's header
    and has no sync block: !DumpObj shows it as "ThinLock owner".
    Example: !syncblk
    """
    var extensionName: String? { "sos" }

    func evaluate(_ inv: Invocation, in s: Session) throws -> any CommandValue {
        let args = try CommandArguments(inv, flags: ["-all"], positionals: 0...1, usage: "!SyncBlk [-all | <index>]")
        let r = try Sos.run { try SosRuntimes.runtime(for: s) }
        let index = Result { try args.positionals.first.map { Int(clamping: try ExpressionEvaluator.evaluate($0, environment: s.expressionEnvironment)) } }
        let only = (try? index.get()) ?? nil
        var rows: [SyncBlocksValue.Row] = [], free = 0
        let owners = MonitorOwner.Resolver(r, s)
        let total = r.forEachSyncBlockEntry { e in
            if e.isFree { free += 1 }
            let shown = only.map { e.index == $0 } ?? (args.has("-all") || (e.monitorHeld > 0 && !e.isFree))
            guard shown else { return }
            rows.append(SyncBlocksValue.Row(index: e.index, syncBlock: HexValue(e.syncBlock), monitorHeld: e.monitorHeld,
                                            recursion: e.recursion, waiters: e.waiters, owner: owners.owner(e.holdingThread),
                                            holdingThread: HexValue(e.holdingThread), object: HexValue(e.object),
                                            type: e.isFree ? nil : r.objectType(e.object)?.name, free: e.isFree))
        }
        guard let total else {
            throw CommandError("The runtime's sync block table is not readable in this dump", kind: .unavailable)
        }
        _ = try index.get()  // a bad index expression is reported once the table is known to be readable
        if let only, !(1...max(1, total)).contains(only) {
            throw CommandError("Invalid sync block index \(only): the table has entries 1 to \(total)")
        }
        return SyncBlocksValue(rows: rows, total: total, free: free)
    }
}

struct SyncBlocksValue: CommandValue {
    struct Row: Encodable {
        let index: Int
        let syncBlock: HexValue
        let monitorHeld: UInt32
        let recursion: UInt32
        let waiters: UInt32
        let owner: MonitorOwner?
        let holdingThread: HexValue
        let object: HexValue
        let type: String?
        let free: Bool
    }
    let rows: [Row]
    let total: Int
    let free: Int

    func textLines() -> [String] {
        var out = ["Index         SyncBlock MonitorHeld Recursion Owning Thread Info          SyncBlock Owner"]
        for r in rows {
            var line = String(r.index).leftPad(5) + " " + Sos.p(r.syncBlock.value) + "  " + String(r.monitorHeld).leftPad(11) + " "
                + String(r.recursion).leftPad(9) + " " + Sos.p(r.holdingThread.value) + " "
            if let o = r.owner {
                if o.orphaned { line += " orphaned " } else {
                    line += (o.osId.map { String($0.value, radix: 16) } ?? "0") + (o.debuggerThread.map { String($0).leftPad(4) } ?? " XXX") + " "
                }
            } else {
                line += "    none  "
            }
            line += r.free ? "  " + "0".leftPad(8) + " Free" : "  \(Sos.p(r.object.value)) \(r.type ?? "<unknown type>")"
            out.append(line)
        }
        out += ["-----------------------------", "Total           \(total)", "Free            \(free)"]
        return out
    }
}

/// `!FinalizeQueue [-detail]`: the objects the GC will finalize, per generation, and those already waiting for
/// the finalizer thread; then statistics per type.
struct FinalizeQueueCommand: ValueCommand {
    let names = ["!FinalizeQueue", "!finalizequeue", "!fq"]
    let summary = "show the objects registered for finalization, per generation, and those ready to run"
    let help = """
    !FinalizeQueue [-detail]
    lists how many finalizable objects each generation tracks and how many are ready for the finalizer
    thread, then the types of all of them (count and total size). -detail also lists the sync blocks
    waiting to be cleaned up.
    Example: !finalizequeue
    """
    var extensionName: String? { "sos" }

    func evaluate(_ inv: Invocation, in s: Session) throws -> any CommandValue {
        let args = try CommandArguments(inv, flags: ["-detail", "-allready", "-short"], positionals: 0...0, usage: "!FinalizeQueue [-detail]")
        let (r, heap) = try Sos.run { try SosRuntimes.heap(for: s) }
        guard let queues = r.finalizeQueues() else {
            throw CommandError("The GC's finalization queue is not readable in this dump", kind: .unavailable)
        }
        func count(_ range: (start: UInt64, end: UInt64)) -> Int { Int((range.end &- range.start) / 8) }
        var stats: [UInt64: (count: Int, size: UInt64)] = [:]
        var unreadable = 0, missing = 0
        for q in queues {
            missing += try r.forEachFinalizerSlot(q.all) { _, o in
                try s.checkInterrupt()
                if let type = r.objectType(o) {
                    stats[type.methodTable, default: (0, 0)].count += 1
                    stats[type.methodTable]!.size &+= type.objectSize(o) ?? 0
                } else {
                    unreadable += 1
                }
            }
        }
        unreadable += missing
        let rows = HeapStatisticsValue.rows(stats.map { ($0.key, $0.value.count, $0.value.size) }, name: { r.type($0)?.name ?? "<unknown type>" })
        let cleanup = r.syncBlocksToCleanUp()
        return FinalizeQueueValue(
            syncBlocksToCleanUp: cleanup.count, cleanupDetail: args.has("-detail") ? cleanup.map(HexValue.init) : nil,
            isServer: heap.isServer,
            heaps: queues.enumerated().map { (i, q) in
                .init(heap: i,
                      generations: q.generations.enumerated().map { .init(generation: $0.offset, count: count($0.element), start: HexValue($0.element.start), end: HexValue($0.element.end)) },
                      ready: .init(generation: -1, count: count(q.ready), start: HexValue(q.ready.start), end: HexValue(q.ready.end)))
            },
            types: rows, total: rows.reduce(0) { $0 + $1.count }, unreadable: unreadable)
    }
}

struct FinalizeQueueValue: CommandValue {
    struct Range: Encodable {
        let generation: Int
        let count: Int
        let start: HexValue
        let end: HexValue
    }
    /// One GC heap's queue.
    struct Heap: Encodable {
        let heap: Int
        let generations: [Range]
        let ready: Range
    }
    let syncBlocksToCleanUp: Int
    let cleanupDetail: [HexValue]?
    /// Server GC: each heap's queue is listed under "Heap N", as SOS does.
    let isServer: Bool
    let heaps: [Heap]
    let types: [HeapStatisticsValue.Row]
    let total: Int
    /// Queue entries whose object was not readable in the dump.
    let unreadable: Int

    func textLines() -> [String] {
        var out = ["SyncBlocks to be cleaned up: \(syncBlocksToCleanUp)"]
        if let d = cleanupDetail, !d.isEmpty {
            out.append("SyncBlocks to be cleaned by the finalizer thread:")
            out += d.map { "    " + Sos.p($0.value) }
        }
        out.append("----------------------------------")
        for h in heaps {
            if isServer { out += ["------------------------------", "Heap \(h.heap)"] }
            for g in h.generations {
                out.append("generation \(g.generation) has \(g.count) finalizable objects (\(Sos.p(g.start.value))->\(Sos.p(g.end.value)))")
            }
            out.append("Ready for finalization \(h.ready.count) objects (\(Sos.p(h.ready.start.value))->\(Sos.p(h.ready.end.value)))")
        }
        out.append("Statistics for all finalizable objects (including all objects ready for finalization):")
        out += HeapStatisticsValue.table(types)
        out.append("Total \(total) objects")
        if unreadable > 0 { out.append("(\(unreadable) entries point to objects the dump does not hold)") }
        return out
    }
}
