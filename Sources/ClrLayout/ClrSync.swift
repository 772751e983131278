import DumpModel

/// One entry of the runtime's sync table: an object that needed a SyncBlock (a contended or waited-on monitor,
/// a hash code beside a thin lock, interop data), with its monitor's state.
public struct ClrSyncBlockEntry: Sendable {
    public let index: Int
    public let syncBlock: UInt64
    public let object: UInt64
    /// The entry is on the free list.
    public let isFree: Bool
    public let lockState: UInt32
    /// Acquisitions by the owner (1 = held once); meaningful while locked.
    public let recursion: UInt32
    /// The owner's Thread*, 0 when nobody holds the monitor, UInt64.max for an orphaned lock.
    public let holdingThread: UInt64

    public var isLocked: Bool { lockState & 1 != 0 }
    /// Threads blocked waiting to enter the monitor.
    public var waiters: UInt32 { lockState >> 6 }
    /// SOS's MonitorHeld: 1 for the owner plus 2 for each waiter.
    public var monitorHeld: UInt32 { (lockState & 1) + (waiters << 1) }
}

/// A monitor held through the object header alone (never contended, so never inflated to a SyncBlock).
public struct ClrThinLock: Sendable {
    /// The owner's thin-lock id (`Thread::m_ThreadId`, the ID column of `!threads`).
    public let threadId: UInt32
    /// The owner's Thread*, when the id is handed out.
    public let thread: UInt64?
    /// Acquisitions by the owner (the header stores acquisitions - 1).
    public let recursion: UInt32
}

/// The GC's finalization queue: per generation, the finalizable objects it still tracks, and those ready
/// for the finalizer thread.
public struct ClrFinalizeQueue: Sendable {
    /// Generation g's entries (g = 0 ... max generation), as address ranges of the queue array.
    public let generations: [(start: UInt64, end: UInt64)]
    /// Critical and normal "ready for finalization" entries, one range.
    public let ready: (start: UInt64, end: UInt64)
    /// Every entry counted in SOS's statistics: the generations and the ready ones.
    public let all: (start: UInt64, end: UInt64)
}

extension ClrRuntime {
    /// Calls `body` with each used sync table entry (1 ..< m_FreeSyncTableIndex, bounded against damaged counts) in
    /// index order, up to the first the dump does not hold, and returns how many it visited; nil when the table is not
    /// readable. A damaged free index can claim millions of entries over readable memory: callers that keep a few (the
    /// held monitors) need not hold them all.
    @discardableResult
    public func forEachSyncBlockEntry(limit: Int = 1 << 22, _ body: (ClrSyncBlockEntry) throws -> Void) rethrows -> Int? {
        let l = layout.sync, t = target
        guard let table = globalPointer(.syncTable), table != 0, let cache = globalPointer(.syncBlockCache), cache != 0,
              let next = t.u32(cache &+ l.cacheFreeSyncTableIndex) else { return nil }
        let count = min(Int(next), limit)
        guard count > 1 else { return 0 }
        func entry(_ i: Int, _ sb: UInt64, _ obj: UInt64) -> ClrSyncBlockEntry {
            let free = obj & 1 != 0
            var state: UInt32 = 0, recursion: UInt32 = 0, holder: UInt64 = 0
            // A damaged table's garbage SyncBlock pointers fail the first read; the other two would fail too, and a
            // failed read (the dump, then its mapped files) is what such a walk spends its time on.
            if !free, sb != 0, let s = t.u32(sb &+ l.lockState) {
                state = s
                recursion = t.u32(sb &+ l.lockRecursion) ?? 0
                holder = t.u64(sb &+ l.lockHoldingThread) ?? 0
            }
            return ClrSyncBlockEntry(index: i, syncBlock: sb, object: free ? 0 : obj, isFree: free, lockState: state,
                                     recursion: recursion, holdingThread: holder)
        }
        // A block of entries at a time where the dump holds it in one piece, borrowed from the mapping; one at a
        // time (through the target, which also knows a type-2 core's mapped files) where it does not.
        let block = 4096
        var i = 1
        while i < count {
            let n = min(count, (i / block + 1) * block) - i
            let start = table &+ UInt64(i) &* 16
            if let bytes = memory.contiguousBytes(start, count: n * 16) {
                let big = memory.bigEndian
                for k in 0..<n {
                    let rawSb = bytes.loadUnaligned(fromByteOffset: k * 16, as: UInt64.self)
                    let rawObj = bytes.loadUnaligned(fromByteOffset: k * 16 + 8, as: UInt64.self)
                    let sb = big ? UInt64(bigEndian: rawSb) : UInt64(littleEndian: rawSb)
                    let obj = big ? UInt64(bigEndian: rawObj) : UInt64(littleEndian: rawObj)
                    try body(entry(i + k, sb, obj))
                }
                i += n
                continue
            }
            for k in 0..<n {
                let e = start &+ UInt64(k) &* 16
                guard let sb = t.u64(e), let obj = t.u64(e &+ 8) else { return i + k - 1 }
                try body(entry(i + k, sb, obj))
            }
            i += n
        }
        return count - 1
    }

    /// SyncBlocks on the cleanup list (their objects died; the finalizer thread frees them).
    public func syncBlocksToCleanUp(limit: Int = 1 << 20) -> [UInt64] {
        let l = layout.sync, t = target
        guard let cache = globalPointer(.syncBlockCache), cache != 0 else { return [] }
        var out: [UInt64] = []
        var link = t.u64(cache &+ l.cacheCleanupList) ?? 0
        var seen = Set<UInt64>()
        while link != 0, out.count < limit, seen.insert(link).inserted {
            out.append(link &- l.syncBlockLink)
            link = t.u64(link) ?? 0
        }
        return out
    }

    /// The object header's thin lock, when the header holds one (not a hash code or a sync block index).
    public func thinLock(_ object: UInt64) -> ClrThinLock? {
        let l = layout.sync
        guard object >= 8, let header = target.u32(object &- 4) else { return nil }
        // BIT_SBLK_IS_HASH_OR_SYNCBLKINDEX and BIT_SBLK_SPIN_LOCK: no thin lock in the header.
        guard header & 0x0800_0000 == 0, header & 0x1000_0000 == 0 else { return nil }
        let id = header & l.thinLockThreadIdMask
        guard id != 0 else { return nil }
        let level = (header & l.thinLockRecursionMask) >> l.thinLockRecursionShift
        return ClrThinLock(threadId: id, thread: thread(forThinLockId: id), recursion: level + 1)
    }

    /// The sync table index stored in an object's header, if any.
    public func syncBlockIndex(_ object: UInt64) -> Int? {
        guard object >= 8, let header = target.u32(object &- 4), header & 0x0C00_0000 == 0x0800_0000 else { return nil }
        return Int(header & 0x03FF_FFFF)
    }

    /// The Thread* a thin-lock id was handed to (IdDispenser::IdToThread).
    public func thread(forThinLockId id: UInt32) -> UInt64? {
        let l = layout.sync, t = target
        guard let d = globalPointer(.thinLockIdDispenser), d != 0, let highest = t.u32(d &+ l.dispenserHighestId),
              id >= 1, id <= highest, let array = t.u64(d &+ l.dispenserIdToThread), array != 0,
              let thread = t.u64(array &+ UInt64(id) * 8), thread > 0xFFFF else { return nil }
        return thread
    }

    /// Calls `body` with each slot of a finalization queue range and the object it names, and returns how many
    /// slots the dump does not hold. Those are stepped over a run at a time: a damaged fill pointer can make a
    /// range a gigabyte long, and reading it a slot at a time took minutes.
    public func forEachFinalizerSlot(_ range: (start: UInt64, end: UInt64), _ body: (_ slot: UInt64, _ object: UInt64) throws -> Void) rethrows -> Int {
        // Slots are counted, not compared by address: a range that ends at the top of the address space must
        // not wrap back to 0. The skip asks the dump's own memory; the target's file-backed pages (a type-2
        // core's mapped files) would hold no finalization array.
        let span = range.end > range.start ? range.end - range.start : 0
        let count = span / 8 + (span % 8 == 0 ? 0 : 1)
        var k: UInt64 = 0, missing = 0
        while k < count {
            let slot = range.start &+ k &* 8
            if let o = target.u64(slot) {
                try body(slot, o)
                k += 1
                continue
            }
            let skipped: UInt64
            switch memory.nextPresentAddress(from: slot) {
            case nil: skipped = count - k
            case let next? where next > slot: skipped = min(count - k, (next &- slot &+ 7) / 8)
            default: skipped = 1   // the slot's first byte is held, not all eight
            }
            missing += Int(skipped)
            k += skipped
        }
        return missing
    }

    /// The GC's finalization queues, one per GC heap (each heap's gc_heap::finalize_queue, a CFinalize); nil
    /// when a heap's queue is not readable.
    public func finalizeQueues() -> [ClrFinalizeQueue]? {
        guard let heaps = try? gcHeapInfos(), !heaps.isEmpty else { return nil }
        var out: [ClrFinalizeQueue] = []
        for h in heaps {
            guard let q = finalizeQueue(cfinalize: h.finalizeQueue) else { return nil }
            out.append(q)
        }
        return out
    }

    /// One CFinalize. Generation g's entries are in segment `fillPointers - 2 - g - 1`; the last two segments
    /// are ready for finalization.
    func finalizeQueue(cfinalize cf: UInt64) -> ClrFinalizeQueue? {
        let l = layout.sync, t = target
        guard cf != 0, let array = t.u64(cf &+ l.finalizeArray) else { return nil }
        var fill: [UInt64] = []
        for i in 0..<l.finalizeFillPointers {
            guard let p = t.u64(cf &+ UInt64(i) * 8) else { return nil }
            fill.append(p)
        }
        func seg(_ i: Int) -> (start: UInt64, end: UInt64) { (i == 0 ? array : fill[i - 1], fill[i]) }
        let n = l.finalizeFillPointers - 2   // generations including the UOH ones, which stay empty
        // Sanity: the fill pointers only grow, and the array is not absurdly long.
        guard zip([array] + fill, fill).allSatisfy({ $0 <= $1 }), fill.last! &- array < 1 << 30 else { return nil }
        let maxGeneration = 2   // max_generation in every CoreCLR; the segments below it are LOH (and POH), always empty
        let gens = (0...max(0, maxGeneration)).map { g in seg(n - g - 1) }
        let ready = (seg(n).start, seg(n + 1).end)
        return ClrFinalizeQueue(generations: gens, ready: ready, all: (seg(n - maxGeneration - 1).start, seg(n + 1).end))
    }
}
