@testable import dumpdbg
import Testing
import TestSupport

/// `TriageWorkerLine.quick` reads the worker line `WorkerPool` writes without swift-argument-parser; wherever it
/// gives an answer, swift-argument-parser must give the same one.
@Suite struct TriageWorkerLineTests {
    @Test func theLinesThePoolWritesAreReadQuickly() throws {
        let line = try #require(TriageWorkerLine.quick(["--worker", "-i", "a;b", "-y", "s", "--", "crash.dmp"]))
        #expect(line == TriageWorkerLine(imagePath: "a;b", symbolPath: "s", paths: ["crash.dmp"]))
        #expect(TriageWorkerLine.quick(["--worker", "--", "-odd.dmp"]) == TriageWorkerLine(paths: ["-odd.dmp"]))
        for other in [["--worker"], ["--worker", "a.dmp"], ["--worker", "--"], ["a.dmp"], ["--list", "--worker", "--", "a"],
                      ["--worker", "-i", "--", "a"], ["--worker", "-i", "x", "-i", "y", "--", "a"], ["--worker", "-j", "2", "--", "a"]] {
            #expect(TriageWorkerLine.quick(other) == nil, "\(other)")
        }
    }

    /// Random worker lines from words that are options, values, near-misses and dumps.
    @Test func quickAnswersAreSwiftArgumentParsersAnswers() throws {
        let words = ["-i", "-y", "--", "a.dmp", "b.core", "f;g", "-x", "--worker", "--list", "-j", "2", "", "-", "--timeout"]
        var generator = SplitMix(state: 0x7219)
        var quickAnswers = 0
        for _ in 0..<12000 {
            let count = Int(generator.next() % 7)
            let line = ["--worker"] + (0..<count).map { _ in words[Int(generator.next() % UInt64(words.count))] }
            guard let quick = TriageWorkerLine.quick(line) else { continue }
            quickAnswers += 1
            let parsed = try TriageCommand.parse(line)
            #expect(parsed.worker, "\(line)")
            #expect(TriageWorkerLine(imagePath: parsed.imagePath, symbolPath: parsed.symbolPath, paths: parsed.paths) == quick,
                    "\(line)")
        }
        #expect(quickAnswers > 300, "the random lines reach the quick reader")
    }
}
