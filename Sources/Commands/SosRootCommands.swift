import ClrLayout
import DumpModel

/// `!GCHandles [-type T] [-stat]`: the runtime's GC handles, with the objects they hold.
struct GCHandlesCommand: ValueCommand {
    let names = ["!GCHandles", "!gchandles"]
    let summary = "list the GC handles (strong, pinned, weak, dependent...) and the objects they hold"
    let help = """
    !GCHandles [-type <HandleType>] [-stat]
    walks the runtime's handle table: every handle in use, its type, the object it holds (and a dependent
    handle's secondary object), then statistics per object type and counts per handle type.
    Handle types: Strong, Pinned, WeakShort, WeakLong, Dependent, AsyncPinned, SizedRef, RefCounted, Variable.
    Example: !gchandles -type Pinned
    """
    var extensionName: String? { "sos" }

    func evaluate(_ inv: Invocation, in s: Session) throws -> any CommandValue {
        let args = try CommandArguments(inv, flags: ["-stat", "-perdomain"], valued: ["-type"], positionals: 0...0,
                                        usage: "!GCHandles [-type <HandleType>] [-stat]")
        let r = try Sos.run { try SosRuntimes.runtime(for: s) }
        var kind: ClrHandle.Kind?
        if let want = args.values["-type"] {
            guard let k = ClrHandle.Kind.allCases.first(where: { $0.name.lowercased() == want.lowercased() }) else {
                throw CommandError("Unknown handle type '\(want)': one of " + ClrHandle.Kind.allCases.map(\.name).joined(separator: ", "), kind: .usage)
            }
            kind = k
        }
        let all = r.handles()
        guard !all.isEmpty || r.global(.handleTableMap) != nil else {
            throw CommandError("The runtime's handle table is not readable in this dump", kind: .unavailable)
        }
        let handles = all.filter { kind == nil || $0.kind == kind }
        var stats: [UInt64: (count: Int, size: UInt64)] = [:]
        let rows = handles.map { h -> HandlesValue.Row in
            let t = r.objectType(h.object)
            let size = t.flatMap { $0.objectSize(h.object) } ?? 0
            if let t { stats[t.methodTable, default: (0, 0)].count += 1; stats[t.methodTable]!.size &+= size }
            return HandlesValue.Row(handle: HexValue(h.address), type: h.kind.name, object: HexValue(h.object), size: size,
                                    secondary: h.secondary.map(HexValue.init), objectType: t?.name ?? "<unknown type>")
        }
        let statRows = HeapStatisticsValue.rows(stats.map { ($0.key, $0.value.count, $0.value.size) }, name: { r.type($0)?.name ?? "<unknown type>" })
        let counts = ClrHandle.Kind.allCases.map { k in HandlesValue.Count(type: k.name, count: handles.filter { $0.kind == k }.count) }
        return HandlesValue(rows: args.has("-stat") ? nil : rows, types: statRows, counts: counts)
    }
}

struct HandlesValue: CommandValue {
    struct Row: Encodable {
        let handle: HexValue
        let type: String
        let object: HexValue
        let size: UInt64
        /// A dependent handle's secondary object.
        let secondary: HexValue?
        let objectType: String
    }
    struct Count: Encodable {
        let type: String
        let count: Int
    }
    /// Nil with -stat.
    let rows: [Row]?
    let types: [HeapStatisticsValue.Row]
    let counts: [Count]

    func textLines() -> [String] {
        var out: [String] = []
        if let rows {
            out.append("          Handle Type                  Object     Size             Data Type")
            for r in rows {
                out.append("\(Sos.p(r.handle.value)) \(r.type.rightPad(12)) \(Sos.p(r.object.value)) \(String(r.size).leftPad(8)) "
                    + (r.secondary.map { Sos.p($0.value) } ?? String(repeating: " ", count: 16)) + " \(r.objectType)")
            }
            out.append("")
        }
        out += ["Statistics:"] + HeapStatisticsValue.table(types)
        out.append("Total \(types.reduce(0) { $0 + $1.count }) objects")
        out += ["", "Handles:"]
        for c in counts where c.count > 0 { out.append("    " + "\(c.type) Handles:".rightPad(22) + String(c.count)) }
        return out
    }
}

/// `!GCRoot [-nostacks] <address>`: the chains of references that keep an object alive, from each root.
struct GCRootCommand: ValueCommand {
    let names = ["!GCRoot", "!gcroot"]
    let summary = "show what keeps an object alive: paths from stack slots, handles and the finalizer queue"
    let help = """
    !GCRoot [-nostacks] <object address>
    searches from every root to the object and prints one path per root that reaches it ("unique roots": a
    root whose objects an earlier root already explored is not repeated), in dotnet-dump's layout:
      Thread <osid>:  stack slots of that thread, under the managed frame they belong to (rsp+offset)
      HandleTable:    strong, pinned, async pinned, sized ref and ref counted handles (statics are held
                      through these: handle -> Object[] -> the static's value); dependent handles add
                      their secondary object as a reference of their primary
      Finalizer Queue: objects waiting for the finalizer thread
    Stack roots are what the GC would report (x64): in each managed frame, the registers and stack slots its
    GC info says hold live references at the frame's IP (rbp-38, rbx), and the references GCFrames protect;
    an interior pointer roots the object it points into; a PrestubMethodFrame's protected arguments, placed by its
    method's signature, are roots too. A frame whose GC info cannot be read has its stack words scanned for valid
    objects instead, as !dso does, and so does an explicit Frame whose arguments dumpdbg cannot place (512 bytes
    from it).
    -nostacks leaves the stacks out. Ctrl-C stops the search.
    Example: !gcroot 00007f5c3c048098
    """
    var extensionName: String? { "sos" }

    func evaluate(_ inv: Invocation, in s: Session) throws -> any CommandValue {
        let args = try CommandArguments(inv, flags: ["-nostacks", "-all"], positionals: 1...1, usage: "!GCRoot [-nostacks] <object address>")
        let target = try Sos.address(args.positionals[0], s)
        let (r, heap) = try Sos.run { try SosRuntimes.heap(for: s) }
        let warning = heap.isValidObject(target) ? nil : "Warning: \(String(target, radix: 16)) is not a valid object"
        let handles = r.handles()
        let finder = ClrRootPathFinder(runtime: r, heap: heap, target: target, handles: handles, shouldStop: { try s.checkInterrupt() })
        var roots: [RootsValue.Root] = []
        func chain(_ path: [UInt64]) -> [RootsValue.Link] {
            path.map { .init(object: HexValue($0), type: r.objectType($0)?.name ?? "<unknown type>") }
        }
        if !args.has("-nostacks") {
            let windows = s.dump.system.os == .windows
            for t in r.threads() where !t.isDead {
                guard let i = s.dump.threads.firstIndex(where: { $0.id == t.osId }) else { continue }
                let thread = s.dump.threads[i]
                guard let context = i == s.currentThread ? s.context : thread.context else { continue }
                let walk = r.stackFrames(thread: thread, context: context, modules: s.nativeModules)
                let refs = r.stackReferences(walk, windowsABI: windows, heap: heap)
                func root(_ f: ClrStackFrame?, location: String?, slot: UInt64?, _ path: [UInt64]) {
                    roots.append(.init(kind: "stack", thread: HexValue(t.osId), frame: f.map { Self.frameText($0, r, s) },
                                       location: location, slot: slot.map(HexValue.init), handleType: nil, chain: chain(path)))
                }
                // What the GC reports: each frame's live slots by its GC info, each GCFrame's protected references.
                for ref in refs.references {
                    guard let o = ref.object, o != 0, let path = try finder.path(from: o) else { continue }
                    let f = walk.first { ref.fromExplicitFrame ? $0.stackPointer == ref.source : ($0.instructionPointer == ref.source && $0.stackPointer == ref.stackPointer) }
                    root(f, location: ClrStackCommand.reference(ref, r).location, slot: ref.address, path)
                }
                // A frame whose GC info cannot be read, or a Frame whose protected arguments dumpdbg cannot place: its
                // stack words (for a Frame, the 512 bytes from it: the Frame, its saved argument registers and the stack
                // arguments after them), scanned as !dso does.
                for f in walk {
                    // `rsp`: the managed frame's SP its slots are named from (a Frame's slots are named by address only).
                    let range: (top: UInt64, bottom: UInt64), rsp: UInt64?
                    if case .explicit(let e) = f.kind {
                        guard refs.failedFrames.contains(e.address) else { continue }
                        (range, rsp) = ((e.address, e.address &+ 0x200), nil)
                    } else {
                        guard refs.failedFrames.contains(f.instructionPointer) else { continue }
                        (range, rsp) = ((f.stackPointer, f.callerStackPointer ?? f.stackPointer &+ 0x1000), f.stackPointer)
                    }
                    let slots = try r.objectsOnStack(top: range.top, bottom: range.bottom, heap: heap,
                                                     limit: 1 << 20, shouldStop: { try s.checkInterrupt() }) ?? []
                    for o in slots {
                        guard let path = try finder.path(from: o.object) else { continue }
                        root(f, location: rsp.map { "rsp+" + String(o.slot &- $0, radix: 16) }, slot: o.slot, path)
                    }
                }
            }
        }
        for h in handles where h.kind.isStrong {
            guard let path = try finder.path(from: h.object) else { continue }
            roots.append(.init(kind: "handle", thread: nil, frame: nil, location: nil, slot: HexValue(h.address), handleType: h.kind.rootName,
                               chain: chain(path)))
        }
        for q in r.finalizeQueues() ?? [] {
            _ = try r.forEachFinalizerSlot(q.ready) { slot, o in
                guard let path = try finder.path(from: o) else { return }
                roots.append(.init(kind: "finalizer", thread: nil, frame: nil, location: nil, slot: HexValue(slot), handleType: nil,
                                   chain: chain(path)))
            }
        }
        return RootsValue(warning: warning, roots: roots, objectsVisited: finder.objectsVisited)
    }

    /// dotnet-dump's frame line (GCRootCommand.GetFrameOutput): SP, IP and method for a managed frame; for an explicit
    /// Frame, its address, `[Class] ` and, when it stands for a method, ` (Method(Signature))`.
    static func frameText(_ f: ClrStackFrame, _ r: ClrRuntime, _ s: Session) -> String {
        if case .explicit(let e) = f.kind {
            return String(e.address, radix: 16) + " [\(e.name ?? "Frame")] " + (e.methodDesc.map { " (" + r.methodName($0, withModule: false) + ")" } ?? "")
        }
        let line = ClrStackCommand.frame(f, r, s)
        return "\(String(line.childSP.value, radix: 16)) \(String(line.ip.value, radix: 16)) \(line.callSite)"
    }
}

struct RootsValue: CommandValue {
    struct Link: Encodable {
        let object: HexValue
        let type: String
    }
    struct Root: Encodable {
        /// "stack", "handle" or "finalizer".
        let kind: String
        let thread: HexValue?
        /// The frame the stack slot belongs to, as dotnet-dump prints it.
        let frame: String?
        /// `rsp+38` or a register name, for stack roots.
        let location: String?
        /// The stack slot, handle, or finalizer queue entry.
        let slot: HexValue?
        let handleType: String?
        /// From the root's object to the target.
        let chain: [Link]
    }
    let warning: String?
    let roots: [Root]
    let objectsVisited: Int

    func textLines() -> [String] {
        var out: [String] = []
        if let warning { out.append(warning) }
        var last: Root?
        for root in roots {
            switch root.kind {
            case "stack":
                if last?.kind != "stack" || last?.thread?.value != root.thread?.value {
                    out.append("Thread \(String(root.thread?.value ?? 0, radix: 16)):")
                }
                if let f = root.frame, last?.frame != f || last?.thread?.value != root.thread?.value { out.append("    " + f) }
                // SOS (GCRootCommand): the register and offset when the root has them; a Frame's slot has only its address.
                out.append("        " + (root.location.map { $0 + ":" } ?? "") + (root.slot.map { " " + Sos.p($0.value) } ?? ""))
            case "handle":
                if last?.kind != "handle" { out.append("HandleTable:") }
                out.append("    \(Sos.p(root.slot?.value ?? 0)) (\(root.handleType ?? "handle"))")
            default:
                if last?.kind != "finalizer" { out.append("Finalizer Queue:") }
                out.append("    \(Sos.p(root.slot?.value ?? 0)) (finalizer root)")
            }
            for l in root.chain { out.append("          ->  \(Sos.p(l.object.value))     \(l.type)") }
            out.append("")
            last = root
        }
        out.append("Found \(roots.count) unique roots.")
        return out
    }
}
