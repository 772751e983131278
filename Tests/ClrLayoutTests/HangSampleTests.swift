import ClrLayout
@testable import Commands
import DumpModel
import Foundation
import TestSupport
import Testing

/// The project's own hang sample (Samples/clr/HangSample.cs, dumps in Samples/dumps/hang): a deadlock, a
/// sleeping lock owner, a never-completing async chain and finalizable objects, on .NET Core 3.1 and .NET 8.
/// Every check is against what the program wrote about itself (FACT lines) before the dump was written.
enum HangSample {
    static let folder = ClrFixtures.projectRoot.appendingPathComponent("Samples/dumps/hang").path

    enum Target: String, CaseIterable, CustomTestStringConvertible {
        case linux31 = "linux-3.1", linux80 = "linux-8.0"
        var testDescription: String { rawValue }
        var runtime: String? { self == .linux31 ? installedRuntime31() : installedRuntime80() }
        var dump: String { HangSample.folder + "/\(rawValue).core.xz" }
    }

    /// The FACT key=value lines of a target's run.
    static func facts(_ t: Target) throws -> [String: String] {
        let text = try String(contentsOfFile: folder + "/\(t.rawValue).facts.txt", encoding: .utf8)
        var out: [String: String] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix("FACT ") {
            let kv = line.dropFirst(5)
            guard let eq = kv.firstIndex(of: "=") else { continue }
            out[String(kv[..<eq])] = String(kv[kv.index(after: eq)...])
        }
        return out
    }

    static func session(_ t: Target) throws -> (Session, Output.Buffer) {
        setenv("DUMPDBG_CACHE", ClrFixtures.cacheDirectory, 1)
        let opened = try DumpLoader.open(path: t.dump)
        let buffer = Output.Buffer()
        let s = Session(dump: opened.dump, output: Output(sink: { buffer.append($0) }))
        s.imagePath = [try ClrFixtures.linkFolder([t.runtime!]), try ClrFixtures.linkFolder([folder], files: ["app.exe"])]
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

@Suite("Hang sample: deadlock, sleeper, async chain, finalizers (3.1 and 8.0)")
struct HangSampleTests {
    static let targets = HangSample.Target.allCases.filter { $0.runtime != nil && FileManager.default.fileExists(atPath: $0.dump) }

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
        }
    }

    @Test(arguments: targets)
    func dumpasyncChainsTheAwaitedTaskToTheThreeStateMachines(_ t: HangSample.Target) throws {
        let (s, b) = try HangSample.session(t)
        let out = ClrFixtures.run(s, b, "!dumpasync")
        let lines = out.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let stack = try #require(lines.firstIndex(of: "STACK 1"), "\(out)")
        #expect(!lines.contains("STACK 2"), "\(out)")
        let frames = Array(lines[(stack + 1)...].prefix { !$0.isEmpty })
        #expect(frames.count == 4, "\(out)")
        guard frames.count == 4 else { return }
        // depth by indentation, then "<object> <mt> (<state>) <description>"
        let expected = [(0, "( ) System.Threading.Tasks.Task<System.Int32>"),
                        (2, "(1) Samples.Hang.Chain+<InnerAsync>c__async2"),
                        (4, "(1) Samples.Hang.Chain+<MiddleAsync>c__async1"),
                        (6, "(1) Samples.Hang.Chain+<OuterAsync>c__async0")]
        for (line, (indent, tail)) in zip(frames, expected) {
            #expect(line.prefix { $0 == " " }.count == indent, "\(line)")
            #expect(line.hasSuffix(" " + tail), "\(line)")
        }
        // Each frame is a real object of the type it names.
        let inner = frames[1].split(separator: " ")[0]
        #expect(ClrFixtures.run(s, b, "!do \(inner)").contains("AsyncStateMachineBox`1[[System.Int32, System.Private.CoreLib],[Samples.Hang.Chain+<InnerAsync>c__async2, app]]"))
        let stats = ClrFixtures.run(s, b, "!dumpasync --stats")
        #expect(stats.split(separator: "\n").filter { $0.hasSuffix(" Samples.Hang.Chain+<OuterAsync>c__async0") && $0.contains(" 1 ") }.count == 1, "\(stats)")
        let coalesced = ClrFixtures.run(s, b, "!dumpasync --coalesce")
        #expect(coalesced.contains("STACKS 1\n[1] ") && coalesced.contains("\n      [1] "), "\(coalesced)")
        #expect(ClrFixtures.run(s, b, "!dumpasync --type NoSuchType").isEmpty)
        #expect(ClrFixtures.run(s, b, "!dumpasync --bogus").contains("Unknown option '--bogus'"))
    }
}
