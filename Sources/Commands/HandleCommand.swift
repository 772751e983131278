import DumpModel

/// `!handle`: the handles the dump's HandleData stream recorded (dbghelp's MiniDumpWithHandleData).
struct HandleCommand: DebuggerCommand {
    let names = ["!handle"]
    let summary = "show the process's handles (from the dump's handle data)"
    let help = """
    !handle            lists every handle with its type, then a count per type.
    !handle HANDLE     shows one handle: type, attributes, granted access, counts and object name.
    Example: !handle 4
    """

    func run(_ inv: Invocation, in s: Session) throws {
        guard let handles = s.dump.handles else {
            throw CommandError("Handle information is not available: this dump has no HandleDataStream")
        }
        let arg = inv.words.first
        if let arg, arg != "0" {
            let h = try ExpressionEvaluator.evaluate(arg, environment: s.expressionEnvironment)
            guard let info = handles.first(where: { $0.handle == h }) else {
                throw CommandError("Handle \(String(h, radix: 16)) is not in this dump's handle data")
            }
            s.output.line("Handle \(String(info.handle, radix: 16))")
            s.output.line("  Type         \t\(info.typeName ?? "<none>")")
            s.output.line("  Attributes   \t\(info.attributes)")
            s.output.line("  GrantedAccess\t0x\(String(info.grantedAccess, radix: 16))")
            s.output.line("  HandleCount  \t\(info.handleCount)")
            s.output.line("  PointerCount \t\(info.pointerCount)")
            s.output.line("  Name         \t\(info.objectName ?? "<none>")")
            return
        }
        var counts: [String: Int] = [:]
        for h in handles {
            try s.checkInterrupt()
            let type = h.typeName ?? "None"
            s.output.line("Handle \(Hex.pad(h.handle, s.pointerSize * 2))")
            s.output.line("  Type         \t\(type)")
            counts[type, default: 0] += 1
        }
        s.output.line("\(handles.count) Handles")
        s.output.line("Type           \tCount")
        for (type, n) in counts.sorted(by: { $0.key < $1.key }) {
            s.output.line(type.rightPad(15) + "\t\(n)")
        }
    }
}
