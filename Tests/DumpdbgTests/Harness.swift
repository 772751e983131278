import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

enum Binary {
    /// The dumpdbg executable SwiftPM built beside the test bundle.
    static let path: String = {
        let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [dir, dir.deletingLastPathComponent()] {
            let p = candidate.appendingPathComponent("dumpdbg").path
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return dir.appendingPathComponent("dumpdbg").path
    }()

    static let projectRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let dumps = projectRoot.deletingLastPathComponent().appendingPathComponent("shared/dumps")
    static var dumpsAvailable: Bool { FileManager.default.fileExists(atPath: dumps.appendingPathComponent("INDEX.md").path) }
    static func dump(_ relative: String) -> String { dumps.appendingPathComponent(relative).path }

    static let scratch: String = {
        let d = scratchPath("e2e")
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }()

    struct Result { let status: Int32; let stdout: String; let stderr: String }

    /// Runs dumpdbg with `arguments`, feeding `stdin` (not a terminal).
    static func run(_ arguments: [String], stdin: String = "", environment: [String: String] = [:],
                    workingDirectory: String? = nil) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        if let workingDirectory { p.currentDirectoryURL = URL(fileURLWithPath: workingDirectory) }
        p.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["DUMPDBG_CACHE"] = scratch + "/cache"
        for (k, v) in environment { env[k] = v }
        p.environment = env
        let inPipe = Pipe(), outPipe = Pipe(), errPipe = Pipe()
        p.standardInput = inPipe
        p.standardOutput = outPipe
        p.standardError = errPipe
        try p.run()
        inPipe.fileHandleForWriting.write(Data(stdin.utf8))
        try inPipe.fileHandleForWriting.close()
        let out = outPipe.fileHandleForReading.readDataToEndOfFile()
        let err = errPipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: String(decoding: out, as: UTF8.self), stderr: String(decoding: err, as: UTF8.self))
    }
}

/// dumpdbg on a real pseudo-terminal: the child is a session leader whose controlling terminal is the pty,
/// so libedit edits lines and Ctrl-C (0x03) raises SIGINT, as for a person at a terminal.
final class PseudoTerminal {
    let master: Int32
    let pid: pid_t
    private(set) var transcript = ""

    init(arguments: [String], environment: [String: String]) throws {
        // /dev/ptmx directly: Swift's Glibc module does not export posix_openpt/grantpt/ptsname.
        let m = open("/dev/ptmx", O_RDWR | O_NOCTTY)
        var unlock: Int32 = 0, number: UInt32 = 0
        guard m >= 0, ioctl(m, 0x4004_5431 /* TIOCSPTLCK */, &unlock) == 0, ioctl(m, 0x8004_5430 /* TIOCGPTN */, &number) == 0 else {
            throw PTYError("cannot open a pseudo-terminal")
        }
        let slavePath = "/dev/pts/\(number)"
        var size = winsize(ws_row: 40, ws_col: 120, ws_xpixel: 0, ws_ypixel: 0)
        _ = ioctl(m, UInt(TIOCSWINSZ), &size)
        master = m
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        // A new session: opening the pty below then makes it the controlling terminal.
        let setsid: Int32 = 0x80  // POSIX_SPAWN_SETSID (glibc), not exported to Swift
        posix_spawnattr_setflags(&attr, Int16(setsid | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        var noMask = sigset_t()
        sigemptyset(&noMask)
        posix_spawnattr_setsigmask(&attr, &noMask)
        var sigs = sigset_t()
        sigemptyset(&sigs)
        sigaddset(&sigs, SIGINT)
        posix_spawnattr_setsigdefault(&attr, &sigs)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, slavePath, O_RDWR, 0)
        posix_spawn_file_actions_adddup2(&actions, 0, 1)
        posix_spawn_file_actions_adddup2(&actions, 0, 2)
        posix_spawn_file_actions_addclose(&actions, m)
        let argv = ([Binary.path] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var env = ProcessInfo.processInfo.environment
        env["TERM"] = "xterm"
        for (k, v) in environment { env[k] = v }
        let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { envp.forEach { free($0) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, Binary.path, &actions, &attr, argv, envp)
        guard rc == 0 else { throw PTYError("posix_spawn failed: \(rc)") }
        pid = child
    }

    deinit {
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        close(master)
    }

    /// Types `text`. libedit prints its prompt a moment before it puts the terminal in raw mode; keys sent
    /// within that moment are read in cooked mode, where Ctrl-D becomes a cooked EOF that libedit never sees.
    /// A person never types that fast, so wait a little first (pexpect's `delaybeforesend` exists for this).
    func send(_ text: String) {
        usleep(250_000)
        _ = text.utf8CString.withUnsafeBufferPointer { write(master, $0.baseAddress, $0.count - 1) }
    }

    /// Reads until `needle` appears in the transcript after `from`, or throws after `timeout` seconds.
    @discardableResult
    func expect(_ needle: String, after from: String.Index? = nil, timeout: Double = 20) throws -> String.Index {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let start = from ?? transcript.startIndex
            if let r = transcript.range(of: needle, range: start..<transcript.endIndex) { return r.upperBound }
            let left = deadline.timeIntervalSinceNow
            if left <= 0 { throw PTYError("timed out waiting for \(needle.debugDescription); transcript:\n\(transcript)") }
            var pfd = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
            if poll(&pfd, 1, Int32(min(left, 0.5) * 1000)) > 0 {
                var buf = [UInt8](repeating: 0, count: 4096)
                let n = read(master, &buf, buf.count)
                if n <= 0 { throw PTYError("the terminal closed; transcript:\n\(transcript)") }
                transcript += String(decoding: buf.prefix(n), as: UTF8.self)
            }
        }
    }

    var end: String.Index { transcript.endIndex }

    /// Waits for the child to exit; returns its status.
    func waitForExit(timeout: Double = 20) throws -> Int32 {
        let deadline = Date().addingTimeInterval(timeout)
        var status: Int32 = 0
        while Date() < deadline {
            // Keep draining output so the child never blocks on a full terminal.
            var pfd = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
            if poll(&pfd, 1, 50) > 0 {
                var buf = [UInt8](repeating: 0, count: 4096)
                let n = read(master, &buf, buf.count)
                if n > 0 { transcript += String(decoding: buf.prefix(n), as: UTF8.self) }
            }
            if waitpid(pid, &status, WNOHANG) == pid { return status }
        }
        throw PTYError("dumpdbg did not exit; transcript:\n\(transcript)")
    }
}

struct PTYError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
