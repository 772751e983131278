import ClrLayout
@testable import Commands
import DumpModel
import Foundation
import TestSupport
import Testing

/// The project's starved thread pool (Samples/clr/PoolStarvation.cs, dumps in Samples/dumps/pool, and on Windows
/// in the cache made by `Samples/install-deps.sh --tests`): every worker blocked, work items waiting in the global
/// queue and in one worker's local queue. Checked against what the program wrote about itself (FACT lines).
enum PoolSample {
    static let folder = ClrFixtures.projectRoot.appendingPathComponent("Samples/dumps/pool").path
    static var windowsFolder: String {
        if let dir = ProcessInfo.processInfo.environment["DUMPDBG_SAMPLES_WINDOWS_POOL"], !dir.isEmpty { return dir }
        return AsyncCrashSample.sampleCache + "/pool"
    }

    enum Target: String, CaseIterable, CustomTestStringConvertible {
        case linux31 = "linux-3.1", linux80 = "linux-8.0", windows31 = "windows-3.1"
        var testDescription: String { rawValue }
        var isWindows: Bool { self == .windows31 }
        var runtime: String? {
            switch self {
            case .linux31: installedRuntime31()
            case .linux80: installedRuntime80()
            case .windows31: ""
            }
        }
        var folder: String { isWindows ? PoolSample.windowsFolder : PoolSample.folder }
        var dump: String { folder + (isWindows ? "/windows-3.1.mdmp.xz" : "/\(rawValue).core.xz") }
    }

    static let targets = Target.allCases.filter { t in
        guard FileManager.default.fileExists(atPath: t.dump) else {
            print("skip PoolStarvation \(t.rawValue): no dump at \(t.dump)" + (t.isWindows ? " (Samples/install-deps.sh --tests makes it under Wine)" : ""))
            return false
        }
        return t.runtime != nil
    }

    static func facts(_ t: Target) throws -> [String: String] { try SampleFacts.read(t.folder + "/\(t.rawValue).facts.txt") }

    static func session(_ t: Target) throws -> (Session, Output.Buffer) {
        setenv("DUMPDBG_CACHE", ClrFixtures.cacheDirectory, 1)
        let buffer = Output.Buffer()
        let s = Session(dump: try DumpLoader.open(path: t.dump).dump, output: Output(sink: { buffer.append($0) }))
        s.imagePath = (t.isWindows ? [] : [try ClrFixtures.linkFolder([t.runtime!])]) + [try ClrFixtures.linkFolder([t.folder], files: ["app.exe"])]
        _ = ClrFixtures.run(s, buffer, ".loadby sos clr")
        return (s, buffer)
    }
}

@Suite("A starved thread pool: !ThreadPool -wi and !analyze -hang (3.1 and 8.0 on Linux, 3.1 on Windows)")
struct PoolStarvationTests {
    @Test(arguments: PoolSample.targets)
    func threadPoolListsEveryQueuedItemWithItsMethod(_ t: PoolSample.Target) throws {
        let facts = try PoolSample.facts(t)
        #expect(facts["ran.Pending"] == nil && facts["ran.Queued"] == nil && facts["ran.LocalWork"] == nil, "a queued item ran: \(facts)")
        let (s, b) = try PoolSample.session(t)
        let out = ClrFixtures.run(s, b, "!ThreadPool -wi")
        let lines = out.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let header = try #require(lines.firstIndex(of: "           Queue          Address Work Item"), "\(out)")
        #expect(lines[header - 1] == "Queued work items:" && lines[header - 2].isEmpty, "\(out)")
        let rows = Array(lines[(header + 1)...].prefix { $0 != "Statistics:" })
        func count(_ method: String, global: Bool) -> Int {
            rows.filter { $0.hasSuffix(" => " + method) && $0.hasPrefix("        [Global] ") == global }.count
        }
        let pending = try #require(facts["method.Pending"]), queued = try #require(facts["method.Queued"]), local = try #require(facts["method.LocalWork"])
        #expect(count(pending, global: true) == Int(facts["queue.global.Pending"] ?? ""), "\(out)")
        #expect(count(queued, global: true) == Int(facts["queue.global.Queued"] ?? ""), "\(out)")
        // The local item sits in a worker's WorkStealingQueue: the row starts with that queue's address.
        #expect(count(local, global: false) == Int(facts["queue.local.LocalWork"] ?? ""), "\(out)")
        #expect(rows.count == 9, "\(out)")
        for row in rows {
            let cols = row.split(separator: " ")
            #expect(ClrFixtures.run(s, b, "!do \(cols[1])").contains("Name:        \(cols[2])\n"), "\(row)")
        }
        #expect(rows.filter { $0.contains("System.Threading.Tasks.Task => ") }.count == 4, "\(out)")
        #expect(out.contains("\nTotal 9 objects\n"), "\(out)")
        // Without -wi, nothing about items; an unknown option is a usage error.
        #expect(!ClrFixtures.run(s, b, "!ThreadPool").contains("Queued work items"))
        #expect(ClrFixtures.run(s, b, "!ThreadPool -bogus").contains("Usage"))
    }

    @Test(arguments: PoolSample.targets)
    func analyzeHangNamesTheStarvation(_ t: PoolSample.Target) throws {
        let facts = try PoolSample.facts(t)
        let (s, b) = try PoolSample.session(t)
        let out = ClrFixtures.run(s, b, "!analyze -v -hang")
        let max = try #require(facts["pool.max_workers"])
        #expect(out.contains("THREADPOOL_STARVATION:  worker threads at the pool's limit (Running \(max), MaxLimit \(max)); blocked workers ~"), "\(out)")
        #expect(out.contains("; 9 work items queued (!ThreadPool -wi)\n"), "\(out)")
        #expect(out.contains("PRIMARY_PROBLEM_CLASS:  APPLICATION_HANG_THREADPOOL_STARVATION\n"), "\(out)")
        #expect(out.contains("FAILURE_BUCKET_ID:  APPLICATION_HANG_THREADPOOL_STARVATION_app.exe!Samples.Pool.Jobs.Block\n"), "\(out)")
        // The session is left on a blocked worker, whose stack runs the blocking work item.
        #expect(ClrFixtures.run(s, b, "!clrstack").contains(" Samples.Pool.Jobs.Block(System.Object)\n"))
    }
}

/// The same starved pool dumped from outside while it runs (Samples/make-hang-snapshot.sh: `createdump PID`):
/// createdump marks every thread SIGABRT, but nothing is aborting and no managed exception is in flight, so
/// `!analyze -v` analyses a hang, as WinDbg does for a dump without an exception.
@Suite("A snapshot of a hung .NET process: !analyze -v finds the hang by itself")
struct LiveSnapshotTests {
    static let folder = ClrFixtures.projectRoot.appendingPathComponent("Samples/dumps/pool-hang").path

    @Test(.enabled(if: installedRuntime31() != nil, "the .NET Core 3.1.23 runtime is needed (Samples/install-deps.sh)"))
    func analyzeWithoutHangFindsTheStarvation() throws {
        let facts = try SampleFacts.read(Self.folder + "/linux-3.1.facts.txt")
        #expect(facts["ready"] == "1" && facts["exception.type"] == nil)
        setenv("DUMPDBG_CACHE", ClrFixtures.cacheDirectory, 1)
        let buffer = Output.Buffer()
        let s = Session(dump: try DumpLoader.open(path: Self.folder + "/linux-3.1.core.xz").dump, output: Output(sink: { buffer.append($0) }))
        s.imagePath = [try ClrFixtures.linkFolder([installedRuntime31()!]), try ClrFixtures.linkFolder([Self.folder], files: ["app.exe"])]
        _ = ClrFixtures.run(s, buffer, ".loadby sos clr")
        #expect(s.isLiveSnapshot)
        #expect(ClrFixtures.run(s, buffer, ".lastevent").hasPrefix("Last event: <none>\n  (a snapshot of a running process"))
        let out = ClrFixtures.run(s, buffer, "!analyze -v")
        #expect(out.contains("No exception: createdump wrote this dump of a running process"), "\(out)")
        #expect(out.contains("FAILURE_BUCKET_ID:  APPLICATION_HANG_THREADPOOL_STARVATION_app.exe!Samples.Pool.Jobs.Block\n"), "\(out)")
        // Batch triage gives the same bucket.
        let line = BatchTriage.record(dumpPath: Self.folder + "/linux-3.1.core.xz", imagePath: s.imagePath)
        #expect(line.bucketId == "APPLICATION_HANG_THREADPOOL_STARVATION_app.exe!Samples.Pool.Jobs.Block" && line.error == nil, "\(line.jsonLine)")
        // The crash dumps of the same program are not snapshots: their bucket is the managed exception's.
        let (crash, cb) = try PoolSample.session(.linux31)
        #expect(!crash.isLiveSnapshot)
        #expect(ClrFixtures.run(crash, cb, "!analyze -v").contains("FAILURE_BUCKET_ID:  CLR_EXCEPTION_System.InvalidOperationException_80131509_app.exe!Samples.Pool.Jobs.Crash\n"))
    }
}
