import ClrLayout
@testable import Commands
import DumpModel
import Foundation
import TestSupport
import Testing

/// The project's own hang sample (Samples/clr/HangSample.cs, dumps in Samples/dumps/hang): a deadlock, a
/// sleeping lock owner, a never-completing async chain and finalizable objects, on .NET Core 3.1 and .NET 8 on
/// Linux and .NET Core 3.1 for Windows under Wine (made into the cache by `Samples/install-deps.sh --tests`).
/// Every check is against what the program wrote about itself (FACT lines) before the dump was written.
enum HangSample {
    static let folder = ClrFixtures.projectRoot.appendingPathComponent("Samples/dumps/hang").path
    /// Where Samples/install-deps.sh --tests puts the Windows hang dump, made under Wine (112 MB raw, too big for git).
    static var windowsFolder: String {
        if let dir = ProcessInfo.processInfo.environment["DUMPDBG_SAMPLES_WINDOWS_HANG"], !dir.isEmpty { return dir }
        return AsyncCrashSample.sampleCache + "/hang"
    }

    enum Target: String, CaseIterable, CustomTestStringConvertible {
        case linux31 = "linux-3.1", linux80 = "linux-8.0", windows31 = "windows-3.1"
        var testDescription: String { rawValue }
        /// The runtime's folder for the Linux dumps; "" for Windows, whose CoreLib metadata is in the dump.
        var runtime: String? {
            switch self {
            case .linux31: installedRuntime31()
            case .linux80: installedRuntime80()
            case .windows31: ""
            }
        }
        var isWindows: Bool { self == .windows31 }
        var folder: String { isWindows ? HangSample.windowsFolder : HangSample.folder }
        var dump: String { folder + (isWindows ? "/windows-3.1.mdmp.xz" : "/\(rawValue).core.xz") }
    }

    /// The FACT key=value lines of a target's run.
    static func facts(_ t: Target) throws -> [String: String] { try SampleFacts.read(t.folder + "/\(t.rawValue).facts.txt") }

    static func session(_ t: Target) throws -> (Session, Output.Buffer) {
        setenv("DUMPDBG_CACHE", ClrFixtures.cacheDirectory, 1)
        let opened = try DumpLoader.open(path: t.dump)
        let buffer = Output.Buffer()
        let s = Session(dump: opened.dump, output: Output(sink: { buffer.append($0) }))
        s.imagePath = (t.isWindows ? [] : [try ClrFixtures.linkFolder([t.runtime!])]) + [try ClrFixtures.linkFolder([t.folder], files: ["app.exe"])]
        _ = ClrFixtures.run(s, buffer, ".loadby sos clr")
        return (s, buffer)
    }

    /// The managed method names of a `!clrstack` listing, top first, without parameters or Frame lines.
    static func methods(_ clrstack: String) -> [String] {
        clrstack.split(separator: "\n").compactMap { line -> String? in
            let cols = line.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true)
            guard cols.count == 3, cols[0].count == 16, !cols[2].hasPrefix("["), !cols[2].hasPrefix("Call") else { return nil }
            return String(cols[2].prefix { $0 != "(" })
        }
    }
}

@Suite("Hang sample: deadlock, sleeper, async chain, finalizers (3.1 and 8.0 on Linux, 3.1 on Windows)")
struct HangSampleTests {
    static let targets = HangSample.Target.allCases.filter { t in
        guard FileManager.default.fileExists(atPath: t.dump) else {
            print("skip HangSample \(t.rawValue): no dump at \(t.dump)" + (t.isWindows ? " (Samples/install-deps.sh --tests makes it under Wine)" : ""))
            return false
        }
        return t.runtime != nil
    }

    @Test(arguments: targets)
    func clrstackOfEachBlockedThreadEndsWithTheStackTheProgramPrinted(_ t: HangSample.Target) throws {
        let facts = try HangSample.facts(t)
        let (s, b) = try HangSample.session(t)
        for name in ["Sleeper", "Deadlock-A", "Deadlock-B"] {
            let tid = try #require(facts["thread.\(name).os_tid_hex"])
            let count = try #require(Int(facts["stack.\(name).count"] ?? ""))
            let expected = (0..<count).map { facts["stack.\(name).\($0)"] ?? "?" }
            let out = ClrFixtures.run(s, b, "~~[0x\(tid)]s; !clrstack")
            let got = HangSample.methods(out)
            // The program printed its stack just before the blocking call; the dump may show that call on top.
            #expect(got.count >= expected.count && got.count <= expected.count + 1, "\(name) on \(t): \(got) vs \(expected)")
            #expect(Array(got.suffix(expected.count)) == expected, "\(name) on \(t): \(out)")
            // The runtime's Frame for the blocking call names its FCall (the DAC's HelperMethodFrame::GetFunction).
            let blocking = name == "Sleeper" ? "] System.Threading.Thread.SleepInternal(Int32)\n"
                                             : "] System.Threading.Monitor.ReliableEnter(System.Object, Boolean ByRef)\n"
            #expect(out.contains(blocking), "\(name) on \(t): \(out)")
        }
    }

    @Test(arguments: targets)
    func dumpasyncChainsTheAwaitedTaskToTheThreeStateMachines(_ t: HangSample.Target) throws {
        let (s, b) = try HangSample.session(t)
        let out = ClrFixtures.run(s, b, "!dumpasync")
        let stacks = Self.asyncStacks(out)
        let chain = try #require(stacks.first { $0.first?.hasSuffix(" ( ) System.Threading.Tasks.Task<System.Int32>") == true }, "\(out)")
        #expect(chain.count == 4, "\(out)")
        guard chain.count == 4 else { return }
        // depth by indentation, then "<object> <mt> (<state>) <description>"
        let expected = [(0, "( ) System.Threading.Tasks.Task<System.Int32>"),
                        (2, "(1) Samples.Hang.Chain+<InnerAsync>c__async3"),
                        (4, "(1) Samples.Hang.Chain+<MiddleAsync>c__async2"),
                        (6, "(1) Samples.Hang.Chain+<OuterAsync>c__async1")]
        for (line, (indent, tail)) in zip(chain, expected) {
            #expect(line.prefix { $0 == " " }.count == indent, "\(line)")
            #expect(line.hasSuffix(" " + tail), "\(line)")
        }
        // Each frame is a real object of the type it names.
        let inner = chain[1].split(separator: " ")[0]
        #expect(ClrFixtures.run(s, b, "!do \(inner)").contains("AsyncStateMachineBox`1[[System.Int32, System.Private.CoreLib],[Samples.Hang.Chain+<InnerAsync>c__async3, app]]"))
        let stats = ClrFixtures.run(s, b, "!dumpasync --stats")
        #expect(stats.split(separator: "\n").filter { $0.hasSuffix(" Samples.Hang.Chain+<OuterAsync>c__async1") && $0.contains(" 1 ") }.count == 1, "\(stats)")
        let coalesced = ClrFixtures.run(s, b, "!dumpasync --coalesce")
        #expect(coalesced.contains("[1] ") && coalesced.contains("\n      [1] "), "\(coalesced)")
        #expect(ClrFixtures.run(s, b, "!dumpasync --type NoSuchType").isEmpty)
        #expect(ClrFixtures.run(s, b, "!dumpasync --bogus").contains("Unknown option '--bogus'"))
    }

    /// The runtime's own async method, compiled by Roslyn (a struct state machine whose state is `<>1__state`),
    /// waits inside the sample's GateAsync: SemaphoreSlim's waiter node, then WaitUntilCountOrTimeoutAsync at the
    /// await it is suspended in (the second of 3.1's method, the only one of 8.0's: the DAC's field layout puts
    /// those values at `<>1__state`), then the mcs state machine that awaits it.
    @Test(arguments: targets)
    func dumpasyncReadsTheRuntimesRoslynStateMachine(_ t: HangSample.Target) throws {
        let facts = try HangSample.facts(t)
        #expect(facts["async.gate.chain"] == "Samples.Hang.Chain.GateAsync -> System.Threading.SemaphoreSlim.WaitUntilCountOrTimeoutAsync")
        #expect(facts["async.Gated.status"] == "WaitingForActivation")
        let (s, b) = try HangSample.session(t)
        let out = ClrFixtures.run(s, b, "!dumpasync")
        let gate = try #require(Self.asyncStacks(out).first { $0.first?.hasSuffix(" ( ) System.Threading.SemaphoreSlim+TaskNode") == true }, "\(out)")
        #expect(gate.count == 4, "\(out)")
        guard gate.count == 4 else { return }
        let state = t == .linux80 ? 0 : 1
        #expect(gate[2].hasPrefix("    ") && gate[2].contains(" (\(state)) System.Threading.SemaphoreSlim+<WaitUntilCountOrTimeoutAsync>d__"), "\(gate[2])")
        #expect(gate[3].hasPrefix("      ") && gate[3].hasSuffix(" (1) Samples.Hang.Chain+<GateAsync>c__async0"), "\(gate[3])")
        // The box holds the Roslyn struct inline; --fields shows its fields, <>1__state among them.
        let box = gate[2].split(separator: " ")[0]
        let fields = ClrFixtures.run(s, b, "!dumpasync --address \(box) --fields")
        #expect(fields.contains("<>1__state") && fields.contains("asyncWaiter"), "\(fields)")
    }

    /// The stacks `!dumpasync` printed: the lines under each "STACK n" header.
    static func asyncStacks(_ out: String) -> [[String]] {
        var stacks: [[String]] = []
        var current: [String]?
        for line in out.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if line.hasPrefix("STACK ") { if let c = current { stacks.append(c) }; current = []; continue }
            if line.isEmpty { if let c = current { stacks.append(c) }; current = nil; continue }
            current?.append(line)
        }
        if let c = current { stacks.append(c) }
        return stacks
    }

    /// The account object named `name` (BankAccount.Name), from the heap.
    static func account(_ name: String, _ s: Session, _ b: Output.Buffer) throws -> String {
        let list = ClrFixtures.run(s, b, "!dumpheap -type Samples.Hang.BankAccount -short")
        for a in list.split(separator: "\n").map({ $0.trimmingCharacters(in: .whitespaces) }) where a.count == 16 {
            let obj = ClrFixtures.run(s, b, "!do \(a)")
            guard let nameLine = obj.split(separator: "\n").first(where: { $0.hasSuffix(" Name") && $0.contains(" instance ") }),
                  let str = nameLine.split(separator: " ").dropLast().last else { continue }
            if ClrFixtures.run(s, b, "!do \(str)").contains("String:      \(name)\n") { return a }
        }
        throw CocoaLikeError("no BankAccount named \(name)")
    }

    @Test(arguments: targets)
    func syncblkShowsTheTwoDeadlockedMonitorsWithTheirOwners(_ t: HangSample.Target) throws {
        let facts = try HangSample.facts(t)
        let (s, b) = try HangSample.session(t)
        let out = ClrFixtures.run(s, b, "!syncblk")
        let rows = out.split(separator: "\n").filter { $0.hasSuffix(" Samples.Hang.BankAccount") }
        #expect(rows.count == 2, "\(out)")
        for (lock, owner) in [("account-A", "Deadlock-A"), ("account-B", "Deadlock-B")] {
            let object = try Self.account(lock, s, b)
            let tid = try #require(facts["thread.\(owner).os_tid_hex"])
            let index = try #require(s.dump.threads.firstIndex { $0.id == UInt64(tid, radix: 16) })
            let row = try #require(rows.first { $0.contains(" \(object) ") }, "\(lock) \(object): \(out)")
            let cols = row.split(separator: " ")
            // Index SyncBlock MonitorHeld Recursion Thread* OSID DbgIdx Object Type
            #expect(cols[2] == "3" && cols[3] == "1", "\(row)")   // the owner + one waiter; entered once
            #expect(cols[5] == Substring(tid) && cols[6] == Substring(String(index)), "\(row)")
        }
        // The sync table's size: the DAC's on Linux; on Windows (no DAC here) at least the two contended monitors.
        if t.isWindows {
            let total = out.split(separator: "\n").first { $0.hasPrefix("Total ") }.flatMap { Int($0.split(separator: " ")[1]) } ?? 0
            #expect(total >= 2 && out.hasSuffix("\nFree            0\n"), "\(out)")
        } else {
            #expect(out.hasSuffix("-----------------------------\nTotal           \(t == .linux31 ? 9 : 2)\nFree            0\n"), "\(out)")
        }
        // account-C was never contended: its monitor is a thin lock in the header, held twice by the Sleeper.
        let c = ClrFixtures.run(s, b, "!do \(try Self.account("account-C", s, b))")
        let sleeperTid = try #require(facts["thread.Sleeper.os_tid_hex"])
        let threads = ClrFixtures.run(s, b, "!threads")
        let sleeperRow = try #require(threads.split(separator: "\n").first { $0.split(separator: " ").count > 3 && $0.split(separator: " ")[2] == Substring(sleeperTid) })
        let cols = sleeperRow.split(separator: " ")
        #expect(c.contains("ThinLock owner \(String(Int(cols[1])!, radix: 16)) (\(cols[3].lowercased())), Recursive 1"), "\(c)\n\(sleeperRow)")
    }

    @Test(arguments: targets)
    func finalizequeueCountsTheFortyReachableResources(_ t: HangSample.Target) throws {
        let facts = try HangSample.facts(t)
        let (s, b) = try HangSample.session(t)
        let out = ClrFixtures.run(s, b, "!finalizequeue")
        let expected = try #require(facts["finalizer.Samples.Hang.NativeResource.reachable"])
        #expect(out.split(separator: "\n").contains { $0.hasSuffix(" Samples.Hang.NativeResource") && $0.split(separator: " ")[1] == Substring(expected) }, "\(out)")
        // The per-generation counts add up to the statistics' total (nothing is ready for finalization here).
        let gens = out.split(separator: "\n").filter { $0.hasPrefix("generation ") }.map { Int($0.split(separator: " ")[3])! }
        let total = Int(try #require(out.split(separator: "\n").last { $0.hasPrefix("Total ") }).split(separator: " ")[1])!
        #expect(gens.count == 3 && gens.reduce(0, +) == total, "\(out)")
        #expect(out.contains("Ready for finalization 0 objects"), "\(out)")
        // The program collected twice after making them: they are all in generation 2.
        #expect(out.contains("generation 2 has \(gens[2]) finalizable objects") && gens[2] >= 40, "\(out)")
    }

    @Test(arguments: targets)
    func analyzeHangFindsTheDeadlockCycle(_ t: HangSample.Target) throws {
        let facts = try HangSample.facts(t)
        let (s, b) = try HangSample.session(t)
        let out = ClrFixtures.run(s, b, "!analyze -v -hang")
        let a = try #require(s.dump.threads.firstIndex { $0.id == UInt64(facts["thread.Deadlock-A.os_tid_hex"] ?? "", radix: 16) })
        let bi = try #require(s.dump.threads.firstIndex { $0.id == UInt64(facts["thread.Deadlock-B.os_tid_hex"] ?? "", radix: 16) })
        #expect(out.contains("FAILURE_BUCKET_ID:  APPLICATION_HANG_DEADLOCK_MONITOR_app.exe!Samples.Hang.Transfer.Move\n"), "\(out)")
        #expect(out.contains("DEADLOCK:  threads ~\(min(a, bi)) -> ~\(max(a, bi)) -> ~\(min(a, bi)),"), "\(out)")
        #expect(out.contains("x \(String(a).leftPad(3)) \(facts["thread.Deadlock-A.os_tid_hex"]!)"), "\(out)")
        #expect(out.split(separator: "\n").contains { $0.contains(" Sleep ") && !$0.hasPrefix("x") }, "\(out)")
        // It leaves the session on the blocking thread, and the hash is the same on a second run.
        #expect(s.currentThread == min(a, bi))
        let hash = out.split(separator: "\n").first { $0.hasPrefix("FAILURE_ID_HASH:") }
        let again = ClrFixtures.run(s, b, "!analyze -hang")
        #expect(hash != nil && again.split(separator: "\n").first { $0.hasPrefix("FAILURE_ID_HASH:") } == hash)
    }
}

struct CocoaLikeError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
