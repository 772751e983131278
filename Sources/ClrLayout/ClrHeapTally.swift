import Dispatch
import DumpModel
import Foundation

/// Objects and bytes per MethodTable over the whole heap: what `!dumpheap -stat` prints, computed without
/// visiting objects one by one through a closure.
public struct ClrHeapTally: Sendable {
    public struct Entry: Sendable {
        public let methodTable: UInt64
        public var count: Int
        public var size: UInt64
    }
    public var entries: [Entry]
    /// Segments whose walk ended early, in heap order (as `ClrHeap.walkProblems`).
    public var problems: [String]
    /// True when `shouldStop` ended the walk.
    public var stopped: Bool
}

/// An open-addressing table keyed by MethodTable address: objects of one type sit together, so lookups are
/// rare next to the walk, but Swift's Dictionary hashes with SipHash, which a heap walk feels.
struct MethodTableTable<Value> {
    private(set) var keys: [UInt64]
    private(set) var values: [Value]
    private var mask: Int
    private(set) var count = 0
    private let empty: Value

    init(empty: Value, capacity: Int = 1024) {
        var n = 16
        while n < capacity * 2 { n <<= 1 }
        keys = Array(repeating: 0, count: n)
        values = Array(repeating: empty, count: n)
        mask = n - 1
        self.empty = empty
    }

    @inline(__always)
    private func slot(_ key: UInt64) -> Int {
        // MethodTables are 8-aligned; a multiplicative hash spreads the rest over the table.
        Int(truncatingIfNeeded: ((key >> 3) &* 0x9E37_79B9_7F4A_7C15) >> 20) & mask
    }

    /// The index of `key`'s slot (key 0 is never stored: a zero word is not a MethodTable).
    @inline(__always)
    func find(_ key: UInt64) -> Int? {
        var i = slot(key)
        while true {
            let k = keys[i]
            if k == key { return i }
            if k == 0 { return nil }
            i = (i + 1) & mask
        }
    }

    @inline(__always)
    subscript(index: Int) -> Value {
        get { values[index] }
        set { values[index] = newValue }
    }

    /// The slot for `key`, made with `empty` when absent.
    @inline(__always)
    mutating func insert(_ key: UInt64) -> Int {
        if let i = find(key) { return i }
        if (count + 1) * 2 > keys.count { grow() }
        var i = slot(key)
        while keys[i] != 0 { i = (i + 1) & mask }
        keys[i] = key
        count += 1
        return i
    }

    private mutating func grow() {
        let oldKeys = keys, oldValues = values
        keys = Array(repeating: 0, count: oldKeys.count * 2)
        values = Array(repeating: empty, count: oldKeys.count * 2)
        mask = keys.count - 1
        count = 0
        for (k, v) in zip(oldKeys, oldValues) where k != 0 {
            let i = insert(k)
            values[i] = v
        }
    }

    func forEach(_ body: (UInt64, Value) -> Void) {
        for (k, v) in zip(keys, values) where k != 0 { body(k, v) }
    }
}

extension ClrHeap {
    /// Counts objects and bytes per MethodTable. Segments (regions, server heaps) are walked by `workers`
    /// threads at once, each with its own tables; a segment is read straight from the mapping where the dump
    /// holds it in one range. The rules are `enumerateObjects`'s: allocation contexts skipped, a damaged
    /// MethodTable or a missing object ends its segment with a problem noted.
    public func tally(workers: Int? = nil,
                      shouldStop: @escaping @Sendable () -> Bool = { false }) -> ClrHeapTally {
        let segments = self.segments
        // Largest first, so the last segments claimed are small and the workers finish together.
        let order = segments.indices.sorted { segments[$0].end &- segments[$0].start > segments[$1].end &- segments[$1].start }
        let contexts = allocationContexts.keys.sorted().map { ($0, allocationContexts[$0]!) }
        let sizes = SharedSizes(runtime: runtime)
        let results = SegmentResults(count: segments.count)
        let claim = Claim(count: order.count)
        let walker = SegmentWalker(runtime: runtime, contexts: contexts)
        let threads = max(1, min(workers ?? ProcessInfo.processInfo.activeProcessorCount, order.count))
        let work: @Sendable (Int) -> Void = { _ in
            var local = MethodTableTable<(UInt64, UInt64, Bool)>(empty: (0, 0, false), capacity: 256)
            var tallies = MethodTableTable<(count: Int, size: UInt64)>(empty: (0, 0))
            while let k = claim.next() {
                if shouldStop() { results.stop(); break }
                let i = order[k]
                let problem = walker.walk(segments[i], local: &local, shared: sizes, into: &tallies, shouldStop: shouldStop)
                results.set(i, problem: problem)
            }
            results.merge(tallies)
        }
        // One worker runs on the caller's thread: no pool thread is started for it.
        if threads == 1 { work(0) } else { DispatchQueue.concurrentPerform(iterations: threads, execute: work) }
        if shouldStop() { results.stop() }
        return results.tally()
    }
}

/// Reads one segment's objects into a per-thread table.
struct SegmentWalker: @unchecked Sendable {
    /// How much of a segment is walked before the pages behind are released.
    static let releaseWindow: UInt64 = 64 << 20
    let memory: AddressSpace
    let align: UInt64, minObject: UInt64, lengthOffset: UInt64
    let contexts: [(UInt64, UInt64)]

    init(runtime: ClrRuntime, contexts: [(UInt64, UInt64)]) {
        let l = runtime.layout
        memory = runtime.memory
        align = l.objectAlignment - 1
        minObject = l.minObjectSize
        lengthOffset = l.arrayLength
        self.contexts = contexts
    }

    /// Returns the problem that ended the segment early, if any.
    func walk(_ seg: ClrSegment, local: inout MethodTableTable<(UInt64, UInt64, Bool)>, shared: SharedSizes,
              into tallies: inout MethodTableTable<(count: Int, size: UInt64)>, shouldStop: () -> Bool) -> String? {
        guard seg.end > seg.start else { return nil }
        let length = seg.end - seg.start
        var nextContext = contexts.firstIndex { $0.0 >= seg.start } ?? contexts.count
        var contextAt = nextContext < contexts.count ? contexts[nextContext].0 : UInt64.max
        let buffer = length < UInt64(Int.max) ? memory.contiguousBytes(seg.start, count: Int(length)) : nil
        @inline(__always) func word(_ a: UInt64) -> UInt64? {
            let rel = a &- seg.start
            if let buffer, rel <= length &- 8, length >= 8 {
                return UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: Int(rel), as: UInt64.self))
            }
            return memory.readU64(a)
        }
        @inline(__always) func u32(_ a: UInt64) -> UInt32? {
            let rel = a &- seg.start
            if let buffer, rel <= length &- 4, length >= 4 {
                return UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: Int(rel), as: UInt32.self))
            }
            return memory.readU32(a)
        }
        // 1 is no MethodTable (they are 8-aligned), so the first object always starts a run.
        var runMT: UInt64 = 1, runCount = 0, runSize: UInt64 = 0
        var base: UInt64 = 0, component: UInt64 = 0
        var untilCheck = 1 << 16
        var problem: String?
        // A segment of a big heap is read once: its pages are let go behind the walk, so the resident set
        // stays near the window, not the heap (small segments stay resident for the commands that follow).
        let releasing = buffer != nil && length >= Self.releaseWindow * 2
        var releasedTo = seg.start
        defer { if releasing { memory.releasePages(releasedTo, count: Int(seg.end - releasedTo)) } }
        defer {
            if runCount > 0 {
                let i = tallies.insert(runMT)
                tallies[i].count += runCount
                tallies[i].size &+= runSize
            }
        }
        var o = seg.start
        while o < seg.end {
            if o >= contextAt {
                while nextContext < contexts.count && contexts[nextContext].0 < o { nextContext += 1 }
                if nextContext < contexts.count && contexts[nextContext].0 == o {
                    // An allocation context: [alloc_ptr, alloc_limit) plus the object header slack is unused.
                    let next = contexts[nextContext].1 &+ minObject
                    guard next > o else { break }
                    o = next
                    nextContext += 1
                }
                contextAt = nextContext < contexts.count ? contexts[nextContext].0 : UInt64.max
                continue
            }
            untilCheck -= 1
            if untilCheck == 0 {
                untilCheck = 1 << 16
                if shouldStop() { break }
                if releasing && o - releasedTo >= Self.releaseWindow {
                    memory.releasePages(releasedTo, count: Int(o - releasedTo))
                    releasedTo = o
                }
            }
            guard let w = word(o) else {
                problem = "object \(Hex16.s(o)): not in the dump; rest of segment \(Hex16.s(seg.address)) skipped"
                break
            }
            let mt = w & ~7
            if mt != runMT {
                if runCount > 0 {
                    let i = tallies.insert(runMT)
                    tallies[i].count += runCount
                    tallies[i].size &+= runSize
                }
                runMT = mt
                runCount = 0
                runSize = 0
                let s: (UInt64, UInt64, Bool)
                if mt != 0, let i = local.find(mt) { s = local[i] } else {
                    s = shared.sizes(of: mt)
                    if mt != 0 { local[local.insert(mt)] = s }
                }
                guard s.2 else {
                    problem = "object \(Hex16.s(o)): bad MethodTable \(Hex16.s(mt)); rest of segment \(Hex16.s(seg.address)) skipped"
                    break
                }
                base = s.0
                component = s.1
            }
            var size = base
            if component != 0 {
                guard let n = u32(o &+ lengthOffset) else { break }
                size &+= component &* UInt64(n)
            }
            if size < minObject { size = minObject }
            runCount &+= 1
            runSize &+= size
            let next = (o &+ size &+ align) & ~align
            guard next > o else { break }
            o = next
        }
        return problem
    }
}

/// The runtime's type reader is not thread-safe: a worker asks it for a size under a lock, once per type.
final class SharedSizes: @unchecked Sendable {
    private let runtime: ClrRuntime
    private let lock = NSLock()
    init(runtime: ClrRuntime) { self.runtime = runtime }

    /// (base size, component size, valid).
    func sizes(of mt: UInt64) -> (UInt64, UInt64, Bool) {
        guard mt != 0 else { return (0, 0, false) }
        lock.lock(); defer { lock.unlock() }
        guard let t = runtime.type(mt), t.baseSize >= 16 else { return (0, 0, false) }
        return (UInt64(t.baseSize), UInt64(t.componentSize), true)
    }
}

final class Claim: @unchecked Sendable {
    private let lock = NSLock()
    private var claimed = 0
    private let count: Int
    init(count: Int) { self.count = count }
    func next() -> Int? {
        lock.lock(); defer { lock.unlock() }
        guard claimed < count else { return nil }
        claimed += 1
        return claimed - 1
    }
}

final class SegmentResults: @unchecked Sendable {
    private let lock = NSLock()
    private var problems: [String?]
    private var merged = MethodTableTable<(count: Int, size: UInt64)>(empty: (0, 0))
    private var stopped = false
    init(count: Int) { problems = Array(repeating: nil, count: count) }
    func set(_ i: Int, problem: String?) { lock.lock(); problems[i] = problem; lock.unlock() }
    func stop() { lock.lock(); stopped = true; lock.unlock() }
    func merge(_ t: MethodTableTable<(count: Int, size: UInt64)>) {
        lock.lock(); defer { lock.unlock() }
        t.forEach { mt, v in
            let i = merged.insert(mt)
            merged[i].count += v.count
            merged[i].size &+= v.size
        }
    }
    func tally() -> ClrHeapTally {
        lock.lock(); defer { lock.unlock() }
        var entries: [ClrHeapTally.Entry] = []
        merged.forEach { entries.append(.init(methodTable: $0, count: $1.count, size: $1.size)) }
        return ClrHeapTally(entries: entries, problems: problems.compactMap { $0 }, stopped: stopped)
    }
}
