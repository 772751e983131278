import DumpModel

/// One entry of the runtime's handle table (Docs/clr/sync-finalize-handles.md §4).
public struct ClrHandle: Sendable {
    public enum Kind: Int, Sendable, CaseIterable {
        case weakShort = 0, weakLong, strong, pinned, variable, refCounted, dependent, asyncPinned, sizedRef, weakNative
        /// `!gchandles`' name, and `!gcroot`'s ("strong handle").
        public var name: String {
            ["WeakShort", "WeakLong", "Strong", "Pinned", "Variable", "RefCounted", "Dependent", "AsyncPinned", "SizedRef", "WeakWinRT"][rawValue]
        }
        public var rootName: String {
            ["weak short handle", "weak long handle", "strong handle", "pinned handle", "variable handle", "ref counted handle",
             "dependent handle", "async pinned handle", "sized ref handle", "weak WinRT handle"][rawValue]
        }
        /// Keeps its object alive (what !gcroot starts from).
        public var isStrong: Bool { [.strong, .pinned, .asyncPinned, .sizedRef, .refCounted].contains(self) }
    }
    /// The handle: the address of its slot.
    public let address: UInt64
    public let kind: Kind
    public let object: UInt64
    /// A dependent handle's secondary object (alive while the primary is).
    public let secondary: UInt64?
}

extension ClrRuntime {
    /// Every handle in use: the handle table map's buckets, their tables (one per GC heap), each table's
    /// 64 KiB segments, and each segment's blocks below its empty line. Bounded against damaged lists.
    public func handles(limit: Int = 1 << 22) -> [ClrHandle] {
        let l = layout.handles, t = target
        guard let map = global(.handleTableMap) else { return [] }
        // Each bucket holds one table per GC heap: n_heaps of them with server GC.
        let tablesPerBucket = UInt64((try? gcHeapInfos().count) ?? 1)
        var out: [ClrHandle] = []
        var mapAddress = map
        var maps = Set<UInt64>()
        while mapAddress != 0, maps.insert(mapAddress).inserted, maps.count < 64 {
            guard let buckets = t.u64(mapAddress), let maxIndex = t.u32(mapAddress &+ 0x10) else { break }
            for b in 0..<UInt64(min(maxIndex, 1024)) {
                guard let bucket = t.u64(buckets &+ b * 8), bucket != 0, let tables = t.u64(bucket) else { continue }
                // One table per GC heap; workstation GC has one.
                for h in 0..<tablesPerBucket {
                    guard let table = t.u64(tables &+ h * 8), table != 0 else { break }
                    var segment = t.u64(table &+ l.tableSegmentList) ?? 0
                    var seen = Set<UInt64>()
                    while segment != 0, segment & 0xFFFF == 0, seen.insert(segment).inserted, out.count < limit {
                        appendHandles(segment: segment, to: &out, limit: limit)
                        segment = t.u64(segment &+ l.segmentNext) ?? 0
                    }
                    if h > 0 && out.count >= limit { break }
                }
            }
            mapAddress = t.u64(mapAddress &+ 8) ?? 0
        }
        return out
    }

    private func appendHandles(segment: UInt64, to out: inout [ClrHandle], limit: Int) {
        let l = layout.handles
        guard let types = memory.readExact(segment &+ l.segmentBlockTypes, count: 120),
              let userData = memory.readExact(segment &+ l.segmentUserData, count: 120),
              let emptyLine = memory.readExact(segment &+ l.segmentEmptyLine, count: 1)?.first else { return }
        for b in 0..<min(Int(emptyLine), 120) {
            let type = types[b]
            // 0xFF: a free block; 11: the runtime's internal user-data block.
            guard type != 0xFF, type != 11, let kind = ClrHandle.Kind(rawValue: Int(type)) else { continue }
            let blockStart = segment &+ 0x1000 &+ UInt64(b) * 64 * 8
            guard let slots = memory.readExact(blockStart, count: 64 * 8) else { continue }
            for i in 0..<64 {
                var value: UInt64 = 0
                for k in 0..<8 { value |= UInt64(slots[i * 8 + k]) << (8 * UInt64(k)) }
                guard value != 0 else { continue }
                var secondary: UInt64?
                if kind == .dependent, userData[b] != 0xFF {
                    secondary = target.u64(segment &+ 0x1000 &+ UInt64(userData[b]) * 64 * 8 &+ UInt64(i) * 8)
                }
                out.append(ClrHandle(address: blockStart &+ UInt64(i) * 8, kind: kind, object: value, secondary: secondary))
                if out.count >= limit { return }
            }
        }
    }

    /// A type's GCDesc, read once per MethodTable.
    func gcDesc(_ t: ClrType) -> ClrGCDesc? {
        if let cached = gcDescCache[t.methodTable] { return cached }
        let d = ClrGCDesc.read(methodTable: t.methodTable, target: target)
        gcDescCache[t.methodTable] = d
        return d
    }
}

/// Where an object's references are (gcdesc.h), read from the words before its MethodTable.
struct ClrGCDesc: Sendable {
    enum Shape: Sendable {
        /// Ranges (offset from the object, length = the stored size + the object's size).
        case series([(offset: UInt64, sizeAdjust: Int64)])
        /// Arrays of structs: from `start`, repeat (pointers, bytes to skip) until the end.
        case repeating(start: UInt64, items: [(pointers: UInt64, skip: UInt64)])
    }
    let shape: Shape

    static func read(methodTable mt: UInt64, target: DataTarget) -> ClrGCDesc? {
        guard let raw = target.u64(mt &- 8) else { return nil }
        let series = Int64(bitPattern: raw)
        if series > 0 {
            guard series < 4096 else { return nil }
            var out: [(UInt64, Int64)] = []
            for i in 0..<UInt64(series) {
                let s = mt &- 8 &- 16 &* (i + 1)
                guard let size = target.u64(s), let offset = target.u64(s &+ 8) else { return nil }
                out.append((offset, Int64(bitPattern: size)))
            }
            return ClrGCDesc(shape: .series(out))
        } else if series < 0, series > -256 {
            let count = -series
            guard count < 256, let start = target.u64(mt &- 16) else { return nil }
            var items: [(UInt64, UInt64)] = []
            for i in 0..<UInt64(count) {
                guard let item = target.u64(mt &- 24 &- 8 &* i) else { return nil }
                items.append((item & 0xFFFF_FFFF, item >> 32))
            }
            if items.allSatisfy({ $0.0 == 0 && $0.1 == 0 }) { return nil }
            return ClrGCDesc(shape: .repeating(start: start, items: items))
        }
        return nil
    }

    /// Calls `body` with the address of each reference slot of the object at `object` (`size` bytes), at most
    /// `limit` slots, never past the object's end.
    func forEachSlot(object: UInt64, size: UInt64, limit: Int, _ body: (UInt64) -> Void) {
        var visited = 0
        switch shape {
        case .series(let list):
            for (offset, adjust) in list {
                let length = adjust &+ Int64(size)
                guard length > 0, length < 1 << 32, offset < size else { continue }
                var slot = object &+ offset
                let stop = min(slot &+ UInt64(length), object &+ size)
                while slot < stop, visited < limit { body(slot); slot &+= 8; visited += 1 }
            }
        case .repeating(let start, let items):
            var slot = object &+ start
            let stop = object &+ size &- 8
            while slot < stop, visited < limit {
                for item in items {
                    let end = min(slot &+ item.pointers &* 8, stop)
                    while slot < end, visited < limit { body(slot); slot &+= 8; visited += 1 }
                    slot &+= item.skip
                }
            }
        }
    }
}

/// Finds a path of references from roots to one object, as `!gcroot` does: a depth-first search from each
/// root, sharing what earlier searches learnt (an object explored once without reaching the target never
/// will), so every object is explored at most once over all roots.
public final class ClrRootPathFinder {
    private let runtime: ClrRuntime
    private let heap: ClrHeap
    public let target: UInt64
    private var explored: ObjectBitmap
    /// Dependent handles: primary -> secondaries (a secondary lives while its primary does).
    private let dependents: [UInt64: [UInt64]]
    private let shouldStop: () throws -> Void
    public private(set) var objectsVisited = 0
    /// Reference slots read so far: bounded by the heap's size, whatever the objects' headers say.
    public private(set) var slotsRead = 0

    public init(runtime: ClrRuntime, heap: ClrHeap, target: UInt64, handles: [ClrHandle], shouldStop: @escaping () throws -> Void) {
        self.runtime = runtime
        self.heap = heap
        self.target = target
        self.shouldStop = shouldStop
        explored = ObjectBitmap(heap.segments.map { ($0.start, $0.end) })
        var deps: [UInt64: [UInt64]] = [:]
        for h in handles where h.kind == .dependent { if let s = h.secondary, s != 0 { deps[h.object, default: []].append(s) } }
        dependents = deps
    }

    /// The chain from `root` (an object) to the target, both included; nil when the target is not reachable
    /// from it or was reached through an earlier root's objects.
    public func path(from root: UInt64) throws -> [UInt64]? {
        if root == target { return [root] }
        // The explored set is used as a local for the search (no exclusivity checks per access), then put back.
        var explored = ObjectBitmap([])
        swap(&explored, &self.explored)
        defer { swap(&explored, &self.explored) }
        guard !explored.contains(root), heap.isValidObject(root) else { return nil }
        // Iterative DFS: a stack of (object, its references, next index).
        var stack: [(object: UInt64, refs: [UInt64], next: Int)] = []
        func push(_ o: UInt64) {
            explored.insert(o)
            objectsVisited += 1
            var refs: [UInt64] = []
            // An object that runs past its segment has a damaged MethodTable or length: its references are not
            // read (they were up to a million slots of whatever lies beyond, one read each).
            if let t = runtime.objectType(o), t.containsPointers, let size = t.objectSize(o),
               let segment = heap.segment(containing: o), size <= segment.end &- o, let desc = runtime.gcDesc(t) {
                // The object's bytes in one piece where the dump holds them contiguously (almost always).
                if size < 1 << 26, let bytes = runtime.memory.contiguousBytes(o, count: Int(size)) {
                    desc.forEachSlot(object: o, size: size, limit: 1 << 20) { slot in
                        slotsRead += 1
                        let p = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: Int(slot &- o), as: UInt64.self))
                        if p != 0 { refs.append(p) }
                    }
                } else {
                    desc.forEachSlot(object: o, size: size, limit: 1 << 20) { slot in
                        slotsRead += 1
                        if let p = runtime.target.u64(slot), p != 0 { refs.append(p) }
                    }
                }
            }
            refs += dependents[o] ?? []
            stack.append((o, refs, 0))
        }
        push(root)
        while !stack.isEmpty {
            if objectsVisited & 0x3FFF == 0 { try shouldStop() }
            let top = stack.count - 1
            guard stack[top].next < stack[top].refs.count else { stack.removeLast(); continue }
            let r = stack[top].refs[stack[top].next]
            stack[top].next += 1
            if r == target { return stack.map(\.object) + [r] }
            guard !explored.contains(r), heap.isValidObject(r) else { continue }
            push(r)
        }
        return nil
    }
}

/// One bit per 8-byte slot of the heap's segments: which objects a search has explored. A hash set of a
/// million addresses costs more than the search itself; this is 1/64 of the heap's size.
struct ObjectBitmap {
    private var starts: [UInt64] = []
    private var ends: [UInt64] = []
    private var bits: [[UInt64]] = []
    /// Addresses outside every segment (none, for valid objects).
    private var others = Set<UInt64>()

    init(_ ranges: [(start: UInt64, end: UInt64)]) {
        for r in ranges.sorted(by: { $0.start < $1.start }) where r.end > r.start && r.end - r.start < 1 << 40 {
            starts.append(r.start); ends.append(r.end)
            bits.append([UInt64](repeating: 0, count: Int((r.end - r.start) / 512) + 1))
        }
    }

    private func locate(_ a: UInt64) -> (Int, Int, UInt64)? {
        guard let i = SortedSearch.lastIndex(starts.count, atOrBelow: a, { starts[$0] }), a < ends[i] else { return nil }
        let slot = (a - starts[i]) / 8
        return (i, Int(slot / 64), UInt64(1) << (slot % 64))
    }

    func contains(_ a: UInt64) -> Bool {
        guard let (s, w, m) = locate(a) else { return others.contains(a) }
        return bits[s][w] & m != 0
    }

    mutating func insert(_ a: UInt64) {
        guard let (s, w, m) = locate(a) else { others.insert(a); return }
        bits[s][w] |= m
    }
}
