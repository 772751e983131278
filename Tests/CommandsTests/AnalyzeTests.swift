import Commands
import DumpModel
import Foundation
import Testing
import TestSupport

/// `!analyze -v` on the shared dumps and the project's crash core: the exception it names is the dump's,
/// the bucket is what the crash was, and the bucket and hash are the same on every run and for a copy.
struct AnalyzeTests {
    static func analysis(_ dump: any Dump, _ before: [String] = []) throws -> (result: [String: Any], session: Session) {
        let (text, session) = Fixtures.run(dump, [".outputformat json"] + before + ["!analyze -v"])
        let last = text.split(separator: "\n").last.map(String.init) ?? ""
        let doc = try #require(JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any], "not JSON: \(last)")
        #expect(doc["ok"] as? Bool == true, "\(doc)")
        return (try #require(doc["result"] as? [String: Any]), session)
    }

    /// INDEX.md's dumps with an exception or a signal: (path, code).
    static let crashes: [(String, UInt32)] = {
        guard let text = try? String(contentsOfFile: Fixtures.path("INDEX.md"), encoding: .utf8) else { return [] }
        var out: [(String, UInt32)] = []
        for line in text.split(separator: "\n") where line.hasPrefix("| ") {
            let cols = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard cols.count >= 11, cols[3] == "MDMP" || cols[3] == "ELF core" else { continue }
            let e = cols[7]
            if e.hasPrefix("0x"), let at = e.firstIndex(of: "@"), let code = UInt32(e[e.index(e.startIndex, offsetBy: 2)..<at], radix: 16) {
                out.append((cols[1], code))
            } else if e.hasPrefix("signal "), let signo = UInt32(e.dropFirst(7).prefix { $0.isNumber }) {
                out.append((cols[1], signo))
            }
        }
        return out
    }()

    /// Every dump of the index: `~* kn` and `!analyze -v` answer (no trap, no runaway) whatever the architecture.
    @Test func everyDumpGetsStacksAndAnAnalysis() throws {
        guard Fixtures.available else { Issue.record(Fixtures.absent); return }
        let text = try String(contentsOfFile: Fixtures.path("INDEX.md"), encoding: .utf8)
        let paths = text.split(separator: "\n").compactMap { line -> String? in
            let cols = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            return cols.count >= 11 && (cols[3] == "MDMP" || cols[3] == "ELF core") ? cols[1] : nil
        }
        #expect(paths.count == 65)
        for path in paths {
            let dump = try Fixtures.open(path)
            let out = Fixtures.run(dump, [".outputformat json", "~* kn", "!analyze -v"]).text.split(separator: "\n")
            #expect(out.count == 2, "\(path)")
            for line in out {
                let doc = try #require(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                #expect(doc["ok"] as? Bool == true, "\(path): \(line.prefix(300))")
            }
        }
    }

    @Test func everyCrashInTheIndexIsAnalysed() throws {
        guard Fixtures.available else { Issue.record(Fixtures.absent); return }
        #expect(Self.crashes.count >= 50)
        for (path, code) in Self.crashes {
            let dump = try Fixtures.open(path)
            let (a, session) = try Self.analysis(dump)
            let e = try #require(a["exception"] as? [String: Any], "\(path)")
            #expect(StackWalkTests.hex(e["code"]) == UInt64(code), "\(path)")
            let bucket = try #require(a["failureBucketId"] as? String)
            #expect(!bucket.isEmpty && bucket.contains("!"), "\(path): \(bucket)")
            // It switches to the faulting thread.
            #expect(StackWalkTests.hex(a["faultingThreadId"]) == dump.threads[session.currentThread].id, "\(path)")
            // The same on a second run.
            let (again, _) = try Self.analysis(try Fixtures.open(path))
            #expect(again["failureBucketId"] as? String == bucket && again["failureHash"] as? String == a["failureHash"] as? String, "\(path)")
        }
    }

    @Test func minidump2IsANullClassPointerWrite() throws {
        guard Fixtures.available else { Issue.record(Fixtures.absent); return }
        let (a, session) = try Self.analysis(try Fixtures.open("breakpad/minidump2.dmp"))
        #expect(a["failureBucketId"] as? String == "NULL_CLASS_PTR_WRITE_c0000005_test_app.exe!Unknown")
        #expect(a["accessType"] as? String == "Write")
        #expect(StackWalkTests.hex(a["accessAddress"]) == 0x45)
        #expect(a["symbolName"] as? String == "test_app+429e")
        #expect(a["stackCommand"] as? String == "~0s; .ecxr ; kb")
        let frames = (a["stack"] as? [String: Any])?["frames"] as? [[String: Any]] ?? []
        #expect(frames.count == 4)
        #expect(session.useExceptionContext)
        // The hash does not depend on where the file is.
        let copy = scratchPath("analyze-copy.dmp")
        try? FileManager.default.removeItem(atPath: copy)
        try FileManager.default.copyItem(atPath: Fixtures.path("breakpad/minidump2.dmp"), toPath: copy)
        defer { try? FileManager.default.removeItem(atPath: copy) }
        let (b, _) = try Self.analysis(try DumpLoader.open(path: copy).dump)
        #expect(b["failureHash"] as? String == a["failureHash"] as? String)
        #expect(b["failureBucketId"] as? String == a["failureBucketId"] as? String)
    }

    /// The project's kernel core: worker-2 wrote through NULL at offset 0x10 in dumpdbg_crash_here().
    @Test func crashCoreBlamesTheCrashingFunction() throws {
        guard NativeSampleCores.toolsPresent else { Issue.record("gcc and gdb are needed for the native sample cores"); return }
        let made = NativeSampleCores.made
        let path = made.directory + "/threads.crash.core"
        guard FileManager.default.fileExists(atPath: path) else { return }  // the log says why (core_pattern)
        let facts = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: made.directory + "/threads.crash.facts.json"))) as? [String: Any])
        let worker2 = try #require((facts["workers"] as? [[String: Any]])?.first { $0["name"] as? String == "worker-2" })
        let dump = try DumpLoader.open(path: path).dump
        let (a, session) = try Self.analysis(dump)
        #expect(a["failureBucketId"] as? String == "NULL_CLASS_PTR_ACCESS_SIGSEGV_threads!dumpdbg_crash_here")
        #expect(StackWalkTests.hex(a["faultingThreadId"]) == (worker2["tid"] as? NSNumber)?.uint64Value)
        #expect(dump.threads[session.currentThread].id == (worker2["tid"] as? NSNumber)?.uint64Value)
        #expect((a["symbolName"] as? String)?.hasPrefix("threads!dumpdbg_crash_here+") == true)
        #expect((a["errorCode"] as? String)?.contains("SEGV_MAPERR") == true)
    }

    /// A gcore snapshot has no event: the analysis says so and buckets the main thread as a hang.
    @Test func snapshotIsAHang() throws {
        guard NativeSampleCores.toolsPresent else { Issue.record("gcc and gdb are needed for the native sample cores"); return }
        let path = NativeSampleCores.made.directory + "/threads.core"
        guard FileManager.default.fileExists(atPath: path) else { Issue.record("threads.core was not made"); return }
        let (a, _) = try Self.analysis(try DumpLoader.open(path: path).dump)
        #expect(a["exception"] == nil)
        #expect((a["note"] as? String)?.contains("No exception") == true)
        #expect(a["failureBucketId"] as? String == "APPLICATION_HANG_0_threads!main_block")
    }
}
