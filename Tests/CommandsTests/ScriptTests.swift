import Commands
import DumpModel
import Foundation
import Testing

struct SplitterTests {
    @Test func splitsAtSemicolonsOutsideQuotes() {
        #expect(CommandLineSplitter.split("~; lm; q") == ["~", "lm", "q"])
        #expect(CommandLineSplitter.split(".echo \"a;b\"; r") == [".echo \"a;b\"", "r"])
        #expect(CommandLineSplitter.split("$$ a comment; r eip") == ["r eip"])
        #expect(CommandLineSplitter.split("~* e r eip; r esp") == ["~* e r eip; r esp"])
        #expect(CommandLineSplitter.split("r; ~3 e k; kb") == ["r", "~3 e k; kb"])
        #expect(CommandLineSplitter.split("$$>a<script.txt 1 2; q") == ["$$>a<script.txt 1 2; q"])
        #expect(CommandLineSplitter.split("  ;; ") == [])
        #expect(CommandLineSplitter.split(".exepath /a;/b") == [".exepath /a;/b"])
    }
}

@Suite(.enabled(if: Fixtures.available, Fixtures.absent))
struct ScriptTests {
    let md2 = "breakpad/minidump2.dmp"

    func write(_ text: String, _ name: String) -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dumpdbg-scripts-\(getpid())").path
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let p = "\(dir)/\(name)"
        _ = FileManager.default.createFile(atPath: p, contents: Data(text.utf8))
        return p
    }

    @Test func echoingScript() throws {
        let p = write("$$ triage\nr eip\n\n.echo done\n", "a.txt")
        #expect(try Fixtures.run(md2, "$<\(p)") == "0:000> $$ triage\n0:000> r eip\neip=7c90eb94\n0:000> .echo done\ndone\n")
    }

    @Test func condensedScriptWithArguments() throws {
        let p = write("r ${$arg1}\n.echo ${$arg2} of ${$argc}\n", "b.txt")
        #expect(try Fixtures.run(md2, "$$>a<\(p) esp two") == "esp=0012f320\ntwo of 2\n")
        #expect(try Fixtures.run(md2, "$$><\(p)").hasPrefix("Bad register error at '${$arg1}'"))
    }

    @Test func selfIncludingScriptStops() throws {
        let p = write("", "loop.txt")
        _ = FileManager.default.createFile(atPath: p, contents: Data("$><\(p)\n".utf8))
        #expect(try Fixtures.run(md2, "$><\(p)").contains("Script nesting is deeper than 16"))
        #expect(try Fixtures.run(md2, "$<nonexistent.txt") == "Couldn't open script file 'nonexistent.txt'\n")
    }

    @Test func logFileGetsTheOutput() throws {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("dumpdbg-log-\(getpid()).txt").path
        let text = try Fixtures.run(md2, ".logopen \(log)", "r eip", ".logclose", "r esp")
        #expect(text == "Opened log file '\(log)'\neip=7c90eb94\nClosing open log file \(log)\nesp=0012f320\n")
        #expect(try String(contentsOfFile: log, encoding: .utf8) == "Opened log file '\(log)'\neip=7c90eb94\nClosing open log file \(log)\n")
        _ = try Fixtures.run(md2, ".logappend \(log)", "r ebp", ".logclose")
        #expect(try String(contentsOfFile: log, encoding: .utf8).contains("ebp=0012f384\n"))
    }
}
