import Foundation

/// The project's own native cores (Samples/make-native-core.sh: gcore and kernel cores of
/// Samples/native/threads.c, with the program's facts and gdb's backtraces beside them). Made once per test
/// run into a fixed temp folder; the script skips work that is up to date. Shared by the test targets.
public enum NativeSampleCores {
    public struct Outcome: Sendable {
        public let directory: String
        public let log: String
        public let ok: Bool
    }

    public static let projectRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    public static let made: Outcome = {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dumpdbg-native-samples").path
        let script = projectRoot.appendingPathComponent("Samples/make-native-core.sh").path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = [script, dir]
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        do { try p.run() } catch { return Outcome(directory: dir, log: "cannot run \(script): \(error)", ok: false) }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Outcome(directory: dir, log: String(decoding: data, as: UTF8.self), ok: p.terminationStatus == 0)
    }()

    public static var toolsPresent: Bool {
        ["/usr/bin/gcc", "/usr/bin/gdb"].allSatisfy { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// gdb's frames of one core: per thread id, the frames' pcs in order, with consecutive repeats (inline
    /// frames, which share their caller's pc) folded.
    /// Each frame's source file and line as gdb found them (nil: none).
    public static func gdbFrames(core: String) -> [UInt64: [(pc: UInt64, function: String, source: (file: String, line: Int)?)]]? {
        guard let text = try? String(contentsOfFile: core + ".frames.txt", encoding: .utf8) else { return nil }
        var out: [UInt64: [(pc: UInt64, function: String, source: (file: String, line: Int)?)]] = [:]
        for line in text.split(separator: "\n") {
            let f = line.split(separator: " ")
            guard f.count >= 4, let tid = UInt64(f[1]), let pc = UInt64(f[2].dropFirst(2), radix: 16) else { continue }
            if out[tid]?.last?.pc == pc { continue }
            var source: (file: String, line: Int)?
            if f.count >= 5, let colon = f[4].lastIndex(of: ":"), let n = Int(f[4][f[4].index(after: colon)...]) {
                source = (String(f[4][..<colon]), n)
            }
            out[tid, default: []].append((pc, String(f[3]), source))
        }
        return out
    }
}
