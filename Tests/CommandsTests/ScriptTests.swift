import Commands
import DumpModel
import Foundation
import TestSupport
import Testing

/// Writes a script file into this run's temp folder and returns its path.
func writeScript(_ text: String, _ name: String) -> String {
    let dir = scratchPath("scripts")
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let p = "\(dir)/\(name)"
    _ = FileManager.default.createFile(atPath: p, contents: Data(text.utf8))
    return p
}

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

    func write(_ text: String, _ name: String) -> String { writeScript(text, name) }

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
        let log = scratchPath("log.txt")
        let text = try Fixtures.run(md2, ".logopen \(log)", "r eip", ".logclose", "r esp")
        #expect(text == "Opened log file '\(log)'\neip=7c90eb94\nClosing open log file \(log)\nesp=0012f320\n")
        #expect(try String(contentsOfFile: log, encoding: .utf8) == "Opened log file '\(log)'\neip=7c90eb94\nClosing open log file \(log)\n")
        _ = try Fixtures.run(md2, ".logappend \(log)", "r ebp", ".logclose")
        #expect(try String(contentsOfFile: log, encoding: .utf8).contains("ebp=0012f384\n"))
    }
}

/// WinDbg's command language on real dumps: one check per construct, then a triage script.
@Suite(.enabled(if: Fixtures.available, Fixtures.absent))
struct ScriptLanguageTests {
    let md2 = "breakpad/minidump2.dmp"

    func write(_ text: String, _ name: String) -> String { writeScript(text, name) }

    @Test func conditionals() throws {
        let line = "r $t0 = 2; .if (@$t0 == 1) { .echo one } .elsif (@$t0 == 2) { .echo two } .else { .echo other }; .if (0) { .echo no }"
        #expect(try Fixtures.run(md2, line) == "two\n")
        #expect(try Fixtures.run(md2, "r $t0 = 7; .if (@$t0 == 1) { .echo one } .else { .echo other }") == "other\n")
    }

    @Test func loops() throws {
        #expect(try Fixtures.run(md2, ".for (r $t0 = 0; @$t0 < 3; r $t0 = @$t0 + 1) { .printf \"%d;\", @$t0 }") == "0;1;2;")
        #expect(try Fixtures.run(md2, "r $t1 = 0; .while (1) { r $t1 = @$t1 + 1; .if (@$t1 == 5) { .break } }; .printf \"%d\\n\", @$t1") == "5\n")
        #expect(try Fixtures.run(md2, "r $t0 = 10; .do { r $t0 = @$t0 + 1 } (@$t0 < 3); ? @$t0") == "Evaluate expression: 17 = 00000011\n")
        #expect(try Fixtures.run(md2, ".for (r $t0 = 0; @$t0 < 4; r $t0 = @$t0 + 1) { .if (@$t0 == 1) { .continue }; .printf \"%d\", @$t0 }") == "023")
        #expect(try Fixtures.run(md2, ".break") == ".break outside a loop\n")
    }

    @Test func foreachOverCommandOutputStringsAndFiles() throws {
        // Tokens of a command's output: `r eip esp` prints "eip=7c90eb94 esp=0012f320".
        #expect(try Fixtures.run(md2, ".foreach (tok { r eip, esp }) { .echo [tok] }") == "[eip=7c90eb94]\n[esp=0012f320]\n")
        #expect(try Fixtures.run(md2, ".foreach /s (w \"a b c d e\") { .echo w }") == "a\nb\nc\nd\ne\n")
        #expect(try Fixtures.run(md2, ".foreach /pS 1 /ps 1 /s (w \"a b c d e\") { .echo w }") == "b\nd\n")
        let f = write("eip\nesp\n", "regs.txt")
        #expect(try Fixtures.run(md2, ".foreach /f (reg \"\(f)\") { r reg }") == "eip=7c90eb94\nesp=0012f320\n")
    }

    @Test func aliasesAndPseudoRegisters() throws {
        let out = try Fixtures.run(md2, "as /x Base @eip", ".echo ${Base}", "aS Name hello; .echo ${Name} ${/d:Name} ${/d:Nope} ${/v:Name}",
                                   "al", "ad *", ".echo [${/f:Name}]", "as Line a; b", ".echo ${Line}")
        #expect(out == "0x7c90eb94\nhello 1 0 Name\n  Alias            Value  \n -------          ------- \n Base             0x7c90eb94\n Name             hello\n[]\na; b\n", "\(out)")
        #expect(try Fixtures.run(md2, "r $t3 = 5 * 3", "? @$t3 + 1", "r $t3") == "Evaluate expression: 16 = 00000010\n$t3=0000000f\n")
        #expect(try Fixtures.run(md2, "r eip = 1").hasPrefix("Registers cannot be changed in a dump"))
    }

    @Test func printfFormats() throws {
        #expect(try Fixtures.run(md2, ".printf \"%p|%N|%x|%d|%u|%y|%s|%%\\n\", @eip, @eip, 0n255, -1, 0n7, @eip, \"str\"")
                == "7c90eb94|7c90eb94|ff|-1|7|ntdll+0xeb94|str|%\n")
        #expect(try Fixtures.run(md2, ".printf \"%d\"").hasPrefix(".printf: the format needs more arguments"))
    }

    @Test func blocksCatchAndLeave() throws {
        #expect(try Fixtures.run(md2, ".block { .echo a; .echo b }; .catch { .echo c; .leave; .echo d }; .echo e") == "a\nb\nc\ne\n")
        // An error inside .catch ends the block there; the script goes on after it and has not failed.
        let (out, session) = Fixtures.run(try Fixtures.open(md2), [".catch { r nosuchreg; .echo not-reached }; .echo after"])
        #expect(out.hasPrefix("Bad register error at 'nosuchreg'") && out.hasSuffix("\nafter\n") && !out.contains("not-reached"), "\(out)")
        #expect(session.failures == 0)
        // Outside .catch the same error does not stop the line, and counts.
        let (plain, s2) = Fixtures.run(try Fixtures.open(md2), ["r nosuchreg; .echo reached"])
        #expect(plain.hasSuffix("reached\n") && s2.failures == 1, "\(plain)")
    }

    /// An alias on its own as a word of a command is replaced by its text (WinDbg's rule), not in `as`/`ad`.
    @Test func aliasesAsWords() throws {
        #expect(try Fixtures.run(md2, "as Reg eip", "r Reg", "as /x Three 1+2", "? Three + 1", ".echo Reg Three", "ad Reg", ".echo Reg")
                == "eip=7c90eb94\nEvaluate expression: 4 = 00000004\neip 0x3\nReg\n")
    }

    /// A condensed script whose blocks span lines; an error inside a block names the file and the line.
    @Test func multiLineScriptAndErrorLocation() throws {
        let p = write("""
        $$ count the threads that have a TEB
        r $t0 = 0
        .for (r $t1 = 0; @$t1 < 2; r $t1 = @$t1 + 1) {
            r $t0 = @$t0 + 1
        }
        .printf "%d threads\\n", @$t0
        .if (@$t0 == 2) {
            nosuchcommand
        }
        """, "count.txt")
        let out = try Fixtures.run(md2, "$$><\(p)")
        #expect(out.hasPrefix("2 threads\n"), "\(out)")
        #expect(out.contains("Syntax error in 'nosuchcommand'") && out.contains("[count.txt line 8]"), "\(out)")
        // Echoed mode runs a block that spans lines as one piece.
        let echoed = try Fixtures.run(md2, "$<\(p)")
        #expect(echoed.contains("0:000> .for (r $t1 = 0; @$t1 < 2; r $t1 = @$t1 + 1) {\n0:000> r $t0 = @$t0 + 1\n0:000> }\n0:000> .printf \"%d threads\\n\", @$t0\n2 threads\n"), "\(echoed)")
    }

    /// Triage: every thread's top frame, threads numbered by a .foreach over a .for's output.
    @Test func triageScriptPrintsEveryThreadsTopFrame() throws {
        let p = write("""
        $$ every thread's top frame
        .foreach (n { .for (r $t0 = 0; @$t0 < 2; r $t0 = @$t0 + 1) { .printf "%d ", @$t0 } }) {
            .printf "thread n: "
            ~n kc 1
        }
        """, "triage.txt")
        let out = try Fixtures.run(md2, "$$><\(p)")
        #expect(out.contains("thread 0: \n.  0  Id: f5c.bf4") && out.contains("ntdll+0xeb94"), "\(out)")
        #expect(out.contains("thread 1: \n   1  Id: f5c.11c0"), "\(out)")
    }
}
