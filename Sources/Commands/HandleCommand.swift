import DumpModel

/// `!handle`: the handles the dump's HandleData stream recorded (dbghelp's MiniDumpWithHandleData).
struct HandleCommand: ValueCommand {
    let names = ["!handle"]
    let summary = "show the process's handles (from the dump's handle data)"
    let help = """
    !handle            lists every handle with its type, then a count per type.
    !handle HANDLE     shows one handle: type, attributes, granted access, counts and object name.
    Example: !handle 4
    """

    func evaluate(_ inv: Invocation, in s: Session) throws -> any CommandValue {
        guard let handles = s.dump.handles else {
            throw CommandError("Handle information is not available: this dump has no HandleDataStream")
        }
        func value(_ h: HandleInfo) -> HandlesListValue.Handle {
            .init(handle: HexValue(h.handle), type: h.typeName, attributes: UInt64(h.attributes), grantedAccess: UInt64(h.grantedAccess),
                  handleCount: UInt64(h.handleCount), pointerCount: UInt64(h.pointerCount), name: h.objectName)
        }
        if let arg = inv.words.first, arg != "0" {
            let h = try ExpressionEvaluator.evaluate(arg, environment: s.expressionEnvironment)
            guard let info = handles.first(where: { $0.handle == h }) else {
                throw CommandError("Handle \(String(h, radix: 16)) is not in this dump's handle data")
            }
            return HandlesListValue(pointerSize: s.pointerSize, detail: true, handles: [value(info)])
        }
        try s.checkInterrupt()
        return HandlesListValue(pointerSize: s.pointerSize, detail: false, handles: handles.map { value($0) })
    }
}

/// `!handle`'s value: every handle (or one, with its details).
struct HandlesListValue: CommandValue {
    struct Handle: Encodable {
        let handle: HexValue
        let type: String?
        let attributes: UInt64
        let grantedAccess: UInt64
        let handleCount: UInt64
        let pointerCount: UInt64
        let name: String?
    }
    let pointerSize: Int
    /// One handle asked for by value: its details.
    let detail: Bool
    let handles: [Handle]

    enum CodingKeys: String, CodingKey { case detail, handles }

    func textLines() -> [String] {
        if detail, let h = handles.first {
            return ["Handle \(String(h.handle.value, radix: 16))", "  Type         \t\(h.type ?? "<none>")", "  Attributes   \t\(h.attributes)",
                    "  GrantedAccess\t0x\(String(h.grantedAccess, radix: 16))", "  HandleCount  \t\(h.handleCount)",
                    "  PointerCount \t\(h.pointerCount)", "  Name         \t\(h.name ?? "<none>")"]
        }
        var out: [String] = []
        var counts: [String: Int] = [:]
        for h in handles {
            let type = h.type ?? "None"
            out += ["Handle \(Hex.pad(h.handle.value, pointerSize * 2))", "  Type         \t\(type)"]
            counts[type, default: 0] += 1
        }
        out += ["\(handles.count) Handles", "Type           \tCount"]
        for (type, n) in counts.sorted(by: { $0.key < $1.key }) { out.append(type.rightPad(15) + "\t\(n)") }
        return out
    }
}
