import ArgumentParser
import CCrypto
import Commands
import Dispatch
import DumpModel
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `dumpdbg triage DUMP|FOLDER...`: one JSON line per dump, in the order given, analysed in parallel.
///
/// Each dump is analysed by a child dumpdbg (`triage --worker`), so a dump that crashes or hangs the analyser
/// costs one error line, not the run; a child past `--timeout` is killed.
struct TriageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dumpdbg triage",
        abstract: "Analyse many dumps: one JSON line per dump with what !analyze -v finds.",
        discussion: """
        Each line: file, sha256, bytes, bucketId, failureHash, exception {code, name, address}, faultingThread,
        faultingModule, faultingFrame, managedException {type, message} (when a .NET runtime is in the dump;
        SOS is loaded first, as with .loadby sos clr), threads, seconds, error. Lines come in the order the
        dumps were given; a folder gives the dumps under it (files that start as a minidump, an ELF core, or
        xz/gzip/bzip2 data), sorted by path. A dump that cannot be opened, crashes the analyser or runs past the
        timeout gives a line with "error"; the exit code is 0 unless no dump was found.

        Example:
          dumpdbg triage --jobs 4 crashes/ > triage.jsonl
        """)

    @Argument(help: "Dumps, or folders searched for dumps; - reads paths from standard input, one per line (as Spark's RDD.pipe gives them).")
    var paths: [String] = []

    @Flag(help: "Print the dumps the run would analyse, one path per line, and stop.")
    var list = false

    @Option(name: [.customShort("j"), .long], help: "Dumps analysed at once (default: the machine's cores).")
    var jobs: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "Seconds one dump may take before its analysis is killed.")
    var timeout: Double = 600

    @Option(name: .customShort("i"), help: ArgumentHelp("Image path: ';'-separated folders searched for images by file name.", valueName: "folders"))
    var imagePath: String?

    @Option(name: .customShort("y"), help: ArgumentHelp("Symbol path: ';'-separated folders holding Breakpad symbol files.", valueName: "folders"))
    var symbolPath: String?

    /// One dump, analysed in this process: what each child runs.
    @Flag(help: .hidden)
    var worker = false

    mutating func validate() throws {
        if paths.isEmpty { throw ValidationError("no dumps given: dumpdbg triage DUMP|FOLDER...") }
        if jobs < 1 { throw ValidationError("--jobs must be at least 1") }
        if !(timeout > 0) { throw ValidationError("--timeout must be a positive number of seconds") }
    }

    func run() throws {
        if worker {
            Self.runWorker(TriageWorkerLine(imagePath: imagePath, symbolPath: symbolPath, paths: paths))
            return
        }
        let dumps = DumpFinder.dumps(in: paths)
        if list {
            for d in dumps { print(d) }
            return
        }
        if dumps.isEmpty {
            FileHandle.standardError.write(Data("dumpdbg triage: no dumps found in \(paths.joined(separator: " "))\n".utf8))
            throw ExitCode(2)
        }
        // The analyser run per dump: this dumpdbg, or (for tests of the pool itself) another program.
        let pool = WorkerPool(executable: ProcessEnvironment.value("DUMPDBG_TRIAGE_WORKER") ?? Self.ownExecutable, imagePath: imagePath,
                              symbolPath: symbolPath, timeout: timeout)
        pool.run(dumps, jobs: min(jobs, dumps.count)) { line in
            FileHandle.standardOutput.write(Data((line + "\n").utf8))
        }
    }

    /// One child's work: each dump analysed in this process, a JSON line each.
    static func runWorker(_ line: TriageWorkerLine) {
        let images = SearchPaths.images(line.imagePath), symbols = SearchPaths.symbols(line.symbolPath)
        for p in line.paths { print(analyse(path: p, imagePath: images, symbolPath: symbols).jsonLine) }
    }

    static func analyse(path: String, imagePath: [String], symbolPath: String) -> TriageRecord {
        var r = BatchTriage.record(dumpPath: path, imagePath: imagePath, symbolPath: symbolPath)
        if let (hash, size) = FileDigest.sha256(path: path) {
            r.sha256 = hash
            r.bytes = size
        }
        return r
    }

    static var ownExecutable: String {
        #if os(Linux)
        if let p = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return p }
        #endif
        return Bundle.main.executablePath ?? CommandLine.arguments[0]
    }
}

/// A worker's command line as `WorkerPool` writes it (`--worker [-i FOLDERS] [-y FOLDERS] -- DUMP...`, after
/// `triage`), read without swift-argument-parser: its reflection would cost every dump of a run two milliseconds
/// of start-up. Nil for any other shape, which goes to the parser; `TriageWorkerLineTests` holds the two to the same answers.
struct TriageWorkerLine: Equatable {
    var imagePath: String?
    var symbolPath: String?
    var paths: [String]

    static func quick(_ arguments: [String]) -> TriageWorkerLine? {
        guard arguments.first == "--worker" else { return nil }
        var line = TriageWorkerLine(paths: [])
        var i = 1
        while i < arguments.count {
            let word = arguments[i]
            if word == "--" {
                line.paths = Array(arguments[(i + 1)...])
                return line.paths.isEmpty ? nil : line
            }
            // An option once each, with a value that cannot be read as another option.
            guard word == "-i" || word == "-y", i + 1 < arguments.count, !arguments[i + 1].hasPrefix("-") else { return nil }
            if word == "-i" {
                guard line.imagePath == nil else { return nil }
                line.imagePath = arguments[i + 1]
            } else {
                guard line.symbolPath == nil else { return nil }
                line.symbolPath = arguments[i + 1]
            }
            i += 2
        }
        return nil
    }
}

/// The dumps a triage run covers, in a stable order.
enum DumpFinder {
    static func dumps(in paths: [String]) -> [String] {
        var out: [String] = []
        for p in paths.flatMap({ $0 == "-" ? standardInputLines() : [$0] }) {
            var isFolder: ObjCBool = false
            if FileManager.default.fileExists(atPath: p, isDirectory: &isFolder), isFolder.boolValue {
                let base = URL(fileURLWithPath: p)
                let found = (FileManager.default.enumerator(atPath: p)?.compactMap { $0 as? String } ?? [])
                    .map { base.appendingPathComponent($0).path }
                    .filter(DumpLoader.looksLikeDump)
                    .sorted()
                out += found
            } else {
                // Named on the command line: analysed whatever it is, so a wrong file gives an error line.
                out.append(p)
            }
        }
        return out
    }

    static func standardInputLines() -> [String] {
        var lines: [String] = []
        while let l = readLine(strippingNewline: true) { if !l.isEmpty { lines.append(l) } }
        return lines
    }
}

/// SHA-256 of a whole file, streamed (a dump may be larger than memory).
enum FileDigest {
    static func sha256(path: String) -> (hex: String, bytes: UInt64)? {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        guard let ctx = EVP_MD_CTX_new() else { return nil }
        defer { EVP_MD_CTX_free(ctx) }
        guard EVP_DigestInit_ex(ctx, EVP_sha256(), nil) == 1 else { return nil }
        let chunk = 1 << 20
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: chunk, alignment: 16)
        defer { buffer.deallocate() }
        var total: UInt64 = 0
        while true {
            let n = read(fd, buffer, chunk)
            if n < 0 { if errno == EINTR { continue }; return nil }
            if n == 0 { break }
            guard EVP_DigestUpdate(ctx, buffer, n) == 1 else { return nil }
            total += UInt64(n)
        }
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        guard EVP_DigestFinal_ex(ctx, &digest, &length) == 1, length == 32 else { return nil }
        return (digest.lowercaseHex, total)
    }
}

/// Children analysing dumps, `jobs` at a time; lines are handed on in input order as soon as the ones before
/// them are done.
final class WorkerPool: @unchecked Sendable {
    let executable: String
    let imagePath: String?
    let symbolPath: String?
    let timeout: Double
    private let lock = NSLock()
    private var next = 0
    private var results: [String?] = []
    private var emitted = 0

    init(executable: String, imagePath: String?, symbolPath: String?, timeout: Double) {
        self.executable = executable
        self.imagePath = imagePath
        self.symbolPath = symbolPath
        self.timeout = timeout
    }

    func run(_ dumps: [String], jobs: Int, emit: @escaping @Sendable (String) -> Void) {
        results = Array(repeating: nil, count: dumps.count)
        let group = DispatchGroup()
        for _ in 0..<jobs {
            group.enter()
            Thread.detachNewThread { [self] in
                while let i = claim(dumps.count) {
                    let line = analyse(dumps[i])
                    finish(i, line, emit: emit)
                }
                group.leave()
            }
        }
        group.wait()
    }

    private func claim(_ count: Int) -> Int? {
        lock.lock(); defer { lock.unlock() }
        guard next < count else { return nil }
        next += 1
        return next - 1
    }

    private func finish(_ i: Int, _ line: String, emit: (String) -> Void) {
        lock.lock(); defer { lock.unlock() }
        results[i] = line
        while emitted < results.count, let l = results[emitted] {
            emit(l)
            results[emitted] = ""  // keep memory flat on long runs
            emitted += 1
        }
    }

    /// One child's line, or an error line when the child died, hung or printed nothing usable.
    private func analyse(_ path: String) -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = ["triage", "--worker"] + (imagePath.map { ["-i", $0] } ?? []) + (symbolPath.map { ["-y", $0] } ?? []) + ["--", path]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        let start = Date()
        do { try p.run() } catch {
            return failure(path, "cannot start \(executable): \(error)", start)
        }
        let timedOut = TimeoutFlag()
        let killer = DispatchWorkItem { [p] in
            timedOut.set()
            p.terminate()
            usleep(200_000)
            if p.isRunning { kill(p.processIdentifier, SIGKILL) }
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: killer)
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        killer.cancel()
        if timedOut.isSet {
            return failure(path, "timed out after \(Self.seconds(timeout)) s; the analysis was stopped", start)
        }
        if p.terminationReason == .uncaughtSignal {
            return failure(path, "dumpdbg crashed analysing this dump (signal \(p.terminationStatus)); please report it with the dump", start)
        }
        let line = String(decoding: data, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
        guard line.hasPrefix("{") else {
            return failure(path, "the analysis ended with exit code \(p.terminationStatus) and no result", start)
        }
        return line
    }

    private func failure(_ path: String, _ message: String, _ start: Date) -> String {
        var r = TriageRecord(file: path)
        if let (hash, size) = FileDigest.sha256(path: path) {
            r.sha256 = hash
            r.bytes = size
        }
        r.error = message
        r.seconds = (Date().timeIntervalSince(start) * 1000).rounded() / 1000
        return r.jsonLine
    }

    static func seconds(_ s: Double) -> String {
        s == s.rounded() ? String(Int(s)) : String(s)
    }
}

private final class TimeoutFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.lock(); value = true; lock.unlock() }
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
}
