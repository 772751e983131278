import Commands
import DumpModel
import Foundation
import Native
import TestSupport
import Testing

/// The real Breakpad symbol files of Tests/Fixtures/breakpad-symbols (see its SOURCE.md), unpacked once per test
/// process into a symbol store laid out as dump_syms and symupload lay one out.
enum BreakpadStore {
    static let folder: String = {
        let fm = FileManager.default
        let source = Fixtures.projectRoot.appendingPathComponent("Tests/Fixtures/breakpad-symbols").path
        let target = scratchPath("breakpad-symbols")
        for relative in (fm.enumerator(atPath: source)?.allObjects as? [String] ?? []) where relative.hasSuffix(".sym.xz") {
            guard let packed = try? MappedFile(path: source + "/" + relative),
                  let plain = try? Decompression.cachedPlainFile(for: packed, codec: .xz) else { continue }
            let destination = target + "/" + String(relative.dropLast(3))
            try? fm.createDirectory(atPath: (destination as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try? fm.removeItem(atPath: destination)
            try? fm.copyItem(atPath: plain.path, toPath: destination)
        }
        return target
    }()
}

/// A frame as a Breakpad-family stack walker prints it (`minidump_stackwalk`, rust-minidump's human output).
struct ReferenceFrame {
    var module: String
    var function: String?
    var file: String?
    var line: Int?
    var registers: [String: UInt64] = [:]
    var trust = ""
}

/// Parses the threads of `minidump_stackwalk`'s human output: frame lines, their register lines, "Found by".
func referenceThreads(_ text: String) -> [Int: [ReferenceFrame]] {
    var threads: [Int: [ReferenceFrame]] = [:]
    var current: Int?
    let trust = ["inlining": "inline", "given as instruction pointer in context": "context", "call frame info": "cfi",
                 "previous frame's frame pointer": "frame_pointer", "stack scanning": "scan"]
    let frameLine = #/^ ?\d+  (\S+?)(?:!(.*?))?(?: \[(\S+) : (\d+)[^\]]*\])?(?: \+ 0x[0-9a-f]+)?$/#
    for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
        if line.hasPrefix("Thread "), let n = Int(line.dropFirst(7).prefix { $0.isNumber }) {
            current = n
            threads[n] = []
            continue
        }
        if line.hasPrefix("Loaded modules") { current = nil }
        guard let t = current else { continue }
        if let m = line.wholeMatch(of: frameLine) {
            threads[t]!.append(ReferenceFrame(module: String(m.1), function: m.2.map(String.init), file: m.3.map(String.init), line: m.4.flatMap { Int($0) }))
        } else if let r = line.firstRange(of: "Found by: "), !threads[t]!.isEmpty {
            threads[t]![threads[t]!.count - 1].trust = trust[String(line[r.upperBound...])] ?? String(line[r.upperBound...])
        } else if line.contains(" = 0x"), !threads[t]!.isEmpty {
            let words = line.split(separator: " ").filter { $0 != "=" }
            for i in stride(from: 0, to: words.count - 1, by: 2) {
                if let v = UInt64(words[i + 1].dropFirst(2), radix: 16) { threads[t]![threads[t]!.count - 1].registers[String(words[i])] = v }
            }
        }
    }
    return threads
}

/// The frames each run of `command` computed, in order, from its JSON values.
func stackFrameLists(_ json: String, command: String) -> [[[String: Any]]] {
    json.split(separator: "\n").compactMap { line in
        guard let d = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], d["command"] as? String == command,
              let r = d["result"] as? [String: Any] else { return nil }
        return r["frames"] as? [[String: Any]]
    }
}

func stackFrames(_ json: String, command: String) -> [[String: Any]] { stackFrameLists(json, command: command).first ?? [] }

/// Names, source lines and unwinding from Breakpad symbol files, checked against the stack walks Breakpad and
/// rust-minidump printed with the same files.
@Suite struct BreakpadSymbolTests {
    func session(_ relative: String, symbolPath: String) throws -> (dump: any Dump, run: ([String]) -> String) {
        let dump = try Fixtures.open(relative)
        return (dump, { lines in
            let buffer = Output.Buffer()
            let s = Session(dump: dump, output: Output(sink: buffer.append))
            s.setSymbolPath(symbolPath)
            for l in lines { s.execute(line: l) }
            return buffer.text
        })
    }

    func jsonRun(_ relative: String, _ lines: [String]) throws -> String {
        let dump = try Fixtures.open(relative)
        let buffer = Output.Buffer()
        let s = Session(dump: dump, output: Output(sink: buffer.append))
        s.setSymbolPath(BreakpadStore.folder)
        s.outputFormat = .json
        for l in lines { s.execute(line: l) }
        return buffer.text
    }

    /// Breakpad's own `minidump_stackwalk minidump2.dmp symbols/` (x86 Windows, STACK WIN frame data): every
    /// frame's eip and ebp, function, source file and line, and how it was found.
    @Test(.enabled(if: Fixtures.available, Fixtures.absent))
    func minidump2MatchesBreakpadStackwalk() throws {
        let expected = referenceThreads(try String(contentsOfFile: Fixtures.path("breakpad/minidump2.stackwalk.out"), encoding: .utf8))[0] ?? []
        #expect(expected.count == 4)
        let frames = stackFrames(try jsonRun("breakpad/minidump2.dmp", [".ecxr", "k"]), command: "k")
        #expect(frames.count == expected.count)
        for (e, f) in zip(expected, frames) {
            #expect(UInt64((f["instructionPointer"] as? String ?? "").dropFirst(2), radix: 16) == e.registers["eip"])
            #expect(UInt64((f["framePointer"] as? String ?? "").dropFirst(2), radix: 16) == e.registers["ebp"])
            #expect(f["function"] as? String == e.function, "\(f)")
            #expect((f["sourceFile"] as? String).map { String($0.split(separator: "\\").last!) } == e.file)
            #expect(f["sourceLine"] as? Int == e.line)
            #expect(f["trust"] as? String == e.trust, "\(f)")
        }
        // Without the symbol files the same frames are found by the frame pointer chain, with export-less names.
        let plain = try Fixtures.run("breakpad/minidump2.dmp", ".ecxr", "k")
        #expect(plain.contains("test_app+0x429e") && !plain.contains("CrashFunction"))
    }

    /// rust-minidump's walk of a macOS x64 Breakpad dump with the crash-client symbols (INLINE records, STACK CFI):
    /// every frame of every thread — 190, inlined calls included — by function, source line and trust.
    @Test(.enabled(if: Fixtures.available, Fixtures.absent))
    func inlinedFramesMatchRustMinidump() throws {
        let relative = "rust-minidump/pipeline-inlines-macos-segv.dmp"
        let expected = referenceThreads(try String(contentsOfFile: Fixtures.path("rust-minidump/expected/test_minidump_stackwalk__macos_inlines_human.snap"), encoding: .utf8))
        #expect(expected.count >= 2)
        // The crashed thread is walked from the exception context, as rust-minidump walks it; one session walks all.
        let threads = expected.keys.sorted()
        let lines = threads.flatMap { t in t == 0 ? [".ecxr", "k"] : ["~\(t)s", "k"] }
        let walks = stackFrameLists(try jsonRun(relative, lines), command: "k")
        #expect(walks.count == threads.count)
        var compared = 0
        for (t, frames) in zip(threads, walks) {
            let want = expected[t]!
            #expect(frames.count == want.count, "thread \(t)")
            for (i, (e, f)) in zip(want, frames).enumerated() {
                let module = DumpModule(base: 0, size: 0, path: e.module).moduleName
                #expect(f["module"] as? String == module, "thread \(t) frame \(i)")
                if let fn = e.function { #expect(f["function"] as? String == BreakpadSymbolFile.displayName(fn), "thread \(t) frame \(i)") }
                #expect((f["sourceFile"] as? String).map { String($0.split(separator: "/").last!) } == e.file, "thread \(t) frame \(i)")
                #expect(f["sourceLine"] as? Int == e.line, "thread \(t) frame \(i)")
                #expect(f["trust"] as? String == e.trust, "thread \(t) frame \(i)")
                compared += 1
            }
        }
        #expect(compared == 190)
    }

    /// Breakpad's resolver test for linux_inline (basic_source_line_resolver_unittest.cc, the new INLINE format):
    /// at 0x161b6 main (a.cpp:42) holds foo (b.cpp:39), bar (c.cpp:32) and func (linux_inline.cpp:27).
    @Test func inlineRecordsResolveAsBreakpadDoes() throws {
        let file = try BreakpadSymbolFile(path: BreakpadStore.folder + "/linux_inline/BBA6FA10B8AAB33D00000000000000000/linux_inline.sym")
        #expect(file.identity?.os == "Linux" && file.identity?.architecture == "x86_64")
        #expect(file.identity?.id == "BBA6FA10B8AAB33D00000000000000000" && file.identity?.name == "linux_inline")
        #expect(file.badLines == 0)
        let frames = file.sourceFrames(at: 0x161b6)
        #expect(frames == [
            .init(function: "func()", start: 0x15b83, file: "linux_inline.cpp", line: 27, isInline: true),
            .init(function: "bar()", start: 0x15b72, file: "c.cpp", line: 32, isInline: true),
            .init(function: "foo()", start: 0x15b45, file: "b.cpp", line: 39, isInline: true),
            .init(function: "main", start: 0x15b30, file: "a.cpp", line: 42, isInline: false),
        ])
    }

    /// The same on the dump: `k` lists the inlined calls before main, WinDbg's `(Inline Function)` lines.
    @Test(.enabled(if: Fixtures.available, Fixtures.absent))
    func inlineFramesInK() throws {
        let (_, run) = try session("breakpad/linux_inline.dmp", symbolPath: BreakpadStore.folder)
        let text = run([".ecxr", "kn 4"])
        #expect(text.contains("00 (Inline Function) --------`-------- linux_inline!func+0x633 [linux_inline.cpp @ 27]"), "\(text)")
        #expect(text.contains("02 (Inline Function) --------`-------- linux_inline!foo+0x671 [b.cpp @ 39]"))
        #expect(text.contains("03 00007fff`1669d1a0 00007f75`578dff0a linux_inline!main+0x686 [a.cpp @ 42]"))
        // kL leaves the source lines out.
        let hidden = run([".ecxr", "kL 4"])
        #expect(hidden.contains("linux_inline!main+0x686\n") && !hidden.contains("[a.cpp @ 42]"))
        // !analyze blames the innermost inlined call, named as WinDbg names it (offset in hex, no 0x).
        let analysis = run(["!analyze -v"])
        #expect(analysis.contains("SYMBOL_NAME:  linux_inline!func+633\n"), "\(analysis)")
        #expect(analysis.contains("FAULTING_SOURCE_LINE_NUMBER:  27\n"))
        // The module's build id comes from the Breakpad CodeView record ("LEpB") and names the symbol file.
        let lmv = run(["lmv m linux_inline"])
        #expect(lmv.contains("Build ID:         10faa6bbaab83db3"))
        #expect(lmv.contains("Symbols:          Breakpad .sym, lines (\(BreakpadStore.folder)/linux_inline/BBA6FA10B8AAB33D00000000000000000/linux_inline.sym)"))
    }

    /// ln, x and module!symbol expressions use the symbol file's FUNC and PUBLIC records.
    @Test(.enabled(if: Fixtures.available, Fixtures.absent))
    func namesFromTheSymbolFile() throws {
        let (_, run) = try session("breakpad/minidump2.dmp", symbolPath: BreakpadStore.folder)
        #expect(run(["ln 0040429e"]).contains("test_app!`anonymous namespace'::CrashFunction+0xe"))
        #expect(run(["? test_app!main"]).contains("Evaluate expression: 4211120 = 004041b0"))
        let x = run(["x test_app!*CrashFunction*"])
        #expect(x.contains("00404290") && x.contains("test_app!`anonymous namespace'::CrashFunction"), "\(x)")
        #expect(run(["ln 7c816fd7"]).contains("kernel32!BaseProcessStart+0x23"))
        // uf knows the function's bounds from its FUNC record.
        #expect(run(["uf 00404290"]).contains("test_app!`anonymous namespace'::CrashFunction"))
    }

    /// The symbol path: store layout, flat folders checked by their MODULE line, server entries, refusals.
    @Test(.enabled(if: Fixtures.available, Fixtures.absent))
    func symbolPathRules() throws {
        let path = SymbolPath("srv*/tmp/cache*https://msdl.microsoft.com/download/symbols;/a/b; https://example.com/symbols ;cache*/c")
        #expect(path.folders == ["/tmp/cache", "/a/b", "/c"])
        #expect(path.ignored == ["https://example.com/symbols"])

        // A flat folder: test_app.sym beside others, used because its MODULE line has the module's debug id.
        let flat = scratchPath("flat-symbols")
        try? FileManager.default.createDirectory(atPath: flat, withIntermediateDirectories: true)
        try? FileManager.default.removeItem(atPath: flat + "/test_app.sym")
        try FileManager.default.copyItem(atPath: BreakpadStore.folder + "/test_app.pdb/5A9832E5287241C1838ED98914E9B7FF1/test_app.sym", toPath: flat + "/test_app.sym")
        let (_, run) = try session("breakpad/minidump2.dmp", symbolPath: flat)
        #expect(run([".ecxr", "k 1"]).contains("test_app!`anonymous namespace'::CrashFunction+0xe [c:\\test_app.cc @ 58]"))

        // A file with another debug id in the store's place is refused, and lmv says why.
        let wrong = scratchPath("wrong-symbols")
        let place = wrong + "/test_app.pdb/5A9832E5287241C1838ED98914E9B7FF1"
        try? FileManager.default.createDirectory(atPath: place, withIntermediateDirectories: true)
        try "MODULE windows x86 0123456789ABCDEF0123456789ABCDEF1 test_app.pdb\nFUNC 4290 18 0 wrong\n".write(toFile: place + "/test_app.sym", atomically: true, encoding: .utf8)
        let (_, runWrong) = try session("breakpad/minidump2.dmp", symbolPath: wrong)
        let lmv = runWrong(["lmv m test_app", ".ecxr", "k 1"])
        #expect(lmv.contains("is for debug id 0123456789ABCDEF0123456789ABCDEF1, not 5A9832E5287241C1838ED98914E9B7FF1"), "\(lmv)")
        #expect(!lmv.contains("test_app!wrong"))
        #expect(runWrong(["lmv m kernel32"]).contains("no kernel32.pdb/BCE8785C57B44245A669896B6A19B9542/kernel32.sym on the symbol path"))

        // .sympath shows and changes it; .sympath+ appends.
        let (_, runPath) = try session("breakpad/minidump2.dmp", symbolPath: "")
        let shown = runPath([".sympath", ".sympath+ \(BreakpadStore.folder)", ".ecxr", "k 1"])
        #expect(shown.contains("Symbol search path is: <empty>"))
        #expect(shown.contains("Symbol search path is: \(BreakpadStore.folder)"))
        #expect(shown.contains("CrashFunction+0xe"))
    }

    /// A damaged symbol file never stops the session: bad lines are skipped, a file that is not one is named.
    @Test(.enabled(if: Fixtures.available, Fixtures.absent))
    func damagedSymbolFiles() throws {
        let folder = scratchPath("damaged-symbols")
        let place = folder + "/test_app.pdb/5A9832E5287241C1838ED98914E9B7FF1"
        try? FileManager.default.createDirectory(atPath: place, withIntermediateDirectories: true)
        let good = try String(contentsOfFile: BreakpadStore.folder + "/test_app.pdb/5A9832E5287241C1838ED98914E9B7FF1/test_app.sym", encoding: .utf8)
        // Garbage between records, a FUNC with too few fields, huge and negative numbers, a program that divides by zero.
        var damaged = good.replacingOccurrences(of: "FUNC 4290 18 0", with: "FUNC zz\n\u{1}\u{2}junk\nFUNC 4290 18 0")
        damaged += "FUNC ffffffffffffffffff 1 0 overflow\nSTACK WIN 4 4290 18 4 0 0 0 4 0 1 $eip 0 0 / =\nINLINE 0 1\nSTACK CFI 1 .cfa: 1 2\n"
        try damaged.write(toFile: place + "/test_app.sym", atomically: true, encoding: .utf8)
        let file = try BreakpadSymbolFile(path: place + "/test_app.sym")
        #expect(file.badLines >= 4)
        let (_, run) = try session("breakpad/minidump2.dmp", symbolPath: folder)
        let text = run([".ecxr", "k"])
        #expect(text.contains("test_app!`anonymous namespace'::CrashFunction+0xe"), "\(text)")

        try "not a symbol file\n".write(toFile: place + "/test_app.sym", atomically: true, encoding: .utf8)
        let (_, runBad) = try session("breakpad/minidump2.dmp", symbolPath: folder)
        let lmv = runBad(["lmv m test_app", ".ecxr", "k"])
        #expect(lmv.contains("is not a Breakpad symbol file (it does not start with MODULE)"))
        #expect(lmv.contains("test_app+0x429e"))
    }
}

/// minidump2.dmp with its exception context replaced by thread 0's own (the dump-writing thread's wait in
/// kernel32) and its BreakpadInfo stream hidden, so that Breakpad walks both threads from their own contexts:
/// FPO code in kernel32 and ntdll, STACK WIN frame data, the frame pointer chain and scanning on x86.
/// `Tests/Fixtures/breakpad-symbols/expected/minidump2-thread0-context.stackwalk.out` is what
/// `minidump_stackwalk` (Breakpad 418aacd, built here) printed for the same bytes with the same symbol files.
@Suite struct BreakpadWindowsFrameDataTests {
    static func retargetedDump() throws -> String {
        var b = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("breakpad/minidump2.dmp"))))
        func u32(_ o: Int) -> Int { Int(b[o]) | Int(b[o + 1]) << 8 | Int(b[o + 2]) << 16 | Int(b[o + 3]) << 24 }
        func put(_ o: Int, _ v: Int) { for i in 0..<4 { b[o + i] = UInt8((v >> (8 * i)) & 0xFF) } }
        let count = u32(8), directory = u32(12)
        var streams: [Int: Int] = [:]
        for i in 0..<count {
            let entry = directory + 12 * i
            streams[u32(entry)] = u32(entry + 8)
            if u32(entry) == 0x4767_0001 { put(entry, 0xFFFF) }  // BreakpadInfo: its "requesting thread" would be hidden
        }
        let thread0 = streams[3]! + 4
        let exception = streams[6]!
        put(exception, u32(thread0))                          // ThreadId
        put(exception + 8 + 152, u32(thread0 + 40))           // ThreadContext.DataSize
        put(exception + 8 + 156, u32(thread0 + 44))           // ThreadContext.Rva
        let path = scratchPath("minidump2-thread0-context.dmp")
        try Data(b).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test(.enabled(if: Fixtures.available, Fixtures.absent))
    func framesAgreeWithBreakpad() throws {
        let expected = referenceThreads(try String(contentsOfFile: Fixtures.projectRoot
            .appendingPathComponent("Tests/Fixtures/breakpad-symbols/expected/minidump2-thread0-context.stackwalk.out").path, encoding: .utf8))
        let dump = try DumpLoader.open(path: try Self.retargetedDump()).dump
        let buffer = Output.Buffer()
        let s = Session(dump: dump, output: Output(sink: buffer.append))
        s.setSymbolPath(BreakpadStore.folder)
        s.outputFormat = .json
        for l in [".ecxr", "k", "~1s", "k"] { s.execute(line: l) }
        let walks = stackFrameLists(buffer.text, command: "k")
        #expect(walks.count == 2)
        // Thread 0 frame for frame; thread 1 (the handler thread, mostly stale words) for its first 7 frames: after
        // them Breakpad keeps a frame pointer of 0 through scanned frames where rust-minidump's rules, which k
        // follows, leave it unknown, and the two walks part.
        for (t, agreeing) in [(0, 7), (1, 7)] {
            let want = expected[t] ?? []
            #expect(want.count >= agreeing)
            let frames = walks.count > t ? walks[t] : []
            if t == 0 { #expect(frames.count == want.count) }
            for (i, (e, f)) in zip(want.prefix(agreeing), frames).enumerated() {
                let value = { (k: String) in UInt64((f[k] as? String ?? "").dropFirst(2), radix: 16) }
                #expect(value("instructionPointer") == e.registers["eip"], "thread \(t) frame \(i)")
                #expect(value("childSP") == e.registers["esp"], "thread \(t) frame \(i)")
                #expect(f["trust"] as? String == e.trust, "thread \(t) frame \(i)")
                if let fn = e.function { #expect(f["function"] as? String == BreakpadSymbolFile.displayName(fn), "thread \(t) frame \(i)") }
            }
        }
    }
}
