import Commands
import DumpModel
import Foundation
import Native
import Testing
import TestSupport
import Unwind

/// `k` against independent stack walkers on the same dumps: rust-minidump's snapshots of the shared
/// minidumps, and gdb's backtraces of the project's own cores (Samples/make-native-core.sh).
struct StackWalkTests {
    struct Frame: Equatable, CustomStringConvertible {
        let sp: UInt64, ip: UInt64, trust: String
        var function: String? = nil
        var sourceFile: String? = nil
        var sourceLine: Int? = nil
        var description: String { "sp=\(String(sp, radix: 16)) ip=\(String(ip, radix: 16)) \(trust)" }
        static func == (a: Frame, b: Frame) -> Bool { a.sp == b.sp && a.ip == b.ip && a.trust == b.trust }
    }

    /// The JSON document of the last command of `lines` (run in JSON mode).
    static func document(_ dump: any Dump, _ lines: [String]) throws -> [String: Any] {
        let out = Fixtures.run(dump, [".outputformat json"] + lines).text
        let last = out.split(separator: "\n").last.map(String.init) ?? ""
        return try #require(JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any], "not JSON: \(last)")
    }

    static func hex(_ v: Any?) -> UInt64? { (v as? String).flatMap { UInt64($0.dropFirst(2), radix: 16) } }

    static func frames(_ stack: [String: Any]) -> [Frame] {
        (stack["frames"] as? [[String: Any]] ?? []).map {
            Frame(sp: hex($0["childSP"]) ?? 0, ip: hex($0["instructionPointer"]) ?? 0, trust: $0["trust"] as? String ?? "",
                  function: $0["function"] as? String, sourceFile: $0["sourceFile"] as? String, sourceLine: $0["sourceLine"] as? Int)
        }
    }

    /// rust-minidump's human output: each frame's stack and instruction pointers and how it was found.
    static func rustMinidumpFrames(_ snapshot: String, thread: Int = 0) throws -> [Frame] {
        let text = try String(contentsOfFile: Fixtures.path(snapshot), encoding: .utf8)
        guard let start = text.range(of: "Thread \(thread) ") else { return [] }
        let body = String(text[start.upperBound...]).components(separatedBy: "\n\n")[0]
        var out: [Frame] = []
        var sp: UInt64?, ip: UInt64?
        let trustWords = ["given as instruction pointer in context": "context", "call frame info": "cfi",
                          "previous frame's frame pointer": "frame_pointer", "stack scanning": "scan"]
        func value(_ line: Substring, _ name: String) -> UInt64? {
            guard let r = line.range(of: "\(name) = 0x") else { return nil }
            return UInt64(line[r.upperBound...].prefix { $0.isHexDigit }, radix: 16)
        }
        for line in body.split(separator: "\n") {
            for reg in ["rsp", "esp"] { if let v = value(line, reg) { sp = v } }
            for reg in ["rip", "eip"] { if let v = value(line, reg) { ip = v } }
            if let r = line.range(of: "Found by: ") {
                out.append(Frame(sp: sp ?? 0, ip: ip ?? 0, trust: trustWords[String(line[r.upperBound...])] ?? "?"))
                sp = nil; ip = nil
            }
        }
        return out
    }

    /// lldb's expected stacks (lldb/EXPECTED.md): fizzbuzz's six PCs exactly (x86 WOW64, frame pointers); the
    /// kernel cores' three frames (bar, foo, _start); the Breakpad Linux dump's two frames (crash, _start), which
    /// dumpdbg follows with one frame found by scanning (no image bytes in a Breakpad dump say where code is),
    /// marked as such.
    @Test func lldbExpectedStacks() throws {
        guard Fixtures.available else { Issue.record(Fixtures.absent); return }
        func walk(_ path: String) throws -> [Frame] {
            let doc = try Self.document(try Fixtures.open(path), ["k"])
            return Self.frames(try #require(doc["result"] as? [String: Any]))
        }
        let fizz = try walk("lldb/minidump/fizzbuzz_no_heap.dmp")
        #expect(fizz.map(\.ip) == [0x00164d14, 0x00167c79, 0x00167e6d, 0x7510336a, 0x77759882, 0x77759855], "\(fizz)")
        #expect(!fizz.contains { $0.trust == "scan" })
        for core in ["lldb/elf-core/linux-x86_64.core", "lldb/elf-core/linux-i386.core"] {
            let f = try walk(core)
            #expect(f.count == 3 && !f.contains { $0.trust == "scan" }, "\(core): \(f)")
        }
        let breakpad = try walk("lldb/minidump-new/linux-x86_64.dmp")
        #expect(breakpad.count >= 2 && breakpad.prefix(2).allSatisfy { $0.trust != "scan" }, "\(breakpad)")
        #expect(breakpad.dropFirst(2).allSatisfy { $0.trust == "scan" }, "\(breakpad)")
    }

    /// x86 Windows, frame pointers: the same four frames as rust-minidump (from the exception context).
    @Test func minidump2AgreesWithRustMinidump() throws {
        guard Fixtures.available else { Issue.record(Fixtures.absent); return }
        let expected = try Self.rustMinidumpFrames("rust-minidump/expected/test_minidump_stackwalk__human.snap")
        #expect(expected.count == 4)
        let doc = try Self.document(try Fixtures.open("breakpad/minidump2.dmp"), [".ecxr", "kn"])
        let ours = Self.frames(try #require(doc["result"] as? [String: Any]))
        #expect(ours == expected, "ours: \(ours)\nrust-minidump: \(expected)")
    }

    /// x64 Linux without images: scanning. Every frame we print is rust-minidump's frame (same stack and
    /// instruction pointers, same trust); the only ones we leave out are words whose preceding code bytes are
    /// in the dump and are not a call instruction (so they cannot be return addresses).
    @Test func linuxMiniAgreesWithRustMinidump() throws {
        guard Fixtures.available else { Issue.record(Fixtures.absent); return }
        let expected = try Self.rustMinidumpFrames("rust-minidump/expected/test_minidump_stackwalk__linux_human.snap")
        #expect(expected.count == 15)
        let dump = try Fixtures.open("rust-minidump/linux-mini.dmp")
        let doc = try Self.document(dump, [".ecxr", "kn"])
        let ours = Self.frames(try #require(doc["result"] as? [String: Any]))
        var j = 0
        var skipped: [Frame] = []
        for f in ours {
            while j < expected.count, expected[j] != f { skipped.append(expected[j]); j += 1 }
            #expect(j < expected.count, "frame \(f) is not one of rust-minidump's")
            j += 1
        }
        skipped += expected[min(j, expected.count)...]
        for s in skipped {
            let code = dump.memory.readExact(s.ip - 7, count: 7)
            #expect(code != nil && !StackWalker.endsWithCall(code!), "left out \(s), which may follow a call")
        }
        #expect(ours.count >= 12, "agreement fell: \(ours.count) of \(expected.count) frames")
    }

    /// `k = BasePtr StackPtr InstructionPtr`: a walk started from frame 1's registers is the full walk without
    /// its first frame; a frame count after the registers still limits it.
    @Test func walkFromGivenRegisters() throws {
        guard Fixtures.available else { Issue.record(Fixtures.absent); return }
        // Frame rows: "NN ChildEBP RetAddr Call Site".
        func rows(_ text: String) -> [Substring] {
            text.split(separator: "\n").filter { $0.count > 12 && $0.dropFirst(2).first == " " && $0.prefix(2).allSatisfy(\.isHexDigit) }
        }
        let full = rows(try Fixtures.run("breakpad/minidump2.dmp", ".ecxr", "kn"))
        let tail = rows(try Fixtures.run("breakpad/minidump2.dmp", ".ecxr", "kn = 0012ff70 0012fe90 404200"))
        #expect(full.count == 4 && tail.count == 3, "\(full)\n\(tail)")
        // Same ChildEBP, return address and call site, renumbered.
        #expect(zip(full.dropFirst(), tail).allSatisfy { $0.dropFirst(3) == $1.dropFirst(3) }, "\(full)\n\(tail)")
        let two = rows(try Fixtures.run("breakpad/minidump2.dmp", ".ecxr", "kn = 0012ff70 0012fe90 404200 2"))
        #expect(two.count == 2)
        #expect(try Fixtures.run("breakpad/minidump2.dmp", "k = 1 2 3 4 5").contains("Usage: k = BasePtr"))
    }

    /// ARM64 macOS without frame pointers or images (symbolicator's macos-no-fp.dmp, "broken CFI"): the frame
    /// record chain ends at once, so scanning finds the callers. Every frame symbolicator found (with symbols
    /// from a symbol server we do not have) is one of ours, in order; without symbols we also keep two words
    /// that point into sentry_example outside any function it could name.
    @Test func arm64MacOSScanAgreesWithSymbolicator() throws {
        guard Fixtures.available else { Issue.record(Fixtures.absent); return }
        let snap = try String(contentsOfFile: Fixtures.path("symbolicator/expected/integration__process_minidump__minidump_macos_broken_cfi.snap"), encoding: .utf8)
        let expected = snap.split(separator: "\n").compactMap { l -> UInt64? in
            guard l.contains("instruction_addr:") else { return nil }
            return UInt64(l.split(separator: "\"")[1].dropFirst(2), radix: 16)
        }
        #expect(expected.count == 10)
        let doc = try Self.document(try Fixtures.open("symbolicator/macos-no-fp.dmp"), [".ecxr", "kn"])
        let ours = Self.frames(try #require(doc["result"] as? [String: Any]))
        // symbolicator reports a caller's address as the return address, or 4 before it (inside the bl).
        var j = 0
        for f in ours where j < expected.count {
            if f.ip == expected[j] || f.ip &- 4 == expected[j] { j += 1 }
        }
        #expect(j == expected.count, "matched \(j) of \(expected.count): ours \(ours.map { String($0.ip, radix: 16) })")
        #expect(ours.count <= expected.count + 2, "extra frames: \(ours.map { String($0.ip, radix: 16) })")
        #expect(ours.dropFirst().allSatisfy { $0.trust == "scan" })
    }

    /// x64 Windows with the images in the dump (the full-memory CLR minidump written under Wine): .pdata
    /// unwinding takes every thread to its start, kernel32!BaseThreadInitThunk then ntdll!RtlUserThreadStart,
    /// named by the images' export tables.
    @Test func windowsThreadsUnwindToTheirStart() throws {
        guard Fixtures.available else { Issue.record(Fixtures.absent); return }
        let dump = try Fixtures.open("clr/async-crash/windows-3.1.mdmp.xz")
        let doc = try Self.document(dump, ["~* kn"])
        let threads = try #require((doc["result"] as? [String: Any])?["threads"] as? [[String: Any]])
        #expect(threads.count == 8)
        for t in threads {
            let frames = try #require((t["stack"] as? [String: Any])?["frames"] as? [[String: Any]])
            let sites = frames.map { $0["callSite"] as? String ?? "" }
            #expect(sites.suffix(2) == ["kernel32!BaseThreadInitThunk+0x9", "ntdll!RtlUserThreadStart+0x88"], "\(sites)")
            #expect(frames.last?["trust"] as? String == "cfi")
            #expect(sites.first?.hasPrefix("ntdll!Zw") == true || sites.first?.hasPrefix("ntdll!Nt") == true, "\(sites)")
        }
    }

    /// x64 Windows without images in the dump (MiniDumpNormal, written under Wine by `install-deps.sh --tests`):
    /// the modules' PE files on the image path, matched by PE timestamp and size, give .pdata and export names, and
    /// the threads that run no managed code unwind to their start, as with full memory. Without the files, no
    /// thread gets past scanning.
    @Test func windowsImagesFromTheImagePath() throws {
        let cache = (ProcessInfo.processInfo.environment["XDG_CACHE_HOME"] ?? (NSHomeDirectory() + "/.cache")) + "/dumpdbg-samples/normal/async-crash"
        let dumpPath = cache + "/windows-3.1.mdmp.xz"
        guard FileManager.default.fileExists(atPath: dumpPath) else {
            print("skip: no MiniDumpNormal dump at \(dumpPath) (Samples/install-deps.sh --tests makes it under Wine)")
            return
        }
        let info = try String(contentsOfFile: cache + "/runtime-windows-3.1.txt", encoding: .utf8)
        let runtime = try #require(info.split(separator: "\n").first { $0.hasPrefix("runtime_dir=") }?.dropFirst("runtime_dir=".count))
        let wine = "/usr/lib/x86_64-linux-gnu/wine/x86_64-windows"
        let dump = try DumpLoader.open(path: dumpPath).dump
        func starts(_ imagePath: [String]) throws -> (reached: Int, threads: Int, ntdll: String) {
            let buffer = Output.Buffer()
            let s = Session(dump: dump, output: Output(sink: buffer.append))
            s.imagePath = imagePath
            s.outputFormat = .json
            s.executeTopLevel(line: "~* k")
            let doc = try #require(JSONSerialization.jsonObject(with: Data(buffer.text.split(separator: "\n").last.map(String.init)!.utf8)) as? [String: Any])
            let threads = try #require((doc["result"] as? [String: Any])?["threads"] as? [[String: Any]])
            var reached = 0
            for t in threads {
                let stack = try #require(t["stack"] as? [String: Any])
                let sites = Self.frames(stack).compactMap(\.function)
                if sites.suffix(2) == ["BaseThreadInitThunk", "RtlUserThreadStart"] {
                    reached += 1
                } else if !imagePath.isEmpty {
                    // A thread that does not get there runs JIT'd code, which is in no module and not in the dump.
                    let frames = stack["frames"] as? [[String: Any]] ?? []
                    #expect(frames.contains { $0["module"] == nil && $0["trust"] as? String != "scan" }, "\(sites)")
                }
            }
            buffer.reset()
            s.outputFormat = .text
            s.executeTopLevel(line: "lmv m ntdll")
            return (reached, threads.count, buffer.text)
        }
        let without = try starts([])
        #expect(without.reached == 0, "\(without)")
        #expect(without.ntdll.contains("not used: the image's headers are not in the dump and no ntdll.dll (PE timestamp 0x"), "\(without.ntdll)")
        guard FileManager.default.fileExists(atPath: wine + "/ntdll.dll") else { Issue.record("Wine's PE DLLs are not at \(wine)"); return }
        let with = try starts([wine, String(runtime)])
        #expect(with.ntdll.contains("Symbols:          export symbols, .pdata (the dump's memory, then \(wine)/ntdll.dll)"), "\(with.ntdll)")
        // Five of the eight threads unwind to kernel32!BaseThreadInitThunk, as in the full-memory dump of the same
        // program; the other three run JIT'd code, whose code and unwind data a MiniDumpNormal does not hold.
        #expect(with.reached >= 5, "\(with.reached) of \(with.threads) threads reach their start")
    }

    /// Code a gcore does not hold comes from the module's file (same build id); `ub` ends where it is asked to;
    /// `module!function` evaluates to the symbol's address.
    @Test func codeAndSymbolsFromImageFiles() throws {
        guard NativeSampleCores.toolsPresent else { Issue.record("gcc and gdb are needed for the native sample cores"); return }
        let path = NativeSampleCores.made.directory + "/threads.core"
        guard FileManager.default.fileExists(atPath: path) else { Issue.record("threads.core was not made"); return }
        let dump = try DumpLoader.open(path: path).dump
        let ip = try #require(dump.threads[0].context?.instructionPointer)
        #expect(dump.memory.read(ip, count: 1) == [nil], "gcore should not hold libc's code")
        let u = Fixtures.run(dump, ["u libc_so!pause L3"]).text.split(separator: "\n")
        // libc's debug file (libc6-dbg) names that address __libc_pause; the stripped library alone, pause.
        #expect((u.first == "libc_so!pause:" || u.first == "libc_so!__libc_pause:") && u.count == 4, "\(u)")
        let ub = Fixtures.run(dump, ["ub @rip L3"]).text.split(separator: "\n").filter { $0.contains("  ") }
        #expect(ub.count == 3)
        // The last instruction before rip ends at rip: its address plus its byte count.
        let last = try #require(ub.last).split(separator: " ", omittingEmptySubsequences: true)
        let at = try #require(UInt64(last[0].replacingOccurrences(of: "`", with: ""), radix: 16))
        #expect(at + UInt64(last[1].count / 2) == ip, "\(ub)")
        let eval = Fixtures.run(dump, ["? threads!main_block", "u threads!main_block L1"]).text
        #expect(eval.contains("threads!main_block:"), "\(eval)")
        // uf: the whole function, by its symbol's size (main_block is `for (;;) pause();`: it ends in its loop's jmp).
        let uf = Fixtures.run(dump, ["uf threads!main_block"]).text.split(separator: "\n")
        #expect(uf.first == "threads!main_block:" && uf.last?.contains("jmp     threads!main_block+0x") == true, "\(uf)")
    }

    /// `.frame /r N` shows frame N with the registers unwinding recovered; `!uniqstack` groups the three workers,
    /// blocked in the same place, under one stack; `.cxr` needs a whole context in memory.
    @Test func frameUniqstackAndCxr() throws {
        guard NativeSampleCores.toolsPresent else { Issue.record("gcc and gdb are needed for the native sample cores"); return }
        let path = NativeSampleCores.made.directory + "/threads.core"
        guard FileManager.default.fileExists(atPath: path) else { Issue.record("threads.core was not made"); return }
        let dump = try DumpLoader.open(path: path).dump
        let frames = Self.frames(try #require(try Self.document(dump, ["kn"])["result"] as? [String: Any]))
        let out = Fixtures.run(dump, [".frame /r 1"]).text
        #expect(out.hasPrefix("01 ") && out.contains("threads!main_block+0x9"), "\(out)")
        #expect(out.contains("rip=" + String(format: "%016llx", frames[1].ip)) && out.contains("rsp=" + String(format: "%016llx", frames[1].sp)), "\(out)")
        #expect(!out.contains("????????`????????"), "\(out)")
        let uniq = Fixtures.run(dump, ["!uniqstack"]).text
        #expect(uniq.contains("Total threads: 4\nDuplicate callstacks: 2 (windbg thread #s follow):\n2, 3\n"), "\(uniq)")
        let cxr = Fixtures.run(dump, [".cxr 10", ".cxr", "r rip"]).text
        #expect(cxr.hasPrefix("Unable to read context record at 00000000`00000010"), "\(cxr)")
    }

    /// A damaged `.debug_line` (cut anywhere, bytes flipped) never traps or runs away: the line table keeps what
    /// parsed. The intact one has main_block's line where gdb has it.
    @Test func damagedLineTables() throws {
        guard NativeSampleCores.toolsPresent else { Issue.record("gcc and gdb are needed for the native sample cores"); return }
        let dir = NativeSampleCores.made.directory
        let image = try #require(ElfImage.file(path: dir + "/threads", base: 0))
        let lines = try #require(image.section?(".debug_line"))
        let strings = image.section?(".debug_line_str")
        let intact = DwarfLineTable(debugLine: lines, lineStrings: strings, strings: nil)
        #expect(!intact.isEmpty)
        let main = try #require(image.symbols.first { $0.name == "main_block" })
        #expect(intact.line(at: main.start)?.file == "threads.c")
        var rng = SplitMix(state: 11)
        for cut in stride(from: 0, to: lines.count, by: max(1, lines.count / 97)) {
            _ = DwarfLineTable(debugLine: Array(lines.prefix(cut)), lineStrings: strings, strings: nil).line(at: main.start)
        }
        for _ in 0..<300 {
            var bytes = lines
            for _ in 0..<4 { bytes[Int(rng.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: rng.next()) }
            _ = DwarfLineTable(debugLine: bytes, lineStrings: strings, strings: nil).line(at: main.start)
        }
    }

    /// The project's own cores: gdb's backtrace of every thread is a prefix of ours (gdb stops at main), frame
    /// for frame, and no frame on the way is a guess.
    @Test(arguments: ["threads.core", "threads-opt.core", "threads-dbgframe.core", "threads32.core", "threads.crash.core", "threads32.crash.core"])
    func agreesWithGdb(_ core: String) throws {
        guard NativeSampleCores.toolsPresent else { Issue.record("gcc and gdb are needed for the native sample cores"); return }
        let made = NativeSampleCores.made
        #expect(made.ok, "make-native-core.sh failed:\n\(made.log)")
        let path = made.directory + "/" + core
        guard FileManager.default.fileExists(atPath: path) else {
            // 32-bit cores need gcc-multilib, kernel cores a core_pattern that writes files: said in the log.
            #expect(core.hasPrefix("threads32") || core.contains("crash"), "\(core) was not made:\n\(made.log)")
            return
        }
        let gdb = try #require(NativeSampleCores.gdbFrames(core: path))
        let dump = try DumpLoader.open(path: path).dump
        let doc = try Self.document(dump, ["~* kn"])
        let threads = try #require((doc["result"] as? [String: Any])?["threads"] as? [[String: Any]])
        #expect(threads.count == dump.threads.count)
        var compared = 0, sourceLines = 0
        for t in threads {
            let stack = try #require(t["stack"] as? [String: Any])
            let tid = try #require(Self.hex(stack["threadId"]))
            let ours = Self.frames(stack)
            let theirs = try #require(gdb[tid], "gdb has no thread \(tid)")
            #expect(ours.count >= theirs.count, "thread \(tid): \(ours.count) frames, gdb \(theirs.count)")
            for (i, g) in theirs.enumerated() where i < ours.count {
                #expect(ours[i].ip == g.pc, "thread \(tid) frame \(i): ours \(ours[i]), gdb \(String(g.pc, radix: 16)) \(g.function)")
                #expect(ours[i].trust != "scan", "thread \(tid) frame \(i) was found by scanning")
                // Functions of the program itself have .symtab names; gdb's are the same.
                if let name = ours[i].function, ["main", "main_block", "worker_main", "worker_block", "dumpdbg_crash_here"].contains(g.function) {
                    #expect(name == g.function, "thread \(tid) frame \(i)")
                }
                // libc's internal functions (start_thread, clone3) are named from its separate debug file (libc6-dbg,
                // /usr/lib/debug/.build-id), as gdb names them, and the vDSO's (__kernel_vsyscall) from its dynamic
                // symbols in the dump's memory; an alias of gdb's name counts (__GI___clone3, __read).
                if g.function != "??" {
                    let name = ours[i].function ?? "(none)"
                    #expect(name == g.function || name.hasSuffix("_" + g.function), "thread \(tid) frame \(i): ours \(name), gdb \(g.function)")
                }
                // Source lines from the DWARF line tables of the program (-g) and of libc's debug file, where gdb has one.
                if let (file, line) = g.source {
                    #expect(ours[i].sourceFile == file && ours[i].sourceLine == line,
                            "thread \(tid) frame \(i): ours \(ours[i].sourceFile ?? "-"):\(ours[i].sourceLine ?? 0), gdb \(file):\(line)")
                    sourceLines += 1
                }
                compared += 1
            }
        }
        #expect(compared >= dump.threads.count * 3)
        // Every frame of the program itself has a line (it is built with -g).
        #expect(sourceLines >= dump.threads.count * 2, "\(sourceLines) source lines compared")
    }
}

@Suite("!runaway", .enabled(if: Fixtures.available, Fixtures.absent))
struct RunawayTests {
    @Test func threadTimesFromTheThreadInfoList() throws {
        // lldb's fizzbuzz minidump: one thread, created 22.73 s before the dump was written (its process
        // uptime, from MiscInfo, is 23 s); no CPU time recorded.
        let out = try Fixtures.run("lldb/minidump/fizzbuzz_no_heap.dmp", "!runaway 7")
        #expect(out.contains(" User Mode Time\n  Thread       Time\n   0:2320       0 days 0:00:00.000\n"), "\(out)")
        #expect(out.contains(" Elapsed Time\n  Thread       Time\n   0:2320       0 days 0:00:22.730\n"), "\(out)")
        let none = try Fixtures.run("lldb/minidump/fizzbuzz_no_heap.dmp", "!runaway 0")
        #expect(none.contains("Usage: !runaway [Flags]"))
    }

    @Test func linuxCoresHaveCpuTimesButNoCreationTime() throws {
        guard NativeSampleCores.toolsPresent else { return }
        let made = NativeSampleCores.made
        try #require(made.ok, "\(made.log)")
        let core = made.directory + "/threads.crash.core"
        let out = Fixtures.run(try DumpLoader.open(path: core).dump, ["!runaway 5"]).text
        #expect(out.contains(" User Mode Time\n  Thread       Time\n"), "\(out)")
        #expect(out.contains("The dump holds no creation times for its threads"), "\(out)")
        #expect(out.split(separator: "\n").filter { $0.contains(" days ") }.count == 4, "\(out)")
    }

    /// Electron's Windows minidump (written by MiniDumpWriteDump) holds a FunctionTableStream: V8 registered its
    /// 512 MiB code range with one RUNTIME_FUNCTION whose unwind info (at the range's base + 0xc: version 1, an
    /// exception handler, no unwind codes) says the return address is on top of the stack. A walk that starts in
    /// that JIT code unwinds by it (trust cfi); without the table it could only scan.
    @Test func windowsFunctionTableStream() throws {
        guard Fixtures.available else { return }
        let dump = try Fixtures.open("electron-node-minidump/windows.dmp")
        let tables = try #require((dump as? Minidump)?.functionTables)
        #expect(tables.count == 1)
        let t = try #require(tables.first)
        #expect(t.minimumAddress == 0x1f_caa0_0000 && t.maximumAddress == 0x1f_eaa0_0000 && t.baseAddress == 0x1f_caa0_0000)
        #expect(t.count == 1)
        #expect(t.entry(containing: 0x1f_caa0_1000).map { [$0.begin, $0.end, $0.unwind] } == [0, 0x2000_0000, 0xc])
        #expect(t.entry(containing: 0x1f_eaa0_0000) == nil)
        let (text, _) = Fixtures.run(dump, ["k = 0 6399dab738 1fcaa01000 3"])
        #expect(text.contains("00000063`99dab740 00007fff`3ea3233c KERNELBASE+0x4c19f\n"), "\(text)")
        let buffer = Output.Buffer()
        let session = Session(dump: dump, output: Output(sink: buffer.append))
        session.outputFormat = .json
        session.execute(line: "k = 0 6399dab738 1fcaa01000 3")
        let frames = stackFrames(buffer.text, command: "k = 0 6399dab738 1fcaa01000 3")
        #expect(frames.map { $0["trust"] as? String } == ["context", "cfi", "scan"], "\(frames)")
    }
}

/// Inputs the fuzz targets found that stopped a session; each must now give output and no trap.
struct FuzzCrasherTests {
    /// A fuzzed core whose highest module ends in the top half of the address space: the pointer-authentication
    /// mask computed 1 << 64 - 1 and trapped on the overflow while `~* kn` walked an ARM64-style frame record.
    @Test func pointerAuthenticationMaskOfAFullWidthAddressSpace() throws {
        let path = Fixtures.projectRoot.appendingPathComponent("Tests/Fixtures/fuzz-crashers/dump-pac-mask-overflow.core.xz").path
        _ = Fixtures.cache
        let dump = try DumpLoader.open(path: path).dump
        let text = Fixtures.run(dump, ["~* kn"]).text
        #expect(text.contains("Call Site"), "\(text.prefix(2000))")
    }

    /// A fuzzed minidump whose thread's TEB address lies at the top of the address space: `$peb` added the
    /// PEB pointer's offset to it and trapped on the overflow (`!peb` in the `dump` target, 2026-11-30).
    @Test func tebAtTheTopOfTheAddressSpace() throws {
        let path = Fixtures.projectRoot.appendingPathComponent("Tests/Fixtures/fuzz-crashers/dump-teb-address-overflow.dmp").path
        let dump = try DumpLoader.open(path: path).dump
        let text = Fixtures.run(dump, ["~* e !peb", "~* e !teb", "? $peb", "? $teb", "~* e r $peb"]).text
        #expect(!text.isEmpty)
    }
}
