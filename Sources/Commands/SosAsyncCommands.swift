import ClrLayout
import Foundation

/// `!dumpasync`: async "stacks" built from the Tasks and state machine boxes on the GC heap, chained by
/// their continuations, in dotnet-dump's shape (its DumpAsyncCommand, which SOS hosts in WinDbg too).
struct DumpAsyncCommand: ValueCommand {
    let names = ["!dumpasync", "!DumpAsync"]
    let summary = "show async state machines and the tasks they wait on, chained into logical stacks"
    let help = """
    !dumpasync [--stats] [--coalesce] [--address <addr>] [--methodtable <mt>] [--type <name part>]
               [--tasks] [--completed] [--fields]
    finds every Task and async state machine box on the GC heap and chains them by their continuations:
    each STACK starts at what is awaited (a pending Task) and goes up to the async methods waiting on it.
    A state machine prints its await state in parentheses: (0) is suspended at its first await, (-1) running.
      --stats        one line per frame type with its count
      --coalesce     stacks that are the same are printed once, with their count in brackets
      --address      only stacks that contain this object;   --methodtable / -mt  ... objects of this MT
      --type         only stacks with an object whose type name contains this text
      --tasks        also stacks made only of tasks (no state machine)
      --completed    also completed tasks
      --fields       each state machine's fields under its frame
    State machines compiled by Roslyn keep their state in <>1__state; mcs's are read from $PC, shown as
    stored (mcs counts its awaits from 1).
    Example: !dumpasync --coalesce
    """
    var extensionName: String? { "sos" }

    static let usage = "!dumpasync [--stats] [--coalesce] [--address <addr>] [--methodtable <mt>] [--type <name>] [--tasks] [--completed] [--fields]"

    func evaluate(_ inv: Invocation, in s: Session) throws -> any CommandValue {
        let args = try CommandArguments(inv, flags: ["--stats", "--coalesce", "--tasks", "-t", "--completed", "-c", "--fields", "-f"],
                                        valued: ["--address", "-addr", "--methodtable", "-mt", "--type"], positionals: 0...0,
                                        usage: Self.usage)
        let address = try (args.values["--address"] ?? args.values["-addr"]).map { try Sos.address($0, s) }
        let mtFilter = try (args.values["--methodtable"] ?? args.values["-mt"]).map { try Sos.address($0, s) }
        let typeFilter = args.values["--type"]
        let includeTasks = args.has("--tasks") || args.has("-t")
        let includeCompleted = args.has("--completed") || args.has("-c")
        let showFields = args.has("--fields") || args.has("-f")
        let (r, heap) = try Sos.run { try SosRuntimes.heap(for: s) }
        let nodes = try r.asyncObjects(heap: heap, includeCompleted: includeCompleted, shouldStop: { try s.checkInterrupt() })
        var byAddress: [UInt64: ClrAsyncObject] = [:]
        for n in nodes { byAddress[n.address] = n }

        func describe(_ address: UInt64) -> String {
            if let n = byAddress[address] {
                if n.isStateMachine, let name = n.stateMachineName { return AsyncNames.csharp(name) }
                return AsyncNames.csharp(n.typeName)
            }
            return r.objectType(address).map { AsyncNames.csharp($0.name) } ?? "<unknown>"
        }
        func includeInOutput(_ n: ClrAsyncObject) -> Bool {
            if let a = address, n.address != a { return false }
            if let mt = mtFilter, n.methodTable != mt { return false }
            if let t = typeFilter, !n.typeName.contains(t), !(n.stateMachineName ?? "").contains(t) { return false }
            return true
        }
        // A stack is shown once it has an object the filters select and (unless --tasks) a state machine.
        func shouldInclude(_ top: ClrAsyncObject) -> Bool {
            var sawSelected = false, sawMachine = includeTasks
            var work = [top], seen = Set<UInt64>()
            while let n = work.popLast(), seen.insert(n.address).inserted {
                sawSelected = sawSelected || includeInOutput(n)
                sawMachine = sawMachine || n.isStateMachine
                if sawSelected && sawMachine { return true }
                work += n.continuations.compactMap { byAddress[$0] }
            }
            return false
        }
        func frame(_ address: UInt64, depth: Int) -> AsyncStacksValue.Frame {
            let n = byAddress[address]
            let state: String
            if let n { state = n.isStateMachine ? String(n.awaitState) : AsyncNames.taskFlags(n.stateFlags) } else {
                state = r.int32Field(address, "m_stateFlags").map(AsyncNames.taskFlags) ?? ""
            }
            return .init(depth: depth, object: HexValue(address), methodTable: HexValue(n?.methodTable ?? r.objectType(address)?.methodTable ?? 0),
                         state: state, description: describe(address),
                         fields: showFields && n?.isStateMachine == true ? machineFields(n!) : nil)
        }
        func machineFields(_ n: ClrAsyncObject) -> [AsyncStacksValue.Field] {
            guard let m = n.stateMachine, let t = n.stateMachineType else { return [] }
            let base = n.stateMachineIsInline ? m : m &+ r.layout.objectFieldsOffset
            return t.instanceFields.map { f in
                let at = base &+ UInt64(f.offset)
                let v = r.value(of: f, at: at)
                let shown: UInt64, text: String
                switch v {
                case .reference(let p): shown = p; text = p == 0 ? "null" : (r.objectType(p)?.isString == true ? "\"\(r.stringValue(p, limit: 40) ?? "")\"" : Hex.pad(p, 16))
                case .inlineStruct(let a): shown = a; text = Hex.pad(a, 16)
                default: shown = at; text = SosObject.text(v)
                }
                let typeName = AsyncNames.csharp(r.type(r.fieldTypeMT(f))?.name ?? f.typeName)
                return .init(address: HexValue(shown), methodTable: HexValue(r.fieldTypeMT(f)), type: typeName, value: text, name: f.name)
            }
        }

        if args.has("--stats") {
            var counts: [String: (mt: UInt64, count: Int, order: Int)] = [:]
            for n in nodes where includeInOutput(n) && (includeTasks || n.isStateMachine) {
                let d = describe(n.address)
                let order = counts.count
                counts[d, default: (n.methodTable, 0, order)].count += 1
            }
            let rows = counts.sorted { $0.value.count != $1.value.count ? $0.value.count > $1.value.count : $0.value.order < $1.value.order }
                .map { AsyncStatsValue.Row(methodTable: HexValue($0.value.mt), count: $0.value.count, description: $0.key) }
            return AsyncStatsValue(rows: rows)
        }

        let tops = nodes.filter { $0.isTopLevel && shouldInclude($0) }
        if args.has("--coalesce") {
            func level(_ frames: [UInt64], depth: Int) -> [AsyncCoalescedValue.Group] {
                guard depth < 256 else { return [] }
                var groups: [(key: String, members: [UInt64])] = []
                var at: [String: Int] = [:]
                for f in frames {
                    var key = describe(f)
                    if let n = byAddress[f], n.isStateMachine { key = "(\(n.awaitState)) " + key }
                    if let i = at[key] { groups[i].members.append(f) } else { at[key] = groups.count; groups.append((key, [f])) }
                }
                let ordered = groups.enumerated().sorted { $0.element.members.count != $1.element.members.count ? $0.element.members.count > $1.element.members.count : $0.offset < $1.offset }
                return ordered.map { g in
                    let next = g.element.members.flatMap { byAddress[$0]?.continuations ?? [] }
                    return .init(count: g.element.members.count, methodTable: HexValue(byAddress[g.element.members[0]]?.methodTable ?? 0),
                                 description: g.element.key, children: next.isEmpty ? [] : level(next, depth: depth + 1))
                }
            }
            return AsyncCoalescedValue(stacks: tops.isEmpty ? [] : level(tops.map(\.address), depth: 0))
        }

        var stacks: [AsyncStacksValue.Stack] = []
        for top in tops {
            try s.checkInterrupt()
            var frames: [AsyncStacksValue.Frame] = []
            var awaiting: AsyncStacksValue.Awaiting?
            var depth = 0
            if top.isStateMachine, top.awaitState >= 0, !top.isCompleted, let a = awaiter(of: top, r) {
                awaiting = a
                depth = 1
            }
            var work = [(top.address, depth)]
            var seen = Set<UInt64>()
            while let (a, d) = work.popLast(), frames.count < 10_000 {
                guard seen.insert(a).inserted else { continue }
                frames.append(frame(a, depth: d))
                for c in byAddress[a]?.continuations ?? [] {
                    if byAddress[c] != nil { work.append((c, d + 1)) } else { frames.append(frame(c, depth: d + 1)) }
                }
            }
            stacks.append(.init(awaiting: awaiting, frames: frames))
        }
        return AsyncStacksValue(stacks: stacks)
    }

    /// dotnet-dump's guess at what a suspended state machine awaits: its first awaiter field (`<>u__1`,
    /// mcs's `$awaiter0`) when the state is 0 or there is only one, else the first one that is not all zeros.
    func awaiter(of n: ClrAsyncObject, _ r: ClrRuntime) -> AsyncStacksValue.Awaiting? {
        guard let m = n.stateMachine, let t = n.stateMachineType else { return nil }
        let fields = t.instanceFields.filter { $0.name.hasPrefix("<>u__") || $0.name.hasPrefix("$awaiter") }
        let base = n.stateMachineIsInline ? m : m &+ r.layout.objectFieldsOffset
        func describe(_ f: ClrField) -> AsyncStacksValue.Awaiting? {
            let at = base &+ UInt64(f.offset)
            if f.elementType == .valueType {
                let mt = r.fieldTypeMT(f)
                guard let vt = r.type(mt) else { return nil }
                return .init(address: HexValue(at), methodTable: HexValue(mt), type: AsyncNames.csharp(vt.name))
            }
            guard let p = r.target.u64(at), p != 0, let ot = r.objectType(p) else { return nil }
            return .init(address: HexValue(p), methodTable: HexValue(ot.methodTable), type: AsyncNames.csharp(ot.name))
        }
        if n.awaitState == 0 || fields.count == 1 { return fields.first.flatMap(describe) }
        for f in fields {
            let at = base &+ UInt64(f.offset)
            if f.elementType == .valueType {
                guard let vt = r.type(r.fieldTypeMT(f)), vt.baseSize > 16,
                      let bytes = r.memory.readExact(at, count: Int(vt.baseSize) - 16) else { continue }
                if bytes.contains(where: { $0 != 0 }) { return describe(f) }
            } else if let p = r.target.u64(at), p != 0 {
                return describe(f)
            }
        }
        return nil
    }
}

/// Type names as dotnet-dump prints them (C# style): ``Task`1[[System.Int32, System.Private.CoreLib]]``
/// becomes `Task<System.Int32>`, and nested generic types get their own arguments
/// (``AsyncTaskMethodBuilder`1+AsyncStateMachineBox`1[[A, x],[B, y]]`` → `AsyncTaskMethodBuilder<A>+AsyncStateMachineBox<B>`).
enum AsyncNames {
    static func csharp(_ name: String) -> String {
        guard let open = name.range(of: "[["), name.hasSuffix("]]") else { return name }
        let head = String(name[..<open.lowerBound])
        // The arguments: each "[Name, Assembly]" at the top level of the outer brackets.
        var args: [String] = [], depth = 0, cur = ""
        for ch in name[name.index(before: open.upperBound)..<name.index(before: name.endIndex)] {
            if ch == "[" { depth += 1; if depth == 1 { cur = ""; continue } }
            if ch == "]" { depth -= 1; if depth == 0 { args.append(cur); continue } }
            if depth >= 1 { cur.append(ch) }
        }
        let cleaned = args.map { a -> String in
            // "System.Int32, System.Private.CoreLib" -> "System.Int32"; nested generics keep their own brackets.
            guard let comma = lastTopLevelComma(a) else { return csharp(a) }
            return csharp(String(a[..<comma]))
        }
        var rest = cleaned[...]
        let parts = head.split(separator: "+", omittingEmptySubsequences: false).map { part -> String in
            guard let tick = part.firstIndex(of: "`"), let arity = Int(part[part.index(after: tick)...]) else { return String(part) }
            let mine = rest.prefix(arity); rest = rest.dropFirst(arity)
            return part[..<tick] + "<" + mine.joined(separator: ", ") + ">"
        }
        return parts.joined(separator: "+")
    }

    static func lastTopLevelComma(_ s: String) -> String.Index? {
        var depth = 0
        var found: String.Index?
        for i in s.indices {
            switch s[i] {
            case "[": depth += 1
            case "]": depth -= 1
            case "," where depth == 0: found = i
            default: break
            }
        }
        return found
    }

    /// dotnet-dump's short list of the Task state flags worth showing ("" → a single space, as it prints).
    static func taskFlags(_ flags: Int32) -> String {
        let names: [(Int32, String)] = [(0x10000, "Started"), (0x20000, "DelegateInvoked"), (0x40000, "Disposed"),
                                        (0x80000, "ExceptionObservedByParent"), (0x100000, "CancellationAcknowledged"),
                                        (0x200000, "Faulted"), (0x400000, "Canceled"), (0x800000, "WaitingOnChildren"),
                                        (0x1000000, "RanToCompletion"), (0x4000000, "CompletionReserved")]
        let set = names.filter { flags & $0.0 != 0 }.map(\.1)
        return set.isEmpty ? " " : set.joined(separator: "|")
    }
}

/// `!dumpasync`'s stacks: each starts with what the top frame awaits (when it can be told), then the frames,
/// each indented by its depth (two spaces a level).
struct AsyncStacksValue: CommandValue {
    struct Awaiting: Encodable {
        let address: HexValue
        let methodTable: HexValue
        let type: String
    }
    struct Field: Encodable {
        let address: HexValue
        let methodTable: HexValue
        let type: String
        let value: String
        let name: String
    }
    struct Frame: Encodable {
        let depth: Int
        let object: HexValue
        let methodTable: HexValue
        /// A state machine's await state, or a task's notable state flags.
        let state: String
        let description: String
        let fields: [Field]?
    }
    struct Stack: Encodable {
        let awaiting: Awaiting?
        let frames: [Frame]
    }
    let stacks: [Stack]

    func textLines() -> [String] {
        var out: [String] = []
        for (i, s) in stacks.enumerated() {
            out.append("STACK \(i + 1)")
            if let a = s.awaiting {
                out.append("<< Awaiting: \(Sos.p(a.address.value)) \(Sos.p(a.methodTable.value)) \(a.type) >>")
            }
            for f in s.frames {
                let pad = String(repeating: " ", count: 2 * f.depth)
                out.append("\(pad)\(Sos.p(f.object.value)) \(Sos.p(f.methodTable.value)) (\(f.state)) \(f.description)")
                if let fields = f.fields {
                    let tab = String(repeating: " ", count: 2 * (f.depth + 4))
                    out.append(tab + "Address".leftPad(16) + " " + "MT".leftPad(16) + " " + "Type".rightPad(32) + " " + "Value".leftPad(16) + " Name")
                    for x in fields {
                        out.append("\(tab)\(Sos.p(x.address.value)) \(Sos.p(x.methodTable.value)) \(AsyncNames.truncate(x.type, 32).rightPad(32)) \(AsyncNames.truncate(x.value, 16).leftPad(16)) \(x.name)")
                    }
                }
            }
            out.append("")
        }
        return out
    }
}

extension AsyncNames {
    /// dotnet-dump's Truncate: long text keeps its end after "...".
    static func truncate(_ s: String, _ n: Int) -> String { s.count > n ? "..." + String(s.suffix(n - 3)) : s }
}

/// `!dumpasync --stats`: one row per frame description, most frequent first.
struct AsyncStatsValue: CommandValue {
    struct Row: Encodable {
        let methodTable: HexValue
        let count: Int
        let description: String
    }
    let rows: [Row]
    func textLines() -> [String] {
        ["MT".rightPad(16) + " " + "Count".rightPad(8) + " Type"]
            + rows.map { "\(Sos.p($0.methodTable.value)) \(String($0.count).rightPad(8)) \($0.description)" }
    }
}

/// `!dumpasync --coalesce`: frames that print the same are one group with a count, children below.
struct AsyncCoalescedValue: CommandValue {
    struct Group: Encodable {
        let count: Int
        let methodTable: HexValue
        let description: String
        let children: [Group]
    }
    let stacks: [Group]
    func textLines() -> [String] {
        var out: [String] = []
        func render(_ g: Group, depth: Int) {
            out.append(String(repeating: " ", count: 2 * depth) + "[\(g.count)] \(Sos.p(g.methodTable.value)) \(g.description)")
            for c in g.children { render(c, depth: depth + 1) }
        }
        for (i, g) in stacks.enumerated() {
            out.append("STACKS \(i + 1)")
            render(g, depth: 0)
            out.append("")
        }
        return out
    }
}
