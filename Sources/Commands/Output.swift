import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where command output goes: the terminal (or a test's buffer), plus the `.logopen` file when one is open.
public final class Output: @unchecked Sendable {
    // @unchecked: used from the session's one thread only.
    private let sink: (String) -> Void
    private let flushSink: () -> Void
    private var log: FileHandle?
    public private(set) var logPath: String?
    /// While a command's text is being captured (JSON documents for commands without a value).
    private var captures: [String] = []

    /// `sink` receives text with its newlines; `flush` pushes out whatever the sink holds back.
    public init(sink: @escaping (String) -> Void, flush: @escaping () -> Void = {}) {
        self.sink = sink
        flushSink = flush
    }

    /// Standard output through one buffer, written out when it fills, at each prompt (`flush`), and at
    /// exit: one write system call per 64 KiB instead of one per line.
    public static func standardOutput() -> Output {
        let buffer = StandardOutputBuffer()
        return Output(sink: { buffer.append($0) }, flush: { buffer.flush() })
    }

    /// Writes out what is buffered (before a prompt, before anything that waits, and at exit).
    public func flush() { flushSink() }

    /// Runs `body` with everything it writes collected instead of printed; returns what it wrote.
    func capture<T>(_ body: () throws -> T) rethrows -> (T, String) {
        captures.append("")
        defer { _ = captures.popLast() }
        let result = try body()
        return (result, captures.last ?? "")
    }

    /// A whole line that bypasses any capture (a JSON document).
    func document(_ line: String) {
        sink(line + "\n")
        if let log { log.write(Data((line + "\n").utf8)) }
    }

    /// Collects everything into a string (tests, `-c` transcripts).
    public final class Buffer: @unchecked Sendable {
        public private(set) var text = ""
        public init() {}
        public func append(_ s: String) { text += s }
        public func reset() { text = "" }
    }

    public func write(_ text: String) {
        if !captures.isEmpty {
            captures[captures.count - 1] += text
            return
        }
        sink(text)
        if let log { log.write(Data(text.utf8)) }
    }

    public func line(_ text: String = "") { write(text + "\n") }

    public func openLog(path: String, append: Bool) throws {
        closeLog()
        let fm = FileManager.default
        if !append || !fm.fileExists(atPath: path) {
            guard fm.createFile(atPath: path, contents: nil) else { throw CommandError("Unable to open log file '\(path)'") }
        }
        guard let h = FileHandle(forWritingAtPath: path) else { throw CommandError("Unable to open log file '\(path)'") }
        if append { h.seekToEndOfFile() }
        log = h
        logPath = path
    }

    public func closeLog() {
        try? log?.close()
        log = nil
        logPath = nil
    }
}

/// A command's failure: printed as one line, and the session goes on.
public struct CommandError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure, for JSON documents and scripts (Docs/json.md).
    public enum Kind: String, Sendable {
        /// The command ran and could not answer (the usual case).
        case failed
        /// The input could not be parsed.
        case syntax
        /// Unknown options, missing or extra arguments.
        case usage
        /// Ctrl-C stopped the command.
        case interrupted
        /// The command needs a runtime, file or extension that is not there.
        case unavailable
    }
    public let message: String
    public let kind: Kind
    public init(_ message: String, kind: Kind = .failed) {
        self.message = message
        self.kind = kind
    }
    public var description: String { message }

    /// WinDbg's answer to input it cannot parse, with the caret under the offending text.
    public static func syntax(_ text: String, column: Int = 0) -> CommandError {
        CommandError(String(repeating: " ", count: 7 + column) + "^ Syntax error in '\(text)'", kind: .syntax)
    }
    public static let interrupted = CommandError("Interrupted by Ctrl-C", kind: .interrupted)
}

/// Standard output's buffer: bytes collected and written in large pieces.
final class StandardOutputBuffer: @unchecked Sendable {
    // @unchecked: used from the session's one thread only.
    private var bytes: [UInt8] = []
    private let limit = 64 * 1024

    init() { bytes.reserveCapacity(limit) }

    func append(_ text: String) {
        bytes.append(contentsOf: text.utf8)
        if bytes.count >= limit { flush() }
    }

    func flush() {
        guard !bytes.isEmpty else { return }
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                #if canImport(Glibc)
                let n = Glibc.write(1, raw.baseAddress! + offset, raw.count - offset)
                #else
                let n = Darwin.write(1, raw.baseAddress! + offset, raw.count - offset)
                #endif
                if n <= 0 {
                    if n < 0 && errno == EINTR { continue }
                    break
                }
                offset += n
            }
        }
        bytes.removeAll(keepingCapacity: true)
    }
}
