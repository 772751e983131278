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

    /// Random worker lines: the shape the pool writes (options, `--`, paths) with values, repeats, near-misses
    /// and words out of place mixed in.
    @Test func quickAnswersAreSwiftArgumentParsersAnswers() throws {
        let values = ["a;b", "", "-", "--", "-x", "a.dmp", "f"]
        let strays = ["-x", "--list", "-j", "2", "--timeout", "a.dmp", "--worker"]
        let paths = ["a.dmp", "b.core", "", "-", "-i", "--"]
        var generator = SplitMix(state: 0x7219)
        func pick(_ words: [String]) -> String { words[Int(generator.next() % UInt64(words.count))] }
        var quickAnswers = 0, withBothOptions = 0
        for _ in 0..<12000 {
            var line = ["--worker"]
            for _ in 0..<Int(generator.next() % 4) {
                switch generator.next() % 5 {
                case 0, 1: line += ["-i", pick(values)]
                case 2, 3: line += ["-y", pick(values)]
                default: line.append(pick(strays))
                }
            }
            if generator.next() % 8 != 0 { line.append("--") }
            for _ in 0..<Int(generator.next() % 4) { line.append(pick(paths)) }
            guard let quick = TriageWorkerLine.quick(line) else { continue }
            quickAnswers += 1
            if quick.imagePath != nil, quick.symbolPath != nil { withBothOptions += 1 }
            let parsed = try TriageCommand.parse(line)
            #expect(parsed.worker, "\(line)")
            #expect(TriageWorkerLine(imagePath: parsed.imagePath, symbolPath: parsed.symbolPath, paths: parsed.paths) == quick,
                    "\(line)")
        }
        #expect(quickAnswers > 2000 && withBothOptions > 150, "the random lines reach the quick reader, options included: \(quickAnswers), \(withBothOptions)")
    }
}
