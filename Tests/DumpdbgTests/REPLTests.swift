import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The interactive shell on libedit, driven through a real pseudo-terminal as a person types.
@Suite(.enabled(if: Binary.dumpsAvailable, "../shared/dumps is absent: the REPL tests open a real dump"), .serialized)
struct REPLTests {
    func start(_ dump: String = "breakpad/minidump2.dmp", history: String) throws -> PseudoTerminal {
        try PseudoTerminal(arguments: ["-z", Binary.dump(dump), "--no-banner"],
                           environment: ["DUMPDBG_HISTORY": history, "DUMPDBG_CACHE": Binary.scratch + "/cache"])
    }

    @Test func promptCommandHistoryAndQuit() throws {
        let history = Binary.scratch + "/history-1"
        unlink(history)
        let t = try start(history: history)
        try t.expect("0:000> ")
        t.send("r eip\r")
        var at = try t.expect("eip=7c90eb94")
        at = try t.expect("0:000> ", after: at)
        t.send("~1s\r")
        at = try t.expect("0:001> ", after: at)
        // Up arrow twice recalls `r eip`; running it on thread 1 prints thread 1's eip.
        t.send("\u{1b}[A\u{1b}[A\r")
        at = try t.expect("eip=7c90eb94", after: at)
        at = try t.expect("0:001> ", after: at)
        t.send("q\r")
        #expect(try t.waitForExit() == 0)
        let saved = try String(contentsOfFile: history, encoding: .utf8)
        // libedit's history file encodes spaces with vis(3).
        #expect(saved.hasPrefix("_HiStOrY_V2_\n") && saved.contains("r\\040eip\n") && saved.contains("~1s\n"), "history is kept in the user's file")
    }

    /// Interactive sessions print a hint after some commands, once each; `.hints off` stops them.
    @Test func hintsOnceInTheREPLAndOff() throws {
        let t = try start(history: Binary.scratch + "/history-hints")
        try t.expect("0:000> ")
        t.send("~\r")
        var at = try t.expect("Hint: ~Ns switches to thread N")
        at = try t.expect("0:000> ", after: at)
        t.send("lm\r")
        at = try t.expect("Hint: lmv m NAME", after: at)
        at = try t.expect("0:000> ", after: at)
        t.send(".hints off\r")
        at = try t.expect("Hints are off", after: at)
        at = try t.expect("0:000> ", after: at)
        t.send(".hints on\r~\r.echo done\r")
        at = try t.expect("done", after: at)
        t.send("q\r")
        #expect(try t.waitForExit() == 0)
        // The ~ hint was shown once already: the second ~ prints none.
        #expect(t.transcript.components(separatedBy: "Hint: ~Ns").count == 2, "\(t.transcript)")
    }

    @Test func tabCompletesCommandNames() throws {
        let t = try start(history: Binary.scratch + "/history-2")
        try t.expect("0:000> ")
        // `vert` + Tab completes to `vertarget `.
        t.send("vert\t\r")
        let at = try t.expect("Windows XP Version 2600")
        try t.expect("0:000> ", after: at)
        t.send("\u{4}")  // Ctrl-D on an empty line ends the session
        #expect(try t.waitForExit() == 0)
    }

    @Test func ctrlCStopsALongCommandAndTheSessionGoesOn() throws {
        // A script that searches a 108 MB full-memory dump thousands of times: only Ctrl-C ends it soon.
        let script = Binary.scratch + "/long.txt"
        try String(repeating: "s -a 0 L?ffffffffffffffff \"no such text anywhere\"\n", count: 5000).write(toFile: script, atomically: true, encoding: .utf8)
        let t = try start("clr/async-crash/windows-3.1.mdmp.xz", history: Binary.scratch + "/history-3")
        try t.expect("0:000> ", timeout: 60)  // the first open decompresses 108 MB into the cache
        t.send("$><\(script)\r")
        Thread.sleep(forTimeInterval: 1.0)
        t.send("\u{3}")
        var at = try t.expect("Interrupted by Ctrl-C", timeout: 10)
        at = try t.expect("0:000> ", after: at, timeout: 10)
        t.send(".echo still here\r")
        // The output line, not the echo of the typed command (a Ctrl-C sent too early would flush the tty).
        at = try t.expect("\nstill here", after: at)
        // Ctrl-C at the prompt abandons the typed line.
        t.send("lm\u{3}")
        at = try t.expect("0:000> ", after: at)
        t.send("q\r")
        #expect(try t.waitForExit() == 0)
    }
}
