import DumpModel

/// A Task (or an async method's state machine box) on the GC heap, as a node of the async "stacks" that
/// continuations chain together (what dotnet-dump's `dumpasync` shows).
public struct ClrAsyncObject: Sendable {
    public let address: UInt64
    public let methodTable: UInt64
    /// The type's name as the runtime spells it (`Task`1[[System.Int32, …]]`).
    public let typeName: String
    /// An `AsyncTaskMethodBuilder<T>.AsyncStateMachineBox<TStateMachine>`.
    public let isStateMachine: Bool
    /// The compiler's state machine inside the box: its address and type (a struct inline in the box, or an
    /// object when the compiler made a class, as mcs does).
    public let stateMachine: UInt64?
    public let stateMachineType: ClrType?
    public let stateMachineIsInline: Bool
    /// The state machine's `<>1__state` (Roslyn) or `$PC` (mcs): -1 running, -2 done, n ≥ 0 suspended at await n.
    public let awaitState: Int32
    /// Task.m_stateFlags.
    public let stateFlags: Int32
    /// The objects that run when this one completes, resolved to the Task or box they belong to.
    public var continuations: [UInt64]
    /// Nothing else on the heap continues into this object.
    public var isTopLevel: Bool

    /// Task's TASK_STATE_COMPLETED_MASK: RanToCompletion | Faulted | Canceled.
    public var isCompleted: Bool { stateFlags & 0x1600000 != 0 }

    /// The compiler's state machine type name without the box around it (`Samples.Chain+<InnerAsync>d__2`).
    public var stateMachineName: String? { stateMachineType?.name }
}

extension ClrRuntime {
    /// True when `t` is System.Threading.Tasks.Task or derives from it (bounded, for damaged parent chains).
    public func isTask(_ t: ClrType) -> Bool {
        var cur: ClrType? = t
        var depth = 0
        while let c = cur, depth < 64 {
            if c.name == "System.Threading.Tasks.Task", c.module === coreLib { return true }
            cur = c.parent
            depth += 1
        }
        return false
    }

    /// True for `AsyncTaskMethodBuilder<T>.AsyncStateMachineBox<TStateMachine>` and its debug variant.
    public static func isStateMachineBox(_ name: String) -> Bool {
        name.hasPrefix("System.Runtime.CompilerServices.AsyncTaskMethodBuilder`1") && name.contains("AsyncStateMachineBox")
    }

    /// Every Task and state machine box on the heap (objects bigger than 24 bytes, as dotnet-dump counts
    /// them), with continuations resolved and top-level nodes marked. Completed tasks are left out unless
    /// `includeCompleted`. `shouldStop` is polled so Ctrl-C ends a long walk.
    public func asyncObjects(heap: ClrHeap, includeCompleted: Bool,
                             shouldStop: () throws -> Void = {}) throws -> [ClrAsyncObject] {
        var taskTypes: [UInt64: Bool] = [:]
        var found: [ClrAsyncObject] = []
        var index: [UInt64: Int] = [:]
        var polled = 0
        try heap.enumerateObjects { o in
            polled += 1
            if polled & 0xFFFF == 0 { try shouldStop() }
            guard o.size > 24 else { return true }
            let isTaskType: Bool
            if let known = taskTypes[o.methodTable] { isTaskType = known } else {
                isTaskType = type(o.methodTable).map { !$0.isFree && isTask($0) } ?? false
                taskTypes[o.methodTable] = isTaskType
            }
            guard isTaskType, let t = type(o.methodTable), index[o.address] == nil,
                  let flags = int32Field(o.address, "m_stateFlags") else { return true }
            let node = asyncNode(o.address, t, flags: flags)
            if !includeCompleted && node.isCompleted { return true }
            index[o.address] = found.count
            found.append(node)
            return true
        }
        for i in found.indices {
            for c in found[i].continuations { if let j = index[c] { found[j].isTopLevel = false } }
        }
        return found
    }

    func asyncNode(_ address: UInt64, _ t: ClrType, flags: Int32) -> ClrAsyncObject {
        let isBox = Self.isStateMachineBox(t.name)
        var machine: UInt64?, machineType: ClrType?, inline = false
        var state: Int32 = 0
        if isBox, let f = t.field(named: "StateMachine") {
            let slot = instanceFieldAddress(address, f)
            if f.elementType == .valueType {
                machine = slot; inline = true
                machineType = type(fieldTypeMT(f)) ?? t.genericArguments.last.flatMap { typeForHandle($0) }
            } else if let p = target.u64(slot), p != 0 {
                machine = p; machineType = objectType(p)
            }
            if let m = machine, let mt = machineType {
                let base = inline ? m : m &+ layout.objectFieldsOffset
                if let sf = mt.field(named: "<>1__state") ?? mt.field(named: "$PC"),
                   let v = target.u32(base &+ UInt64(sf.offset)) { state = Int32(bitPattern: v) }
            }
        }
        var continuations: [UInt64] = []
        if let c = referenceField(address, "m_continuationObject"), c != 0 { addContinuation(c, to: &continuations) }
        return ClrAsyncObject(address: address, methodTable: t.methodTable, typeName: t.name, isStateMachine: isBox,
                              stateMachine: machine, stateMachineType: machineType, stateMachineIsInline: inline,
                              awaitState: state, stateFlags: flags, continuations: continuations, isTopLevel: true)
    }

    /// A continuation list (`List<object>`) adds each element; anything else adds what it resolves to.
    func addContinuation(_ c: UInt64, to out: inout [UInt64]) {
        guard let t = objectType(c) else { return }
        if t.name.hasPrefix("System.Collections.Generic.List`1") {
            guard let items = referenceField(c, "_items"), items != 0, let at = objectType(items), at.isArray,
                  let n = arrayLength(items) else { return }
            for i in 0..<min(n, 4096) {
                if case .reference(let e) = arrayElement(items, at, index: i), e != 0, objectType(e) != nil {
                    out.append(resolveContinuation(e))
                }
            }
        } else {
            out.append(resolveContinuation(c))
        }
    }

    /// Follows a continuation object to the Task or state machine it resumes (dotnet-dump's rules: a box is
    /// itself; a TaskContinuation's m_task; an action wrapper's m_action, then a delegate's _target, through
    /// AsyncMethodBuilderCore's ContinuationWrapper).
    func resolveContinuation(_ c: UInt64) -> UInt64 {
        guard let t = objectType(c) else { return c }
        if isTask(t), Self.isStateMachineBox(t.name) { return c }
        func valid(_ name: String, _ of: UInt64) -> UInt64? {
            guard let p = referenceField(of, name), p != 0, objectType(p) != nil else { return nil }
            return p
        }
        if let task = valid("m_task", c) { return task }
        var cur = c
        if let action = valid("m_action", cur) { cur = action }
        if let target = valid("_target", cur) {
            cur = target
            if objectType(cur)?.name == "System.Runtime.CompilerServices.AsyncMethodBuilderCore+ContinuationWrapper",
               let inner = valid("_continuation", cur) {
                cur = inner
                if let t2 = valid("_target", cur) { cur = t2 }
            }
        }
        return cur
    }
}
