import Foundation
import TestSupport
import Testing

/// dumpdbg as a user runs it: cdb-style options, scripts, piped input, exit codes.
@Suite(.enabled(if: Binary.dumpsAvailable, "../shared/dumps is absent: the end-to-end tests need it beside the project root"))
struct CommandLineTests {
    let md2 = Binary.dump("breakpad/minidump2.dmp")

    @Test func initialCommandsThenQuit() throws {
        let r = try Binary.run(["-z", md2, "-c", "~; r eip; q"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("Loading Dump File [\(md2)]\nUser Mini Dump File: Only registers, stack and portions of memory are available\n"))
        #expect(r.stdout.contains("(f5c.bf4): Access violation - code c0000005 (first/second chance not available)\n"))
        #expect(r.stdout.hasSuffix("""
        0:000> ~; r eip; q
        .  0  Id: f5c.bf4 Suspend: 0 Teb: 7ffdf000 Unfrozen
           1  Id: f5c.11c0 Suspend: 0 Teb: 7ffde000 Unfrozen
        eip=7c90eb94

        """))
        #expect(r.stderr.isEmpty)
    }

    /// `--version` alone is answered before swift-argument-parser starts; with other words, swift-argument-parser
    /// answers it. Both print the same line.
    @Test func versionIsTheSameEitherWay() throws {
        let quick = try Binary.run(["--version"])
        let parsed = try Binary.run(["--version", "--no-banner"])
        #expect(quick.status == 0 && parsed.status == 0)
        #expect(quick.stdout == parsed.stdout && quick.stdout.hasSuffix("\n") && quick.stdout.split(separator: ".").count == 3,
                "\(quick.stdout) \(parsed.stdout)")
    }

    @Test func jsonPrintsOneDocumentPerCommandAndNothingElse() throws {
        let r = try Binary.run(["--json", "-z", md2, "-c", "~; .lastevent; nosuchcommand"], stdin: "lm\nq\n")
        #expect(r.status == 1, "a failed command makes a non-zero exit, as in text mode")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 5, "\(r.stdout)")
        for line in lines {
            let doc = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(line)")
            #expect(doc["schema"] as? String == "dumpdbg.result/1")
        }
        #expect(lines[0].hasPrefix(#"{"command":"~","ok":true,"result":{"threads":[{"index":0,"isCurrent":true,"isEvent":true,"processId":"0xf5c""#))
        #expect(lines[2].contains(#""error":{"kind":"syntax""#) && lines[3].hasPrefix(#"{"command":"lm","ok":true"#))
    }

    @Test func commandFileAndPipedInput() throws {
        let script = Binary.scratch + "/triage.txt"
        try "$$ triage\n~1s\nr esp\n".write(toFile: script, atomically: true, encoding: .utf8)
        let r = try Binary.run(["-z", md2, "--no-banner", "-cf", script], stdin: "r eip\n.echo bye\n")
        #expect(r.status == 0)
        #expect(r.stdout.hasPrefix("0:000> $$ triage\n0:000> ~1s\n"))
        #expect(r.stdout.contains("0:001> r esp\nesp=0097f6ec\n0:001> r eip\neip=7c90eb94\n0:001> .echo bye\nbye\n"))
    }

    /// `--transcript` writes the session after the banner, the same bytes on every run; `--check` replays it and
    /// shows where the output changed, with exit code 1.
    @Test func transcriptAndCheck() throws {
        guard Binary.dumpsAvailable else { return }
        let script = Binary.scratch + "/transcript-script.txt"
        try "~\nkn\n!analyze -v\nlm\n".write(toFile: script, atomically: true, encoding: .utf8)
        let t1 = Binary.scratch + "/t1.txt", t2 = Binary.scratch + "/t2.txt"
        for t in [t1, t2] { #expect(try Binary.run(["-z", md2, "-cf", script, "--transcript", t]).status == 0) }
        let first = try String(contentsOfFile: t1, encoding: .utf8)
        #expect(first == (try String(contentsOfFile: t2, encoding: .utf8)))
        #expect(first.hasPrefix("0:000> ~\n.  0  Id: f5c.bf4"), "the transcript starts at the first command: \(first.prefix(80))")
        #expect(first.contains("0:000> !analyze -v\n") && first.contains("FAILURE_BUCKET_ID:  NULL_CLASS_PTR_WRITE_c0000005_test_app.exe!Unknown"))
        let same = try Binary.run(["-z", md2, "-cf", script, "--check", t1])
        #expect(same.status == 0 && same.stdout.hasSuffix("--check: the session matches \(t1)\n"))
        try first.replacingOccurrences(of: "test_app+0x429e", with: "test_app+0x4290").write(toFile: t2, atomically: true, encoding: .utf8)
        let changed = try Binary.run(["-z", md2, "-cf", script, "--check", t2])
        #expect(changed.status == 1)
        #expect(changed.stdout.contains("-0012fe88 00404200 008727b8 7c9131dc 00000000 test_app+0x4290\n+0012fe88 00404200 008727b8 7c9131dc 00000000 test_app+0x429e\n"),
                "\(changed.stdout.suffix(600))")
    }

    @Test func sameScriptSameBytesEveryRun() throws {
        let args = ["-z", Binary.dump("rust-minidump/stability-report.dmp"), "-c", "||; |; vertarget; ~; ~* e r; lmv; .exr -1; !address -summary; !teb; !peb; dps @rsp L20; u @rip L10; q"]
        let a = try Binary.run(args), b = try Binary.run(args)
        #expect(a.status == 0)
        #expect(a.stdout == b.stdout)
        #expect(a.stdout.count > 10_000)
    }

    @Test func failedCommandMakesANonZeroExit() throws {
        let r = try Binary.run(["-z", md2, "--no-banner", "-c", "foo; r eip; q"])
        #expect(r.status == 1)
        #expect(r.stdout.contains("       ^ Syntax error in 'foo'\neip=7c90eb94\n"), "the session went on after the error")
    }

    @Test func badFilesGetOneLine() throws {
        let text = Binary.scratch + "/notes.txt"
        try "just text".write(toFile: text, atomically: true, encoding: .utf8)
        let r = try Binary.run(["-z", text, "-c", "q"])
        #expect(r.status == 2)
        #expect(r.stderr == "dumpdbg: \(text): not a minidump or ELF core (starts with 6a 75 73 74)\n")
        let missing = try Binary.run(["-z", "/nonexistent/x.dmp"])
        #expect(missing.stderr == "dumpdbg: /nonexistent/x.dmp: cannot open: No such file or directory\n")
        let none = try Binary.run([])
        #expect(none.status != 0 && none.stderr.contains("no dump given"))
    }

    @Test func compressedDumpsOpenDirectly() throws {
        let r = try Binary.run(["-z", Binary.dump("elfutils/bz2/backtrace.aarch64.core.bz2"), "-c", "~; r; q"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("Decompressed into: "))
        #expect(r.stdout.contains("ARM64"))
        #expect(r.stdout.split(separator: "\n").filter { $0.contains("Id: ") }.count == 2)
        #expect(r.stdout.contains(" x0="))
    }
}

/// The README's first command, without the install step: the bundled sample with the runtime found through
/// `-i` or `_NT_EXECUTABLE_IMAGE_PATH`, and app.exe found beside the dump.
@Suite(.enabled(if: installedRuntime31() != nil, "no .NET Core 3.1.23 runtime: run Samples/install-deps.sh"))
struct BundledSampleTests {
    let sample = Binary.projectRoot.appendingPathComponent("Samples/dumps/async-crash/linux-3.1.core.xz").path

    @Test func walkthroughWithImagePathOption() throws {
        let r = try Binary.run(["-z", sample, "-i", installedRuntime31()!, "-c", ".loadby sos clr; !pe; !dso; q"])
        #expect(r.status == 0, Comment(rawValue: r.stdout + r.stderr))
        #expect(r.stdout.contains("Event thread: ~8 (OS thread 0x3a8e), the managed thread with the unhandled exception\n"))
        #expect(r.stdout.contains("Exception type:   System.NullReferenceException\n"))
        #expect(r.stdout.contains("Message:          Object reference not set to an instance of an object.\n"))
        #expect(r.stdout.contains(" System.Web.Hosting.IIS7WorkerRequest\n"))
        #expect(r.stdout.contains("0:008> ") == false, "-c output is not re-prompted")
    }

    @Test func imagePathFromTheEnvironment() throws {
        let r = try Binary.run(["-z", sample, "--no-banner", "-c", ".loadby sos clr; !dumpheap -type Samples.Order -stat; q"],
                               environment: ["_NT_EXECUTABLE_IMAGE_PATH": installedRuntime31()!])
        #expect(r.status == 0, Comment(rawValue: r.stdout + r.stderr))
        // AsyncCrash.cs allocates exactly 1234 Samples.Order (FACT type.Samples.Order.count=1234).
        #expect(r.stdout.range(of: #"\n[0-9a-f]{16} +1234 +\d+ Samples\.Order\n"#, options: .regularExpression) != nil, Comment(rawValue: r.stdout))
    }

    @Test func withoutTheRuntimeSOSSaysWhatIsMissing() throws {
        let r = try Binary.run(["-z", sample, "--no-banner", "-c", ".loadby sos clr; !dumpheap -stat; q"])
        #expect(r.stdout.contains("SOS commands will fail: "), Comment(rawValue: r.stdout))
        #expect(r.stdout.contains("libcoreclr.so"))
        #expect(r.status == 1)
    }
}

/// Samples/walkthrough.txt, the seed walkthrough as a script, replayed on the bundled sample.
@Suite(.enabled(if: installedRuntime31() != nil, "no .NET Core 3.1.23 runtime: run Samples/install-deps.sh"))
struct WalkthroughScriptTests {
    @Test func theWalkthroughFindsTheRequest() throws {
        let root = Binary.projectRoot.path
        let r = try Binary.run(["-z", root + "/Samples/dumps/async-crash/linux-3.1.core.xz", "-i", installedRuntime31()!,
                                "--no-banner", "-cf", root + "/Samples/walkthrough.txt"])
        #expect(r.status == 0, Comment(rawValue: r.stdout + r.stderr))
        let out = r.stdout
        for expected in [
            "0:008> !dumpstackobjects\nOS Thread Id: 0x3a8e (8)\nRSP/REG          Object           Name\n",
            "00007F5C603FDB90 00007f5c3c048098 System.Web.Hosting.IIS7WorkerRequest\n",
            "0:008> !DumpObject 00007f5c3c048098\nName:        System.Web.Hosting.IIS7WorkerRequest\n",
            "00007f5c61ac0f90  4000001        8        System.String  0 instance 00007f5c3c047fe8 _path\n",
            "00007f5c61ac0f90  4000002       10        System.String  0 instance 00007f5c3c048020 _httpVerb\n",
            "String:      /Account/Login\n", "String:      POST\n",
            "Exception type:   System.NullReferenceException\n",
            "FAILURE_BUCKET_ID:  CLR_EXCEPTION_System.NullReferenceException_80004003_app.exe!Samples.AccountController+<LoginAsync>c__async0.MoveNext\n",
            "00007F5C603FE700 00007F5C61A4E7F7 System.Web.LegacyAspNetSynchronizationContext.CallCallbackPossiblyUnderLock(System.Threading.SendOrPostCallback, System.Object)\n",
        ] {
            #expect(out.contains(expected), Comment(rawValue: expected))
        }
    }

    /// Docs/walkthrough.md shows this run: every line of its session block appears in the run's output, in order
    /// (the block leaves some rows out, marked `...`; the runtime folder is shown as RUNTIME).
    @Test func theDocumentedSessionIsWhatTheRunPrints() throws {
        let root = Binary.projectRoot.path
        let runtime = installedRuntime31()!
        // The machine's own debug packages (libc6-dbg) would name libc's frames differently from one machine to the next.
        let r = try Binary.run(["-z", "Samples/dumps/async-crash/linux-3.1.core.xz", "-i", runtime, "-cf", "Samples/walkthrough.txt"],
                               environment: ["DUMPDBG_NO_SYSTEM_DEBUG": "1"], workingDirectory: root)
        // The runtime folder and the decompression cache differ from machine to machine.
        let out = r.stdout.replacingOccurrences(of: runtime, with: "RUNTIME").split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.hasPrefix("Decompressed into: ") ? "Decompressed into: CACHE" : $0 }
        let doc = try String(contentsOfFile: root + "/Docs/walkthrough.md", encoding: .utf8)
        // The session block: from the fence before "Loading Dump File" to the next fence.
        let loading = try #require(doc.range(of: "Loading Dump File ["))
        let open = try #require(doc.range(of: "```\n", options: .backwards, range: doc.startIndex..<loading.lowerBound))
        let close = try #require(doc.range(of: "\n```", range: loading.upperBound..<doc.endIndex))
        let block = doc[open.upperBound..<close.lowerBound].split(separator: "\n", omittingEmptySubsequences: false)
        var i = 0
        for line in block where line != "..." {
            while i < out.count, out[i] != String(line) { i += 1 }
            #expect(i < out.count, "Docs/walkthrough.md line not in the run's output (or out of order): \(line)")
            if i >= out.count { break }
            i += 1
        }
        #expect(block.count > 150)
    }
}
