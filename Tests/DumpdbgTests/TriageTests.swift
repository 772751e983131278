import Foundation
import TestSupport
import Testing

/// `dumpdbg triage`: one JSON line per dump, the bucket id of a session's `!analyze -v`, and a run that survives
/// analysers that crash or hang.
@Suite struct TriageTests {
    struct Line: Decodable {
        let file: String
        let sha256: String?
        let bytes: UInt64?
        let bucketId: String?
        let managedException: Managed?
        let threads: Int?
        let seconds: Double?
        let error: String?
        let warnings: [String]?
        struct Managed: Decodable { let type: String; let message: String? }
    }

    static func lines(_ stdout: String) throws -> [Line] {
        try stdout.split(separator: "\n").map { try JSONDecoder().decode(Line.self, from: Data($0.utf8)) }
    }

    static var imagePath: String {
        [installedRuntime31(), installedRuntime80(), Binary.dumps.appendingPathComponent("clr/async-crash").path]
            .compactMap { $0 }.joined(separator: ";")
    }

    @Test("every shared dump: the bucket id equals the FAILURE_BUCKET_ID a session's !analyze -v prints")
    func bucketIdsMatchAnalyze() throws {
        try #require(Binary.dumpsAvailable, "../shared/dumps is absent: the shared dumps are needed for this test")
        let r = try Binary.run(["triage", "--jobs", "2", "-i", Self.imagePath, Binary.dumps.path])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = try Self.lines(r.stdout)
        #expect(lines.count >= 60, "one line per dump under ../shared/dumps (got \(lines.count))")
        #expect(lines.map(\.file) == lines.map(\.file).sorted(), "a folder's dumps come in path order")
        for line in lines {
            let isClr = line.file.contains("/clr/")
            let commands = (isClr ? ".loadby sos clr; " : "") + "!analyze -v; q"
            let session = try Binary.run(["-z", line.file, "-i", Self.imagePath, "--no-banner", "-c", commands])
            let printed = session.stdout.split(separator: "\n").first { $0.hasPrefix("FAILURE_BUCKET_ID:") }
                .map { $0.dropFirst("FAILURE_BUCKET_ID:".count).trimmingCharacters(in: .whitespaces) }
            if let error = line.error {
                #expect(printed == nil, "\(line.file): triage says \(error) but the session printed a bucket")
                continue
            }
            #expect(line.bucketId == printed, "\(line.file)")
            #expect(line.sha256?.count == 64 && line.bytes ?? 0 > 0 && line.threads != nil && line.seconds != nil, "\(line.file)")
        }
        // Every CLR dump gets the managed analysis with the runtime on the image path.
        let clr = lines.filter { $0.file.contains("/clr/async-crash/") }
        #expect(clr.count == 3)
        for line in clr {
            #expect(line.managedException?.type == "System.NullReferenceException", "\(line.file)")
            #expect(line.bucketId?.hasPrefix("CLR_EXCEPTION_System.NullReferenceException") == true, "\(line.file)")
        }
    }

    @Test("the file's SHA-256 is the one sha256sum computes, also for a compressed dump")
    func sha256MatchesCoreutils() throws {
        let dump = Binary.projectRoot.appendingPathComponent("Samples/dumps/async-crash/linux-3.1.core.xz").path
        let r = try Binary.run(["triage", dump])
        let line = try #require(try Self.lines(r.stdout).first)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["sha256sum", dump]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let expected = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).prefix(64)
        p.waitUntilExit()
        #expect(line.sha256 == String(expected))
        #expect(line.bytes == (try FileManager.default.attributesOfItem(atPath: dump)[.size] as? NSNumber)?.uint64Value)
        // Without the runtime on the image path, the line says why there is no managed analysis.
        #expect(line.managedException == nil)
        #expect(line.warnings?.first?.contains("libcoreclr.so was not found on the image path") == true, "\(line.warnings ?? [])")
        #expect(line.warnings?.first?.hasSuffix("add the runtime folder with .exepath+ or -i") == true, "\(line.warnings ?? [])")
    }

    @Test("bad input gives an error line in its place and the run goes on")
    func badInputIsOneLine() throws {
        let dir = Binary.scratch + "/triage-bad"
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let notADump = dir + "/notes.txt", truncated = dir + "/cut.dmp"
        try "not a dump".write(toFile: notADump, atomically: true, encoding: .utf8)
        try Data("MDMP".utf8).write(to: URL(fileURLWithPath: truncated))
        let good = Binary.projectRoot.appendingPathComponent("Samples/dumps/async-crash/linux-8.0.core.xz").path
        let r = try Binary.run(["triage", notADump, good, dir + "/missing.dmp", dir])
        #expect(r.status == 0)
        let lines = try Self.lines(r.stdout)
        // The folder contributes only what starts like a dump (cut.dmp), not notes.txt.
        #expect(lines.map(\.file) == [notADump, good, dir + "/missing.dmp", truncated])
        #expect(lines[0].error?.contains("notes.txt") == true, "\(lines[0].error ?? "")")
        #expect(lines[1].error == nil && lines[1].bucketId != nil)
        #expect(lines[2].error?.contains("missing.dmp") == true)
        #expect(lines[3].error != nil)

        let empty = dir + "/empty"
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        let none = try Binary.run(["triage", empty])
        #expect(none.status == 2 && none.stderr.contains("no dumps found"))
    }

    @Test("an analyser that crashes or hangs costs one error line, not the run")
    func crashingAndHangingWorkers() throws {
        let dir = Binary.scratch + "/triage-workers"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        // A real process that dies of SIGSEGV for one dump, hangs for another, and answers for the rest.
        let worker = dir + "/worker.sh"
        try """
        #!/bin/sh
        for last; do :; done
        case "$last" in
          *crash*) kill -SEGV $$ ;;
          *hang*) exec sleep 30 ;;
          *) echo '{"file":"'"$last"'","bucketId":"X"}' ;;
        esac
        """.write(toFile: worker, atomically: true, encoding: .utf8)
        chmod(worker, 0o755)
        let files = ["a-crash.dmp", "b-ok.dmp", "c-hang.dmp", "d-ok.dmp"].map { dir + "/" + $0 }
        for f in files { try Data("MDMP".utf8).write(to: URL(fileURLWithPath: f)) }
        let start = Date()
        let r = try Binary.run(["triage", "--timeout", "2", "--jobs", "2"] + files, environment: ["DUMPDBG_TRIAGE_WORKER": worker])
        let lines = try Self.lines(r.stdout)
        #expect(Date().timeIntervalSince(start) < 20, "the hanging analysis was stopped at its timeout")
        #expect(lines.map(\.file) == files)
        #expect(lines[0].error?.contains("crashed") == true && lines[0].error?.contains("signal 11") == true, "\(lines[0].error ?? "")")
        #expect(lines[1].bucketId == "X" && lines[3].bucketId == "X")
        #expect(lines[2].error?.contains("timed out after 2 s") == true, "\(lines[2].error ?? "")")
        #expect(lines[2].sha256 != nil)
    }
}

/// The same job on Apache Spark in local mode (Samples/spark-triage): the same lines as `dumpdbg triage`.
@Suite struct SparkTriageTests {
    @Test("Samples/spark-triage/run.sh prints the lines dumpdbg triage prints, in the same order")
    func sparkMatchesTriage() throws {
        try #require(Binary.dumpsAvailable, "../shared/dumps is absent: the shared dumps are needed for this test")
        let folders = [Binary.dump("breakpad"), Binary.dump("clr"), Binary.dump("lldb/elf-core")]
        let images = TriageTests.imagePath
        let local = try Binary.run(["triage", "-i", images] + folders)
        let script = Binary.projectRoot.appendingPathComponent("Samples/spark-triage/run.sh").path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = [script, "--partitions", "3", "--image-path", images] + folders
        var env = ProcessInfo.processInfo.environment
        env["DUMPDBG"] = Binary.path
        env["DUMPDBG_CACHE"] = Binary.scratch + "/cache"
        p.environment = env
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let errData = ErrorCollector(err.fileHandleForReading)
        let spark = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "\(errData.text.suffix(2000))")
        let a = try Self.withoutTimes(spark), b = try Self.withoutTimes(local.stdout)
        #expect(a.count == b.count && a.count > 20)
        #expect(a == b)
    }

    /// Each line with its "seconds" taken out (the only field that differs between two runs).
    static func withoutTimes(_ text: String) throws -> [String] {
        try text.split(separator: "\n").map { line in
            var o = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            o["seconds"] = nil
            return String(decoding: try JSONSerialization.data(withJSONObject: o, options: [.sortedKeys]), as: UTF8.self)
        }
    }
}

/// Reads a pipe to its end on another thread, so a chatty child never blocks on a full pipe.
final class ErrorCollector: @unchecked Sendable {
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)
    init(_ handle: FileHandle) {
        Thread.detachNewThread { [self] in
            data = handle.readDataToEndOfFile()
            done.signal()
        }
    }
    var text: String {
        done.wait()
        return String(decoding: data, as: UTF8.self)
    }
}
