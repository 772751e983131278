import DumpModel

/// A managed work item waiting in the thread pool's queues.
public struct ClrQueuedWorkItem: Sendable {
    /// The worker's local queue (a ThreadPoolWorkQueue+WorkStealingQueue object), or nil for the global queue.
    public let localQueue: UInt64?
    /// Queued in the global queue's high-priority part (.NET 8).
    public let highPriority: Bool
    public let object: UInt64
    public let methodTable: UInt64
    public let size: UInt64
    /// The MethodDesc the item will call: its `_callback` (QueueUserWorkItem) or `m_action` (Task) delegate's
    /// target, when it can be told.
    public let callback: UInt64?
}

extension ClrRuntime {
    /// Every managed work item queued in the thread pool, as SOS's `!ThreadPool -wi` finds them: the heap's
    /// ThreadPoolWorkQueue (its ConcurrentQueue segments: workItems, and .NET 8's highPriorityWorkItems) and each
    /// worker's WorkStealingQueue (`m_array`). Bounded: at most `limit` items, 8192 slots per array.
    public func queuedWorkItems(_ heap: ClrHeap, limit: Int = 100_000) -> [ClrQueuedWorkItem] {
        var globals: [UInt64] = [], locals: [UInt64] = []
        var kind: [UInt64: Int] = [:]   // MT -> 0 other, 1 global queue, 2 local queue
        heap.enumerateObjects { o in
            let k: Int
            if let known = kind[o.methodTable] { k = known } else {
                switch type(o.methodTable)?.name {
                case "System.Threading.ThreadPoolWorkQueue"?: k = 1
                case "System.Threading.ThreadPoolWorkQueue+WorkStealingQueue"?: k = 2
                default: k = 0
                }
                kind[o.methodTable] = k
            }
            if k == 1 { globals.append(o.address) } else if k == 2 { locals.append(o.address) }
            return true
        }
        var out: [ClrQueuedWorkItem] = []
        func add(_ item: UInt64, local: UInt64?, high: Bool) {
            guard out.count < limit, item != 0, let t = objectType(item) else { return }
            out.append(ClrQueuedWorkItem(localQueue: local, highPriority: high, object: item, methodTable: t.methodTable,
                                         size: t.objectSize(item) ?? UInt64(t.baseSize), callback: workItemCallback(item)))
        }
        for q in globals {
            if let high = referenceField(q, "highPriorityWorkItems") {
                for item in concurrentQueueItems(high) { add(item, local: nil, high: true) }
            }
            if let items = referenceField(q, "workItems") {
                for item in concurrentQueueItems(items) { add(item, local: nil, high: false) }
            }
        }
        for q in locals {
            guard let array = referenceField(q, "m_array"), array != 0, let n = arrayLength(array) else { continue }
            let data = array &+ layout.szArrayData
            for i in 0..<min(n, 8192) {
                if let item = target.u64(data &+ i &* 8), item != 0 { add(item, local: q, high: false) }
            }
        }
        return out
    }

    /// The items of a ConcurrentQueue<T> of references: every segment's `_slots` (Slot structs that start with
    /// the item) from `_head` along `_nextSegment`. A dequeued slot is cleared, so non-null slots are queued.
    func concurrentQueueItems(_ queue: UInt64) -> [UInt64] {
        guard queue != 0, var segment = referenceField(queue, "_head") else { return [] }
        var out: [UInt64] = []
        var seen: Set<UInt64> = []
        while segment != 0, seen.insert(segment).inserted, seen.count <= 4096 {
            if let slots = referenceField(segment, "_slots"), slots != 0, let t = objectType(slots), let n = arrayLength(slots) {
                let stride = UInt64(t.componentSize)
                let data = arrayData(slots, t)
                if stride >= 8 {
                    for i in 0..<min(n, 1 << 20) {
                        if let item = target.u64(data &+ i &* stride), item != 0 { out.append(item) }
                    }
                }
            }
            guard let next = referenceField(segment, "_nextSegment") else { break }
            segment = next
        }
        return out
    }

    /// The method a work item will run, as SOS finds it: the delegate in its `_callback` or `m_action` field.
    public func workItemCallback(_ item: UInt64) -> UInt64? {
        for name in ["_callback", "m_action"] {
            if let d = referenceField(item, name), d != 0, let md = delegateMethodDesc(d) { return md }
        }
        return nil
    }

    /// The MethodDesc a delegate calls: `_methodPtrAux` for a static method (then `_methodPtr` is a shuffle
    /// thunk), else `_methodPtr`; each is compiled code, ReadyToRun code or a precode standing in for it.
    public func delegateMethodDesc(_ delegate: UInt64) -> UInt64? {
        var candidates: [UInt64] = []
        if case .nativeInt(let aux)? = fieldValue(delegate, named: "_methodPtrAux"), aux != 0 { candidates.append(aux) }
        if case .nativeInt(let ptr)? = fieldValue(delegate, named: "_methodPtr"), ptr != 0 { candidates.append(ptr) }
        for c in candidates {
            if let md = methodDesc(forEntry: c) { return md }
        }
        return nil
    }

    /// The MethodDesc behind a code address: the code map for compiled code, else the precode's own record
    /// of its method (Docs/clr/work-items.md).
    public func methodDesc(forEntry entry: UInt64) -> UInt64? {
        if let c = codeMap.code(at: entry) { return c.methodDesc }
        guard let b = target.read(entry, count: 16), let md = precodeMethodDesc(at: entry, bytes: b) else { return nil }
        guard md != 0, methodDescInfo(md) != nil else { return nil }
        return md
    }
}
