import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A progress line on the terminal for a command that runs longer than a second (heap walks, searches of the
/// whole address space): written to standard error, rewritten in place, erased when the command ends.
/// Nothing is written when standard error is not a terminal, so scripts and pipes see the same bytes every
/// run. Ctrl-C stops the command as always.
public final class ProgressLine: @unchecked Sendable {
    // @unchecked: used from the session thread only.
    private var started = 0.0
    private var shown = false
    private var lastDraw = 0.0
    private let enabled: Bool
    private let delay: Double
    private let write: (String) -> Void

    /// `delay`: how long a command runs before its progress shows (a second; tests use 0).
    public init(enabled: Bool = isatty(STDERR_FILENO) == 1, delay: Double = 1,
                write: @escaping (String) -> Void = { FileHandle.standardError.write(Data($0.utf8)) }) {
        self.enabled = enabled
        self.delay = delay
        self.write = write
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// A command starts: its progress, if any, shows after a second.
    func commandStarted() {
        started = Self.now()
        shown = false
    }

    /// How far the running command is (0...1). Cheap enough to call often; draws at most 10 times a second.
    public func update(_ label: String, fraction: Double) {
        guard enabled else { return }
        let t = Self.now()
        guard t - started >= delay, t - lastDraw >= 0.1 else { return }
        lastDraw = t
        shown = true
        let percent = Int((min(max(fraction, 0), 1) * 100).rounded(.down))
        write("\r\(label): \(percent)% (Ctrl-C stops)\u{1B}[K")
    }

    /// The command ended: erase the line if one was drawn.
    func commandEnded() {
        if shown { write("\r\u{1B}[K") }
        shown = false
    }
}
