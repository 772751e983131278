/// `!error VALUE [FLAGS]`: what a status code means. WinDbg's kinds: a Win32 error (below 0x10000, or
/// FLAGS 0), an NTSTATUS (FLAGS 1, or a value the NTSTATUS table names), else an HRESULT (HRESULT_FROM_WIN32
/// values are named by their Win32 error). dumpdbg has the message text of a few common codes and the symbolic
/// name of every code in mingw-w64's public headers; a code neither knows is said to be unknown.
struct ErrorCommand: ValueCommand {
    let names = ["!error"]
    let summary = "decode a Win32 error, NTSTATUS or HRESULT value"
    let help = """
    !error VALUE [FLAGS]   names a status code: Win32 error (FLAGS 0), NTSTATUS (FLAGS 1), else chosen by the value.
    Example: !error c0000135
    """

    func evaluate(_ inv: Invocation, in s: Session) throws -> any CommandValue {
        let words = inv.words
        guard (1...2).contains(words.count) else { throw CommandError("Usage: !error VALUE [FLAGS]", kind: .usage) }
        let v = try ExpressionEvaluator.evaluate(words[0], environment: s.expressionEnvironment)
        let flags = words.count == 2 ? try ExpressionEvaluator.evaluate(words[1], environment: s.expressionEnvironment) : nil
        let code = UInt32(truncatingIfNeeded: v)
        return StatusCode.describe(code, flags: flags)
    }
}

/// A status code with its kind and what dumpdbg knows of it.
struct StatusCode: CommandValue {
    let code: HexValue
    /// "Win32", "NTSTATUS" or "HRESULT".
    let kind: String
    /// The symbolic name (STATUS_DLL_NOT_FOUND), when the tables name the code.
    let name: String?
    /// The system's message text, for the few codes dumpdbg carries it for.
    let message: String?

    func textLines() -> [String] {
        let v = UInt32(truncatingIfNeeded: code.value)
        return ["Error code: (\(kind)) 0x\(String(v, radix: 16)) (\(v)) - " + (message ?? name ?? "<Unable to get error code text>")]
    }

    static func describe(_ code: UInt32, flags: UInt64?) -> StatusCode {
        let hex = HexValue(UInt64(code))
        let ntName = StatusTables.ntStatus[code] ?? Describe.ntStatus[code]   // the latter adds e0434352 (CLR exception) and kin
        if flags == 1 || (flags == nil && code >= 0x10000 && ntName != nil) {
            return StatusCode(code: hex, kind: "NTSTATUS", name: ntName, message: AnalyzeCommand.ntStatusText[code])
        }
        if flags == 0 || code < 0x10000 {
            return StatusCode(code: hex, kind: "Win32", name: StatusTables.win32[code & 0xFFFF], message: nil)
        }
        // HRESULT_FROM_WIN32: facility 7 carries a Win32 error.
        if code & 0xFFFF_0000 == 0x8007_0000, let n = StatusTables.win32[code & 0xFFFF] {
            return StatusCode(code: hex, kind: "HRESULT", name: n, message: nil)
        }
        return StatusCode(code: hex, kind: "HRESULT", name: StatusTables.hresult[code], message: nil)
    }
}

/// The generated name tables, parsed once.
enum StatusTables {
    static let ntStatus = parse(StatusNames.ntStatus)
    static let win32 = parse(StatusNames.win32)
    static let hresult = parse(StatusNames.hresult)

    static func parse(_ text: String) -> [UInt32: String] {
        var out: [UInt32: String] = [:]
        for line in text.split(separator: "\n") {
            guard let space = line.firstIndex(of: " "), let v = UInt32(line[..<space], radix: 16) else { continue }
            out[v] = String(line[line.index(after: space)...])
        }
        return out
    }
}
