import Commands
import DumpModel
import Foundation
import Testing
import TestSupport

/// Odd command lines that once ended or stalled a session (reliability issue, first list), each on a real
/// core, plus a seeded generator of hostile command lines over real dumps: extreme numbers, ranges,
/// nesting and lengths. A trap kills the test process, so "the run finished" is the crash check; the
/// expectations check the answers and that output stays bounded by what the dump holds.
@Suite(.enabled(if: Fixtures.available, Fixtures.absent))
struct CommandHazardTests {
    let core = "elfutils/test-core.core"

    @Test func fullAddressSpaceRangesAnswerInsteadOfTrapping() throws {
        for kind in ["-a", "-b", "-q", "-u"] {
            let pattern = kind == "-a" || kind == "-u" ? "\"ELF\"" : "45"
            let out = try Fixtures.run(core, "s \(kind) 0 ffffffffffffffff \(pattern)")
            #expect(!out.contains("error"), "\(kind): \(out)")
        }
        // The vDSO's ELF header (the kernel wrote its pages; the main program's were not dumped) is found
        // by a search of everything.
        #expect(try Fixtures.run(core, "s -a 0 ffffffffffffffff \"ELF\"").contains("00007fff`1596c001  45 4c 46 02 01 01 00 00"))
        for cmd in ["db", "dps", "du", "da", "u"] {
            #expect(try Fixtures.run(core, "\(cmd) 0 ffffffffffffffff") == "Range error in '0 ffffffffffffffff'\n", "\(cmd)")
        }
        // L? lifts the limit; the range stops at the top of the address space instead of wrapping.
        let top = try Fixtures.run(core, "db ffffffffffffff00 L?1000")
        #expect(top.split(separator: "\n").count == 16 && top.hasSuffix("ffffffff`fffffff0  ?? ?? ?? ?? ?? ?? ?? ??-?? ?? ?? ?? ?? ?? ?? ??  ????????????????\n"))
        #expect(try Fixtures.run(core, "da 0 L?ffffffffffffffff") == "00000000`00000000  ????\n")
    }

    @Test func longRunsOfMissingMemoryPrintOneLine() throws {
        let out = try Fixtures.run(core, "db 0 L?ffffffff")
        let lines = out.split(separator: "\n")
        #expect(lines.first == "Memory access error at 00000000`00000000-00000000`00600fff (not in the dump)")
        #expect(lines.dropFirst().first?.hasPrefix("00000000`00601000  ") == true)
        // Bounded by what the dump holds: one row per 16 present bytes, plus a line per gap.
        let dump = try Fixtures.open(core)
        let inRange = dump.memory.ranges.filter { $0.start < 0xffffffff }.reduce(UInt64(0)) { $0 + $1.present }
        #expect(UInt64(lines.count) <= inRange / 16 + UInt64(dump.memory.ranges.count) * 2 + 2)
        let stack = try Fixtures.run(core, "dps @rsp L?ffffffff").split(separator: "\n")
        #expect(stack.count < 4096 && stack.last?.hasPrefix("Memory access error at 00007fff`") == true, "\(stack.suffix(2))")
        let code = try Fixtures.run(core, "u @rip L?ffffffff")
        // Missing code ends the listing: with one line outside modules, with the image-path hint inside one.
        #expect((code.contains("Memory access error at ") || code.contains("is not in the dump, and no image file"))
                && !code.contains("??              ???\n??"), "\(code.suffix(300))")
        // Small gaps keep WinDbg's ?? rows.
        #expect(try Fixtures.run(core, "db 0") == (0..<8).map {
            "00000000`000000\(String($0 * 16, radix: 16).leftPadded(2))  ?? ?? ?? ?? ?? ?? ?? ??-?? ?? ?? ?? ?? ?? ?? ??  ????????????????\n"
        }.joined())
    }

    @Test func deepNestingIsAnErrorNotAStackOverflow() throws {
        let deep = "? " + String(repeating: "(", count: 5000) + "1" + String(repeating: ")", count: 5000)
        #expect(try Fixtures.run(core, deep).hasPrefix("Expression too complex: more than 256 nested levels"))
        let unary = "? " + String(repeating: "-", count: 5000) + "1"
        #expect(try Fixtures.run(core, unary).hasPrefix("Expression too complex"))
        let fine = "? " + String(repeating: "(", count: 200) + "1+1" + String(repeating: ")", count: 200)
        #expect(try Fixtures.run(core, fine).hasPrefix("Evaluate expression: 2 = "))
    }

    @Test func longLinesSplitAndAnswerInLinearTime() throws {
        // Each of these took 16 s to over 2 minutes when the splitter re-scanned the line per character;
        // the benchmark prints the figure, this checks the answers.
        let text = String(repeating: "a", count: 100_000)
        #expect(try Fixtures.run(core, ".echo \(text)") == text + "\n")
        #expect(try Fixtures.run(core, "zzz\(text)").hasPrefix("       ^ Syntax error in 'zzz"))
        let digits = String(repeating: "1", count: 100_000)
        #expect(try Fixtures.run(core, "~\(digits)").hasPrefix("       ^ Syntax error in '~1111"))
        #expect(CommandLineSplitter.split(String(repeating: ".echo x;", count: 20_000)).count == 20_000)
        #expect(CommandLineSplitter.split("~* e r rip; .echo a") == ["~* e r rip; .echo a"])
        #expect(CommandLineSplitter.split("  $$ note; .echo \"a;b\"; r") == [".echo \"a;b\"", "r"])
    }

    @Test func addressZeroIsAFreeRegion() throws {
        let out = try Fixtures.run(core, "!address 0")
        #expect(out.hasPrefix("""
        Usage:                  Free
        Base Address:           00000000`00000000
        End Address:            00000000`00400000
        """), "\(out)")
        #expect(out.contains("State:                  00010000MEM_FREE\n"))
        #expect(out.hasSuffix("Content source: 0 (invalid), length: 400000\n"))
        // A dump without a region list cannot say what lies between its ranges: an error, not a guess.
        let md = try Fixtures.run("breakpad/minidump2.dmp", "!address 0")
        #expect(md == "Address 00000000 is not in any range this dump holds (it records no region list)\n")
    }

    /// Generated command lines: every memory and expression command with numbers at the edges of the
    /// address space, odd ranges, deep nesting and long words. Same seed, same lines, every run.
    @Test(arguments: ["elfutils/test-core.core", "breakpad/minidump2.dmp", "lldb/elf-core/linux-s390x.core",
                      "rust-minidump/linux-mini.dmp"])
    func generatedCommandLinesNeverCrashOrRunAway(_ source: String) throws {
        let dump = try Fixtures.open(source)
        var rng = SplitMix(state: source.hashValueStable &+ (ProcessInfo.processInfo.environment["DUMPDBG_FUZZ_SEED"].flatMap { UInt64($0) } ?? 0))
        let count = ProcessInfo.processInfo.environment["DUMPDBG_FUZZ_LINES"].flatMap { Int($0) } ?? 300
        let buffer = Output.Buffer()
        let session = Session(dump: dump, output: Output(sink: buffer.append))
        // `u` prints a ~60-character line for a 2-byte instruction: the bound is per byte the dump holds.
        let bound = dump.memory.presentBytes * 64 + 1 << 20
        for _ in 0..<count {
            let line = CommandFuzz.line(&rng)
            let before = buffer.text.utf8.count
            session.executeTopLevel(line: line)
            let printed = UInt64(buffer.text.utf8.count - before)
            #expect(printed <= bound, "\(line.prefix(200)) printed \(printed) bytes")
            if buffer.text.utf8.count > 8 << 20 { buffer.reset() }
        }
    }
}

/// A generator of WinDbg command lines made to hurt: extreme numbers, inverted and huge ranges, deep
/// nesting, long words, stray quotes and separators.
enum CommandFuzz {
    static let numbers = ["0", "1", "-1", "7fffffffffffffff", "8000000000000000", "ffffffffffffffff", "fffffffffffffff0",
                          "ffffffff", "100000000", "0n18446744073709551615", "0y1", "0t777", "@rsp", "@$ip", "$csp",
                          "poi(@rsp)", "poi(0)", "by(ffffffffffffffff)", "@rip+8", "10000000000000000", "`", "0x", "$teb", "$peb"]
    static let commands = ["db", "dw", "dd", "dq", "dp", "dc", "da", "du", "dps", "dqs", "u", "ub", "?", "s -b", "s -w",
                           "s -d", "s -q", "s -a", "s -u", "!address", "r", "lm", "~", ".exr", "!teb", "!peb", ".echo"]

    static func number<R: RandomNumberGenerator>(_ rng: inout R) -> String {
        switch Int.random(in: 0..<6, using: &rng) {
        case 0: return String(UInt64.random(in: 0...UInt64.max, using: &rng), radix: 16)
        case 1: return "(" + number(&rng) + ["+", "-", "*", "/", "%", "<<", ">>", "&", "|", "^"].randomElement(using: &rng)! + number(&rng) + ")"
        case 2:
            let d = Int.random(in: 0...600, using: &rng)
            return String(repeating: "(", count: d) + "1" + String(repeating: ")", count: Int.random(in: 0...d, using: &rng))
        default: return numbers.randomElement(using: &rng)!
        }
    }

    static func line<R: RandomNumberGenerator>(_ rng: inout R) -> String {
        let cmd = commands.randomElement(using: &rng)!
        var parts = [cmd]
        switch Int.random(in: 0..<7, using: &rng) {
        case 0: parts.append(number(&rng))
        case 1: parts += [number(&rng), number(&rng)]
        case 2: parts += [number(&rng), "L" + number(&rng)]
        case 3: parts += [number(&rng), "L?" + number(&rng)]
        case 4: parts.append(String(repeating: ["a", "1", ";", "\"", "~", "(", " "].randomElement(using: &rng)!,
                                    count: Int.random(in: 1...20_000, using: &rng)))
        case 5: parts += [number(&rng), "L?" + number(&rng), "\"" + String(repeating: "x", count: Int.random(in: 0...40, using: &rng)) + "\""]
        default: break
        }
        if cmd.hasPrefix("s "), Bool.random(using: &rng) { parts.append("41 42") }
        return parts.joined(separator: " ")
    }
}

extension String {
    func leftPadded(_ n: Int) -> String { count >= n ? self : String(repeating: "0", count: n - count) + self }
}

/// The progress line: drawn in place on a terminal for a long command, erased at its end, never written
/// when standard error is not a terminal.
@Suite(.enabled(if: Fixtures.available, Fixtures.absent))
struct ProgressLineTests {
    final class Capture: @unchecked Sendable { var text = "" }

    @Test func aLongSearchDrawsAndErasesItsProgress() throws {
        let dump = try Fixtures.open("breakpad/stack_exhaustion.dmp")
        let captured = Capture()
        let buffer = Output.Buffer()
        let s = Session(dump: dump, output: Output(sink: buffer.append))
        s.progress = ProgressLine(enabled: true, delay: 0, write: { captured.text += $0 })
        s.executeTopLevel(line: "s -a 0 L?ffffffff \"zzzz\"")
        #expect(captured.text.contains("\rs: ") && captured.text.contains("% (Ctrl-C stops)"), "\(captured.text.debugDescription)")
        #expect(captured.text.hasSuffix("\r\u{1B}[K"), "erased at the end")
        #expect(!buffer.text.contains("Ctrl-C stops"), "never in the command's own output")
        // Not a terminal: nothing at all.
        let quiet = Capture()
        s.progress = ProgressLine(enabled: false, delay: 0, write: { quiet.text += $0 })
        s.executeTopLevel(line: "s -a 0 L?ffffffff \"zzzz\"")
        #expect(quiet.text.isEmpty)
    }
}

/// Unknown names: typos get the nearest commands, WinDbg commands dumpdbg lacks say so, and live-only ones say why.
struct SuggestionTests {
    @Test func unknownNamesGetAUsefulAnswer() throws {
        guard Fixtures.available else { Issue.record(Fixtures.absent); return }
        let out = try Fixtures.run("breakpad/minidump2.dmp", "!dumpheep", "vertarge", "bp 401000", "dt foo", "!dumpheap", "zzzzzz")
            .split(separator: "\n").map(String.init)
        #expect(out == ["No export dumpheep found (did you mean !dumpheap?)",
                        "       ^ Syntax error in 'vertarge' (did you mean vertarget?)",
                        "       ^ Syntax error in 'bp 401000' ('bp' needs a live process: dumpdbg reads dumps, so it does not support it)",
                        "       ^ Syntax error in 'dt foo' ('dt' is a WinDbg command dumpdbg does not support yet)",
                        "No export dumpheap found (an SOS command: .loadby sos clr loads SOS)",
                        "       ^ Syntax error in 'zzzzzz'"], "\(out)")
    }
}
