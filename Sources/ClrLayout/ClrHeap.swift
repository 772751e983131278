import DumpModel

/// One GC heap segment, or with regions one region.
public struct ClrSegment: Sendable {
    /// Which heap the segment belongs to.
    public enum Kind: String, Sendable {
        case smallObject, largeObject, pinnedObject
        /// Read-only segments the runtime fills itself (8.0: string literals, RuntimeType objects).
        case frozen
    }
    public let address: UInt64
    /// First object.
    public let start: UInt64
    /// End of the objects (alloc_allocated for the ephemeral segment).
    public let end: UInt64
    public let committed: UInt64
    public let reserved: UInt64
    public let flags: UInt64
    public let kind: Kind
    /// Segments: 2 for small-object segments, 3 for the LOH. Regions: the generation whose list holds the
    /// region (0, 1, 2, 3 = LOH, 4 = POH).
    public let generation: Int
    public let isEphemeral: Bool
    /// The GC heap the segment belongs to (0 with workstation GC).
    public let heap: Int
    public var isLarge: Bool { kind == .largeObject }
    public func contains(_ a: UInt64) -> Bool { a >= start && a < end }
}

/// An object found on the heap.
public struct ClrHeapObject: Sendable {
    public let address: UInt64
    public let methodTable: UInt64
    public let size: UInt64
}

/// One GC heap's own bookkeeping: workstation GC has one, kept in globals; server GC has one per gc_heap object.
public struct ClrGCHeapInfo: Sendable {
    public let index: Int
    /// The gc_heap object (0 for workstation GC).
    public let address: UInt64
    /// Its generation_table (max_generation + 1 small-object generations, then LOH, then POH).
    public let generationTable: UInt64
    public let ephemeralSegment: UInt64
    public let allocAllocated: UInt64
    /// Its CFinalize (0 when not known).
    public let finalizeQueue: UInt64
}

extension ClrRuntime {
    /// The GC heaps: the workstation heap from the GC's globals, or every server heap from n_heaps and g_heaps
    /// with the per-heap field offsets the build fixes or publishes (Docs/clr/server-gc.md).
    public func gcHeapInfos() throws(ClrError) -> [ClrGCHeapInfo] {
        let t = target
        guard isServerGC == true else {
            guard let table = global(.generationTable), let ephA = global(.ephemeralHeapSegment), let allocA = global(.allocAllocated) else {
                throw ClrError("the GC heap globals are not known (\(globals.provenance))")
            }
            guard let eph = t.u64(ephA), let alloc = t.u64(allocA) else { throw ClrError("the GC heap is not in this dump") }
            return [ClrGCHeapInfo(index: 0, address: 0, generationTable: table, ephemeralSegment: eph, allocAllocated: alloc,
                                  finalizeQueue: globalPointer(.finalizeQueue) ?? 0)]
        }
        guard let countA = global(.gcHeapCount), let listA = global(.gcHeapList) else {
            throw ClrError("this dump uses server GC, and the server GC's globals are not known (\(globals.provenance))")
        }
        guard let count = t.u32(countA), let list = t.u64(listA), list != 0 else { throw ClrError("the GC heap is not in this dump") }
        guard count >= 1, count <= 1024 else { throw ClrError("implausible server GC heap count \(count)") }
        var offsets: [ClrServerHeapLayout.Field: UInt64] = [:]
        switch layout.serverHeap.offsets {
        case .fixed(let fixed): offsets = fixed
        case .published(let indices):
            guard let array = global(.gcHeapFieldOffsets) else { throw ClrError("the server GC's field offsets are not in this dump") }
            for (field, i) in indices {
                guard let raw = t.u32(array &+ UInt64(i) * 4), Int32(bitPattern: raw) >= 0, raw < 1 << 20 else {
                    throw ClrError("the server GC publishes no offset for gc_heap's \(field)")
                }
                offsets[field] = UInt64(raw)
            }
        }
        guard let allocO = offsets[.allocAllocated], let ephO = offsets[.ephemeralHeapSegment], let genO = offsets[.generationTable] else {
            throw ClrError("the server GC's heap layout is not known")
        }
        var out: [ClrGCHeapInfo] = []
        for i in 0..<Int(count) {
            guard let h = t.u64(list &+ UInt64(i) &* 8), h != 0, let eph = t.u64(h &+ ephO), let alloc = t.u64(h &+ allocO) else {
                throw ClrError("server GC heap \(i) is not in this dump")
            }
            let cf = offsets[.finalizeQueue].flatMap { t.u64(h &+ $0) } ?? 0
            out.append(ClrGCHeapInfo(index: i, address: h, generationTable: h &+ genO, ephemeralSegment: eph, allocAllocated: alloc,
                                     finalizeQueue: cf))
        }
        return out
    }
}

/// The GC heap of a CoreCLR (workstation or server GC), walked through the dump's mapping without copying it.
public final class ClrHeap: @unchecked Sendable {
    // @unchecked: immutable after init.
    unowned let runtime: ClrRuntime
    public let segments: [ClrSegment]
    /// Which segment holds an address, in the order of `segments`: asked for every object `!gcroot` and
    /// `!dumpheap` check, over thousands of regions on .NET 7 and later.
    private let segmentIndex: OverlapIndex
    public let maxGeneration: Int
    /// Segments or regions.
    public let kind: ClrHeapKind
    /// The GC heaps (one with workstation GC).
    public let heaps: [ClrGCHeapInfo]
    public var isServer: Bool { heaps.first?.address ?? 0 != 0 }
    /// Per heap, where generation n = 0...maxGeneration starts: generation_table[n].allocation_start with
    /// segments, the first region's first object with regions.
    public let generationStartsByHeap: [[UInt64]]
    /// Heap 0's generation starts.
    public var generationStarts: [UInt64] { generationStartsByHeap.first ?? [] }
    /// [alloc_ptr, alloc_limit) of every live allocation context (threads' and the GC's own).
    public let allocationContexts: [UInt64: UInt64]
    /// Problems met while walking (bad MethodTables), one line each.
    public private(set) var walkProblems: [String] = []

    init(runtime: ClrRuntime) throws(ClrError) {
        self.runtime = runtime
        let l = runtime.layout, t = runtime.target
        heaps = try runtime.gcHeapInfos()
        let maxGen = runtime.global(.maxGeneration).flatMap { t.u32($0) }.map(Int.init) ?? 2
        guard maxGen >= 1, maxGen + 1 < l.generationCount else { throw ClrError("implausible max generation \(maxGen)") }
        maxGeneration = maxGen
        kind = l.heapKind
        var segs: [ClrSegment] = []
        var seen: Set<UInt64> = []
        var starts: [[UInt64]] = []
        var ctx: [UInt64: UInt64] = [:]
        for heap in heaps {
            func generation(_ g: Int) -> UInt64 { heap.generationTable &+ UInt64(g) &* l.generationSize }
            guard let soh = t.u64(generation(maxGen) &+ l.genStartSegment), soh != 0 else {
                throw ClrError("the GC heap is not in this dump")
            }
            // Segments: gen2's list runs through every small-object segment to the ephemeral one, then the LOH's.
            // Regions: every generation (0, 1, 2, LOH, POH) owns its own list.
            let lists: [Int] = l.heapKind == .segments ? [maxGen, maxGen + 1] : Array(0..<l.generationCount)
            for gen in lists {
                var s = t.u64(generation(gen) &+ l.genStartSegment) ?? 0
                while s != 0, seen.insert(s).inserted, segs.count < 100_000 {
                    guard let mem = t.u64(s &+ l.segMem), let allocated = t.u64(s &+ l.segAllocated) else { break }
                    let flags = t.u64(s &+ l.segFlags) ?? 0
                    let end = s == heap.ephemeralSegment ? heap.allocAllocated : allocated
                    let kind: ClrSegment.Kind = flags & l.segFlagReadOnly != 0 ? .frozen
                        : gen == maxGen + 1 ? .largeObject : gen == maxGen + 2 ? .pinnedObject : .smallObject
                    let listed = l.heapKind == .segments ? (gen == maxGen ? maxGen : maxGen + 1) : gen
                    segs.append(ClrSegment(address: s, start: mem, end: max(mem, end), committed: t.u64(s &+ l.segCommitted) ?? 0,
                                           reserved: t.u64(s &+ l.segReserved) ?? 0, flags: flags, kind: kind,
                                           generation: listed, isEphemeral: s == heap.ephemeralSegment, heap: heap.index))
                    s = t.u64(s &+ l.segNext) ?? 0
                }
            }
            var heapStarts: [UInt64] = []
            for g in 0...maxGen {
                if let offset = l.genAllocationStart {
                    heapStarts.append(t.u64(generation(g) &+ offset) ?? 0)
                } else {
                    heapStarts.append(segs.first { $0.heap == heap.index && $0.generation == g && $0.kind == .smallObject }?.start ?? 0)
                }
            }
            starts.append(heapStarts)
            // Every generation's own allocation context (with segments only gen0's is ever used).
            for g in 0..<l.generationCount {
                if let p = t.u64(generation(g) &+ l.allocContextPtr), p != 0, let lim = t.u64(generation(g) &+ l.allocContextLimit) { ctx[p] = lim }
            }
        }
        segments = segs
        segmentIndex = OverlapIndex(segs.enumerated().map { (start: $1.start, end: $1.end, owner: $0) })
        generationStartsByHeap = starts
        // The heap's bytes must be in the dump: a mini or triage dump holds the GC's bookkeeping but not the objects.
        guard let first = segs.first(where: { $0.end > $0.start }), runtime.memory.isReadable(first.start),
              runtime.memory.isReadable(first.end - 1) else {
            throw ClrError("the GC heap is not in this dump")
        }
        for th in runtime.threads() where th.allocPtr != 0 { ctx[th.allocPtr] = th.allocLimit }
        allocationContexts = ctx
    }

    /// The segment holding an address.
    public func segment(containing a: UInt64) -> ClrSegment? { segmentIndex.firstOwner(containing: a).map { segments[$0] } }

    /// gen0/1/2 on the ephemeral segment by allocation starts, 2 on other small-object segments, 3 on the LOH;
    /// with regions, the generation whose list holds the region (frozen segments are on gen2's).
    public func generation(of a: UInt64) -> Int? {
        guard let s = segment(containing: a) else { return nil }
        if kind == .regions { return s.generation }
        if s.isLarge { return 3 }
        guard s.isEphemeral, s.heap < generationStartsByHeap.count else { return maxGeneration }
        let starts = generationStartsByHeap[s.heap]
        for g in 0..<maxGeneration where starts[g] != 0 && a >= starts[g] { return g }
        return maxGeneration
    }

    public var totalSize: UInt64 { segments.reduce(0) { $0 + ($1.end - $1.start) } }

    /// The heap bytes in walk order before `address` (for progress): the segments walked before its own, and
    /// the part of its own below it.
    public func bytesBefore(_ address: UInt64) -> UInt64 {
        var total: UInt64 = 0
        for seg in segments {
            if seg.contains(address) { return total &+ (address &- seg.start) }
            total &+= seg.end &- seg.start
        }
        return total
    }

    /// Walks every object in heap order. `body` returns false to stop. Objects whose MethodTable is damaged
    /// end the walk of their segment (noted in `walkProblems`), as SOS does.
    /// A segment that lies in one range of the dump is read straight from the mapping; sizes are cached per
    /// MethodTable, and the last one is kept at hand because objects of one type tend to sit together.
    public func enumerateObjects(_ body: (ClrHeapObject) throws -> Bool) rethrows {
        var problems: [String] = []
        defer { walkProblems = problems }
        try enumerateObjects(in: segments, problems: &problems, body)
    }

    /// The object an interior pointer points into (walking its segment from the start), or nil when the
    /// address is not in an object on the heap.
    public func object(containing a: UInt64) -> UInt64? {
        guard let seg = segment(containing: a) else { return nil }
        var found: UInt64?
        // A walk of one segment for one address: what it runs into is not the last heap walk's problems.
        var problems: [String] = []
        enumerateObjects(in: [seg], problems: &problems) { o in
            if o.address > a { return false }
            if a < o.address &+ o.size { found = o.address; return false }
            return true
        }
        return found
    }

    private func enumerateObjects(in segments: [ClrSegment], problems: inout [String],
                                  _ body: (ClrHeapObject) throws -> Bool) rethrows {
        let l = runtime.layout, mem = runtime.memory
        let align = l.objectAlignment - 1
        let minObject = l.minObjectSize, lengthOffset = l.arrayLength
        // MT -> (baseSize, componentSize); nil marks a bad MT.
        var sizes: [UInt64: (UInt64, UInt64)?] = [:]
        var lastMT: UInt64 = 0, lastBase: UInt64 = 0, lastComponent: UInt64 = 0
        let contexts = allocationContexts.sorted { $0.key < $1.key }
        for seg in segments {
            var nextContext = contexts.firstIndex { $0.key >= seg.start } ?? contexts.count
            let length = seg.end - seg.start
            let buffer = length < UInt64(Int.max) ? mem.contiguousBytes(seg.start, count: Int(length)) : nil
            func word(_ a: UInt64) -> UInt64? {
                let rel = a &- seg.start
                if let buffer, rel < length, length - rel >= 8 {
                    return UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: Int(rel), as: UInt64.self))
                }
                return mem.readU64(a)
            }
            func u32(_ a: UInt64) -> UInt32? {
                let rel = a &- seg.start
                if let buffer, rel < length, length - rel >= 4 {
                    return UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: Int(rel), as: UInt32.self))
                }
                return mem.readU32(a)
            }
            var o = seg.start
            while o < seg.end {
                while nextContext < contexts.count && contexts[nextContext].key < o { nextContext += 1 }
                if nextContext < contexts.count && contexts[nextContext].key == o {
                    // An allocation context: [alloc_ptr, alloc_limit) plus the object header slack is unused.
                    let next = contexts[nextContext].value &+ minObject
                    guard next > o else { break }
                    o = next
                    continue
                }
                guard let w = word(o) else {
                    problems.append("object \(Hex16.s(o)): not in the dump; rest of segment \(Hex16.s(seg.address)) skipped")
                    break
                }
                let mt = w & ~7
                if mt != lastMT || lastBase == 0 {
                    var info: (UInt64, UInt64)?
                    if let cached = sizes[mt] { info = cached } else {
                        if let t = runtime.type(mt), t.baseSize >= 16 { info = (UInt64(t.baseSize), UInt64(t.componentSize)) }
                        sizes[mt] = info
                    }
                    guard let (base, component) = info else {
                        problems.append("object \(Hex16.s(o)): bad MethodTable \(Hex16.s(mt)); rest of segment \(Hex16.s(seg.address)) skipped")
                        break
                    }
                    lastMT = mt
                    lastBase = base
                    lastComponent = component
                }
                var size = lastBase
                if lastComponent != 0 {
                    guard let n = u32(o &+ lengthOffset) else { break }
                    size &+= lastComponent &* UInt64(n)
                }
                size = max(size, minObject)
                if try !body(ClrHeapObject(address: o, methodTable: mt, size: size)) { return }
                let next = (o &+ size &+ align) & ~align
                guard next > o else { break }
                o = next
            }
        }
    }

    /// True when `a` looks like an object: on the heap, aligned, with a valid MethodTable (not Free).
    public func isValidObject(_ a: UInt64) -> Bool {
        guard a & 7 == 0, segment(containing: a) != nil, let w = runtime.memory.readU64(a),
              let t = runtime.type(w & ~7), !t.isFree else { return false }
        return true
    }
}
