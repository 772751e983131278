import Foundation

/// How a session prints what its commands find.
public enum OutputFormat: String, Sendable {
    /// WinDbg's text, byte for byte as a WinDbg user expects it.
    case text
    /// One JSON document per command, one per line (Docs/json.md).
    case json
}

/// A command's result as values. The text renderer prints WinDbg's lines; the JSON renderer encodes the
/// value itself, so the two cannot drift apart. Addresses are encoded as "0x…" strings (JSON numbers lose
/// 64-bit precision in most readers), counts and sizes as numbers.
public protocol CommandValue: Encodable {
    /// The value as WinDbg prints it, one line each.
    func textLines() -> [String]
}

/// A command that computes a value first; `run` renders it in the session's format.
public protocol ValueCommand: DebuggerCommand {
    func evaluate(_ invocation: Invocation, in session: Session) throws -> any CommandValue
}

extension ValueCommand {
    public func run(_ invocation: Invocation, in session: Session) throws {
        session.emit(try evaluate(invocation, in: session))
    }
}

/// A 64-bit address or pointer-sized value in JSON: "0x" and lowercase hex digits.
public struct HexValue: Encodable, Equatable, Sendable {
    public let value: UInt64
    public init(_ value: UInt64) { self.value = value }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode("0x" + String(value, radix: 16))
    }
}

/// The JSON document of one command (schema `dumpdbg.result/1`, Docs/json.md).
struct ResultDocument: Encodable {
    struct Failure: Encodable {
        let kind: String
        let message: String
    }
    struct AnyValue: Encodable {
        let value: any Encodable
        func encode(to encoder: Encoder) throws { try value.encode(to: encoder) }
    }
    let schema = "dumpdbg.result/1"
    let command: String
    let ok: Bool
    /// The command's value, for commands that compute one.
    let result: AnyValue?
    /// The text lines of commands that do not compute a value yet.
    let text: [String]?
    let error: Failure?

    enum CodingKeys: String, CodingKey { case schema, command, ok, result, text, error }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(schema, forKey: .schema)
        try c.encode(command, forKey: .command)
        try c.encode(ok, forKey: .ok)
        try c.encodeIfPresent(result, forKey: .result)
        try c.encodeIfPresent(text, forKey: .text)
        try c.encodeIfPresent(error, forKey: .error)
    }

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }()

    var line: String {
        guard let data = try? Self.encoder.encode(self) else {
            return #"{"schema":"dumpdbg.result/1","command":"?","ok":false,"error":{"kind":"internal","message":"unencodable result"}}"#
        }
        return String(decoding: data, as: UTF8.self)
    }
}

/// A value too large for JSONEncoder to be quick (a million heap objects): it writes its own JSON, the same
/// shape its Encodable conformance gives.
protocol StreamedJSONValue: CommandValue {
    func writeJSON(_ out: inout JSONBytes)
}

/// JSON text built as bytes.
struct JSONBytes {
    private(set) var bytes: [UInt8] = []
    /// Read once per document: a static read in the per-object loop costs a lazy-init check each time.
    private let hexDigits = JSONBytes.digits
    // Written once by its initializer, only read after: safe to share.
    nonisolated(unsafe) private static let digits: UnsafePointer<UInt8> = {
        let p = UnsafeMutablePointer<UInt8>.allocate(capacity: 16)
        for (i, d) in "0123456789abcdef".utf8.enumerated() { p[i] = d }
        return UnsafePointer(p)
    }()

    /// Room for about `count` more bytes (a listing knows its size: no regrowing a large buffer).
    mutating func reserve(_ count: Int) { bytes.reserveCapacity(bytes.count + count) }
    mutating func raw(_ s: StaticString) { s.withUTF8Buffer { bytes.append(contentsOf: $0) } }
    mutating func byte(_ b: UInt8) { bytes.append(b) }
    /// A HexValue's form: "0x" and lowercase hex digits.
    mutating func hexString(_ v: UInt64) {
        var n = 1
        while n < 16 && v >> UInt64(4 * n) != 0 { n += 1 }
        let digits = hexDigits
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { buf in
            buf[0] = 34; buf[1] = 48; buf[2] = 120   // "0x
            for i in 0..<n { buf[3 + i] = digits[Int(truncatingIfNeeded: v >> UInt64(4 * (n - 1 - i))) & 0xF] }
            buf[3 + n] = 34
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: buf[0..<(4 + n)]))
        }
    }
    mutating func number(_ v: UInt64) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { buf in
            var i = 20, x = v
            repeat { i -= 1; buf[i] = 48 + UInt8(x % 10); x /= 10 } while x > 0
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: buf[i..<20]))
        }
    }
    /// A JSON string, escaped as JSONEncoder escapes it.
    mutating func string(_ s: String) {
        if let data = try? JSONEncoder().encode(s) { bytes.append(contentsOf: data) } else { raw("\"\"") }
    }
    /// Any Encodable value (small parts such as a statistics table).
    mutating func encoded(_ v: some Encodable) {
        if let data = try? ResultDocument.encoder.encode(v) { bytes.append(contentsOf: data) } else { raw("null") }
    }
}

extension ResultDocument {
    /// The document of a streamed value, keys in the sorted order the encoder writes them.
    static func streamedLine(command: String, failure: Failure?, value: any StreamedJSONValue) -> String {
        var j = JSONBytes()
        j.raw("{\"command\":")
        j.string(command)
        if let failure { j.raw(",\"error\":"); j.encoded(failure) }
        j.raw(failure == nil ? ",\"ok\":true,\"result\":" : ",\"ok\":false,\"result\":")
        value.writeJSON(&j)
        j.raw(",\"schema\":\"dumpdbg.result/1\"}")
        return String(decoding: j.bytes, as: UTF8.self)
    }
}

extension Session {
    /// Renders a command's value: its text lines now, or, in JSON mode, as the result of the document the
    /// running command will write.
    public func emit(_ value: any CommandValue) {
        switch outputFormat {
        case .text: for l in value.textLines() { output.line(l) }
        case .json: pendingValue = value
        }
    }
}

/// `.outputformat json|text`: how results are printed from now on.
struct OutputFormatCommand: DebuggerCommand {
    let names = [".outputformat"]
    let summary = "print results as WinDbg text or as JSON documents (.outputformat json|text)"
    let help = """
    .outputformat [json|text]   with json, every command prints one JSON document on one line (Docs/json.md):
                                its result as values where the command computes them, else its text lines.
    Example: .outputformat json
    """

    func run(_ inv: Invocation, in s: Session) throws {
        let word = inv.arguments.trimmingCharacters(in: .whitespaces).lowercased()
        if word.isEmpty {
            s.output.line("Output format: \(s.outputFormat.rawValue)")
            return
        }
        guard let f = OutputFormat(rawValue: word) else { throw CommandError("Usage: .outputformat json|text", kind: .usage) }
        s.outputFormat = f
    }
}
