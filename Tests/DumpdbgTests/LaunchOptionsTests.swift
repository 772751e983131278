@testable import dumpdbg
import Testing
import TestSupport

/// `LaunchOptions.quick` reads the plain command lines without swift-argument-parser; wherever it gives an
/// answer, swift-argument-parser must give the same one.
@Suite struct LaunchOptionsTests {
    @Test func plainFormsAreReadQuickly() throws {
        let o = try #require(LaunchOptions.quick(["-z", "crash.dmp", "-c", "~; lm; q"]))
        #expect(o == LaunchOptions(dumpOption: "crash.dmp", commands: "~; lm; q"))
        let all = try #require(LaunchOptions.quick(["--json", "-i", "a;b", "-y", "s", "-cf", "t.txt", "--transcript", "out",
                                                    "--check", "old", "--no-banner", "core.xz"]))
        #expect(all == LaunchOptions(dumpArgument: "core.xz", commandFile: "t.txt", imagePath: "a;b", symbolPath: "s",
                                     transcript: "out", check: "old", noBanner: true, json: true))
        for other in [["--help"], ["-h"], ["--version"], ["-c", "k"], ["-z", "a", "b", "c"], ["-z", "a", "-z", "b"],
                      ["--transcript=t", "a"], ["-z", "-c"], ["a", "--"], ["--write-command-reference", "f"], [""]] {
            #expect(LaunchOptions.quick(other) == nil, "\(other)")
        }
    }

    /// Random command lines from words that are options, values, near-misses and dumps.
    @Test func quickAnswersAreSwiftArgumentParsersAnswers() throws {
        let words = ["-z", "-c", "-cf", "-i", "-y", "--transcript", "--check", "--no-banner", "--json", "a.dmp", "b.core",
                     "~; lm; q", "-x", "--json=1", "-zc", "--", "", "help", "-h", "--version", "--write-command-reference",
                     "f;g", "--cf", "-json", "triage"]
        var generator = SplitMix(state: 0x5EED)
        var quickAnswers = 0
        for _ in 0..<12000 {
            let count = Int(generator.next() % 7)
            let line = (0..<count).map { _ in words[Int(generator.next() % UInt64(words.count))] }
            guard let quick = LaunchOptions.quick(line) else { continue }
            quickAnswers += 1
            let parsed = try DumpDbg.parse(line)
            #expect(parsed.options == quick, "\(line)")
        }
        #expect(quickAnswers > 300, "the random lines reach the quick reader")
    }
}
