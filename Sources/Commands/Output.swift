import Foundation

/// Where command output goes: the terminal (or a test's buffer), plus the `.logopen` file when one is open.
public final class Output: @unchecked Sendable {
    // @unchecked: used from the session's one thread only.
    private let sink: (String) -> Void
    private var log: FileHandle?
    public private(set) var logPath: String?

    /// `sink` receives text with its newlines.
    public init(sink: @escaping (String) -> Void) { self.sink = sink }

    public static func standardOutput() -> Output {
        Output { text in
            // FileHandle rather than stdio: unbuffered writes keep output ordered with stderr and the line editor.
            FileHandle.standardOutput.write(Data(text.utf8))
        }
    }

    /// Collects everything into a string (tests, `-c` transcripts).
    public final class Buffer: @unchecked Sendable {
        public private(set) var text = ""
        public init() {}
        public func append(_ s: String) { text += s }
        public func reset() { text = "" }
    }

    public func write(_ text: String) {
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
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }

    /// WinDbg's answer to input it cannot parse, with the caret under the offending text.
    public static func syntax(_ text: String, column: Int = 0) -> CommandError {
        CommandError(String(repeating: " ", count: 7 + column) + "^ Syntax error in '\(text)'")
    }
    public static let interrupted = CommandError("Interrupted by Ctrl-C")
}
