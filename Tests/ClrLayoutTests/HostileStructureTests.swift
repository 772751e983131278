@testable import ClrLayout
@testable import Commands
import DumpModel
import Foundation
import TestSupport
import Testing

/// Runtime structures rewritten to loop or lie, in a copy of the bundled sample's core: a MethodTable that
/// is its own parent, a heap segment whose next is itself, an exception that is its own inner exception, a
/// thread list that loops. Every command answers with bounded work and output, and the session goes on.
@Suite("hostile runtime structures", .enabled(if: ClrFixtures.runtimeFolder != nil, Comment(rawValue: ClrFixtures.skipRuntime)))
struct HostileStructureTests {
    static let sample = ClrFixtures.samplesFolder + "/linux-3.1.core.xz"

    /// A session with SOS loaded on `path`: the bundled sample's core, or a damaged copy of it.
    static func sosSession(_ path: String = sample) throws -> (Session, Output.Buffer) {
        let (s, b) = try ClrFixtures.session(dump: path, appFolder: ClrFixtures.samplesFolder)
        _ = ClrFixtures.run(s, b, ".loadby sos clr")
        return (s, b)
    }

    static let commands = ["!eeheap -gc", "!dumpheap -stat", "!threads", "!pe", "!pe -nested", "!dso", "!dumpheap -type Samples.Order -stat",
                           "!syncblk -all", "!fq", "!gchandles -stat", "!clrstack -a -all", "!dumpasync", "!analyze -v -hang", "!dumpdomain", "!threadpool"]

    @Test func loopsInRuntimeStructuresEndWithBoundedWork() throws {
        let dumpPath = Self.sample
        guard FileManager.default.fileExists(atPath: dumpPath) else { return }
        let (s, b) = try Self.sosSession()
        let (r, heap) = try SosRuntimes.heap(for: s)
        let l = r.layout
        let opened = try DumpLoader.open(path: dumpPath)
        let plain = try #require(opened.decompressedPath)

        // The managed exception and its _innerException slot.
        let thrower = try #require(r.threads().first { r.objectFromHandle($0.lastThrownHandle) != 0 })
        let exception = r.objectFromHandle(thrower.lastThrownHandle)
        let exceptionType = try #require(r.objectType(exception))
        let inner = try #require(exceptionType.field(named: "_innerException"))
        // A type on the heap whose parent becomes itself.
        let order = try #require(StatRow.parse(ClrFixtures.run(s, b, "!dumpheap -stat")).first { $0.name == "Samples.Order" })
        let orderMT = try #require(UInt64(order.mt, radix: 16))
        let segment = try #require(heap.segments.first)
        // The finalization queue's last fill pointer, and where its array starts.
        let finalizer = try #require(try r.gcHeapInfos().first?.finalizeQueue)
        let lastFill = finalizer + UInt64(l.sync.finalizeFillPointers - 1) * 8
        let finalizerArray = try #require(r.target.u64(finalizer + l.sync.finalizeArray))
        let cases: [(String, [(UInt64, UInt64)])] = [
            // A gigabyte of slots, nearly all of them memory the dump does not hold (the clr fuzz target's second
            // timeout: !fq read them one at a time).
            ("finalization queue runs a gigabyte on", [(lastFill, finalizerArray + (1 << 30) - 8)]),
            ("exception is its own inner exception", [(r.instanceFieldAddress(exception, inner), exception)]),
            ("MethodTable is its own parent", [(orderMT + l.mtParent, orderMT)]),
            ("segment list loops", [(segment.address + l.segNext, segment.address)]),
            ("thread list loops", [(thrower.address + l.threadLink, thrower.address + l.threadLink)]),
            // Links whose Thread* (link - offset) wraps around: the field reads used to overflow and trap.
            ("thread link near zero", [(thrower.address + l.threadLink, 0x10)]),
            ("thread link near the top", [(thrower.address + l.threadLink, 0xFFFF_FFFF_FFFF_FFF0)]),
        ]
        for (name, writes) in cases {
            let path = try ClrFixtures.mutant(plain, opened.dump, writes)
            defer { unlink(path) }
            let (ms, mb) = try Self.sosSession(path)
            for cmd in Self.commands {
                let out = ClrFixtures.run(ms, mb, cmd)
                #expect(out.utf8.count < 4 << 20, "\(name): \(cmd) printed \(out.utf8.count) bytes")
            }
            // The session goes on (back on the event thread: !analyze -hang moved to the blocking one).
            #expect(ClrFixtures.run(ms, mb, ".echo still here") == "still here\n", "\(name)")
            _ = ClrFixtures.run(ms, mb, "~#s")
            switch name {
            case "exception is its own inner exception":
                let nested = ClrFixtures.run(ms, mb, "!pe -nested")
                #expect(nested.hasSuffix("(the inner exception chain loops back to \(Sos.p(exception)); stopped there)\n"), "\(nested)")
            case "MethodTable is its own parent":
                #expect(ClrFixtures.run(ms, mb, "!DumpMT \(order.mt)").contains("Name:            Samples.Order\n"))
            case "finalization queue runs a gigabyte on":
                #expect(ClrFixtures.run(ms, mb, "!fq").contains("entries point to objects the dump does not hold)"))
            case "thread list loops", "thread link near zero", "thread link near the top":
                #expect(ClrFixtures.run(ms, mb, "!threads").split(separator: "\n").count < 40)
            default:
                #expect(ClrFixtures.run(ms, mb, "!dumpheap -stat").contains("Total "))
            }
        }
    }

    /// An object array whose length says 2 GiB: `!gcroot` reads no reference past the array's segment (it read a
    /// million slots of whatever lay beyond, one by one, for every such object; the clr fuzz target's timeout).
    @Test func anObjectRunningPastItsSegmentIsNotReadBeyondIt() throws {
        let dumpPath = Self.sample
        guard FileManager.default.fileExists(atPath: dumpPath) else { return }
        let s = try Self.sosSession().0
        let (r, heap) = try SosRuntimes.heap(for: s)
        var array: UInt64 = 0
        heap.enumerateObjects { o in
            if r.type(o.methodTable)?.name == "System.Object[]" { array = o.address; return false }
            return true
        }
        try #require(array != 0)
        let opened = try DumpLoader.open(path: dumpPath)
        let path = try ClrFixtures.mutant(try #require(opened.decompressedPath), opened.dump, [(array + 8, 0x1000_0000)])
        defer { unlink(path) }
        let (ms, mb) = try Self.sosSession(path)
        let (mr, mheap) = try SosRuntimes.heap(for: ms)
        let finder = ClrRootPathFinder(runtime: mr, heap: mheap, target: 0x7777_7777_7770, handles: mr.handles(), shouldStop: {})
        #expect(try finder.path(from: array) == nil)
        let heapSlots = mheap.segments.reduce(0) { $0 + Int(($1.end &- $1.start) / 8) }
        #expect(finder.objectsVisited == 1 && finder.slotsRead <= heapSlots && finder.slotsRead < 1 << 20,
                "\(finder.slotsRead) slots read, \(heapSlots) in the heap")
        #expect(ClrFixtures.run(ms, mb, "!gcroot \(String(array, radix: 16))").contains("Found 0 unique roots"))
    }

    /// Finalization queue ranges as damage leaves them: at the top of the address space (the walk used to wrap
    /// to 0 and start again), across memory the dump holds and memory it does not.
    @Test func finalizerSlotWalksEndAndCountWhatIsMissing() throws {
        let dumpPath = Self.sample
        guard FileManager.default.fileExists(atPath: dumpPath) else { return }
        let s = try Self.sosSession().0
        let r = try SosRuntimes.heap(for: s).0
        var calls = 0
        #expect(r.forEachFinalizerSlot((.max - 15, .max)) { _, _ in calls += 1 } == 2 && calls == 0)
        // A range the dump holds in full, then a gap it does not, then the next range.
        let ranges = r.memory.ranges
        let i = try #require(ranges.indices.dropLast().first {
            ranges[$0].present == ranges[$0].size && ranges[$0].end < ranges[$0 + 1].start && ranges[$0 + 1].present >= 64
        })
        let (held, next) = (ranges[i], ranges[i + 1])
        let missing = r.forEachFinalizerSlot((held.end - 32, next.start + 64)) { slot, _ in
            #expect(slot < held.end || slot >= next.start)
            calls += 1
        }
        #expect(calls == 12 && missing == Int((next.start - held.end) / 8))
        #expect(r.forEachFinalizerSlot((held.end, held.end)) { _, _ in calls += 1 } == 0 && calls == 12)
    }

    /// A sync table whose free index says 4 billion entries: the walk reads on to the first entry the dump does not
    /// hold, a block at a time where it can, and visits what an entry-by-entry read of the target visits. `!syncblk`
    /// counts them; `!analyze -v -hang` keeps only the held monitors.
    @Test func aSyncTableFreeIndexOfFourBillionIsReadToTheEndOfTheTable() throws {
        let dumpPath = Self.sample
        guard FileManager.default.fileExists(atPath: dumpPath) else { return }
        let r = try SosRuntimes.heap(for: try Self.sosSession().0).0
        let cache = try #require(r.globalPointer(.syncBlockCache))
        let table = try #require(r.globalPointer(.syncTable))
        let indexField = cache + r.layout.sync.cacheFreeSyncTableIndex
        let word = try #require(r.target.u64(indexField))
        let opened = try DumpLoader.open(path: dumpPath)
        let path = try ClrFixtures.mutant(try #require(opened.decompressedPath), opened.dump,
                                          [(indexField, word & 0xFFFF_FFFF_0000_0000 | 0xFFFF_FFFF)])
        defer { unlink(path) }
        let (ms, mb) = try Self.sosSession(path)
        let mr = try SosRuntimes.heap(for: ms).0
        var seen: [(Int, UInt64, UInt64)] = []
        let visited = try #require(mr.forEachSyncBlockEntry { seen.append(($0.index, $0.syncBlock, $0.isFree ? 0 : $0.object)) })
        // The same walk, one entry at a time through the target, as the reader did before it read blocks.
        var expected: [(Int, UInt64, UInt64)] = []
        for i in 1..<(1 << 22) {
            guard let sb = mr.target.u64(table + UInt64(i) * 16), let obj = mr.target.u64(table + UInt64(i) * 16 + 8) else { break }
            expected.append((i, sb, obj & 1 != 0 ? 0 : obj))
        }
        #expect(visited == expected.count && visited > 4096, "\(visited) entries visited, \(expected.count) by one-at-a-time reads")
        #expect(seen.elementsEqual(expected, by: { $0 == $1 }))
        let sync = ClrFixtures.run(ms, mb, "!syncblk")
        #expect(sync.contains("Total           \(visited)\n"), "\(sync)")
        #expect(ClrFixtures.run(ms, mb, "!analyze -v -hang").utf8.count < 1 << 20)
        // -all makes every entry a row, and each row past the real ones holds whatever memory follows the table, so
        // many name an owner. Each owner is a lookup (the clr fuzz target timed out when each walked the thread list);
        // the lookups answer what a search of both thread lists in order answers.
        var holders: Set<UInt64> = Set(mr.threads().map(\.address))
        mr.forEachSyncBlockEntry { if !$0.isFree { holders.insert($0.holdingThread) } }
        #expect(holders.count > 1000, "\(holders.count) owners")
        let owners = MonitorOwner.Resolver(mr, ms)
        for h in holders where h != 0 && h != .max {
            let os = mr.threads().first { $0.address == h }?.osId
            let owner = try #require(owners.owner(h))
            #expect(owner.osId?.value == os && owner.debuggerThread == os.flatMap { id in ms.dump.threads.firstIndex { $0.id == id } })
        }
        #expect(owners.owner(.max)?.orphaned == true && owners.owner(0) == nil)
        let requestsBefore = mr.threadListRequests
        let all = ClrFixtures.run(ms, mb, "!syncblk -all")
        #expect(all.split(separator: "\n").count == visited + 4 && all.contains("Total           \(visited)\n"))
        // The answers above hold for a per-row walk or search of the thread list too; only the cost tells them apart.
        let requests = mr.threadListRequests - requestsBefore
        #expect(requests <= 1 && mr.threadListWalks == 1, "!syncblk -all asked for the thread list \(requests) times; \(mr.threadListWalks) walks")
    }

    @Test func theDumpFileIsNeverWritten() throws {
        let dumpPath = Self.sample
        guard FileManager.default.fileExists(atPath: dumpPath) else { return }
        let opened = try DumpLoader.open(path: dumpPath)
        let files = [dumpPath, try #require(opened.decompressedPath)]
        func fingerprint() throws -> [Data] { try files.map { try Data(contentsOf: URL(fileURLWithPath: $0)) } }
        let before = try fingerprint()
        let attributes = try files.map { try FileManager.default.attributesOfItem(atPath: $0)[.modificationDate] as? Date }
        let (s, b) = try ClrFixtures.session(dump: dumpPath, appFolder: ClrFixtures.samplesFolder)
        for cmd in [".loadby sos clr"] + Self.commands + ["!da -details 0", "s -a 0 L?ffffffffffffffff \"x\"", "db 0 L?ffffffff"] {
            _ = ClrFixtures.run(s, b, cmd)
        }
        #expect(try fingerprint() == before)
        #expect(try files.map { try FileManager.default.attributesOfItem(atPath: $0)[.modificationDate] as? Date } == attributes)
    }
}
