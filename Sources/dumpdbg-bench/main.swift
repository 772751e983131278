import Commands
import DumpModel
import Foundation
#if canImport(Glibc)
import Glibc
#endif

// dumpdbg-bench: figures, not pass/fail.
//   1. open, and open + `~` + `lm`, for every dump in ../shared/dumps;
//   2. open time and peak RSS for real gcore cores of a process holding 1 GiB and 4 GiB;
//   3. `!dumpheap -stat` throughput on a heap of over 1 M objects (Samples/clr/HeapMillion.cs), beside the
//      DAC oracle's raw walk on the same dump, and `!gcroot` on it (time and peak RSS);
//   4. `!dumpheap -stat` on each runtime; 5. long command lines; 7. `~* k` on the dumps with the most threads,
//      per frame, beside gdb's `thread apply all bt` on the project's gcore core; 8. script replay (commands/s).
//   Section 3 also times the `!dumpheap` listing to a file, as text and as JSON (lines/s).
//   9. a CoreCLR heap over 2 GiB (Samples: HeapBig): open time, `!dumpheap -stat` time and peak RSS, beside the
//      DAC oracle's raw walk; skipped with --no-big.
//  10. symbols: loading a 4 MB Breakpad .sym and walking with it; `~* k` with and without libc's debug file
//      (its DWARF line table is read on the first walk).
// Usage: swift run -c release dumpdbg-bench [--no-big] [--no-heap | --no-million] [--work DIR] [--keep-work]
//          [--only N] (one section) [--heap-million DIR] [--heap-big DIR] (sections 3 and 9 on an existing
//          HeapMillion / HeapBig folder, not made anew)
// The work folder (gcore cores of 1 and 4 GiB, the HeapMillion dump, caches) is removed at the end unless
// --keep-work is given.

let args = CommandLine.arguments
let projectRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
let shared = projectRoot.deletingLastPathComponent().appendingPathComponent("shared")
let work = args.firstIndex(of: "--work").map { args[$0 + 1] } ?? (FileManager.default.temporaryDirectory.path + "/dumpdbg-bench")
try? FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
setenv("DUMPDBG_CACHE", work + "/cache", 1)
let dumpdbgBinary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("dumpdbg").path

let onlySection = args.firstIndex(of: "--only").flatMap { Int(args[$0 + 1]) }
func wanted(_ section: Int) -> Bool { onlySection == nil || onlySection == section }
let heapMillionFolder = args.firstIndex(of: "--heap-million").map { args[$0 + 1] }
let heapBigFolder = args.firstIndex(of: "--heap-big").map { args[$0 + 1] }

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Best of `n` runs, in milliseconds.
func best(_ n: Int, _ body: () throws -> Void) rethrows -> Double {
    var b = Double.infinity
    for _ in 0..<n {
        let t = now()
        try body()
        b = min(b, now() - t)
    }
    return b * 1000
}

@discardableResult
func shell(_ command: String, environment: [String: String] = [:]) -> (status: Int32, out: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/bash")
    p.arguments = ["-c", command]
    var env = ProcessInfo.processInfo.environment
    for (k, v) in environment { env[k] = v }
    p.environment = env
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = FileHandle.standardError
    try? p.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// Runs dumpdbg as a child and returns (wall ms, peak RSS in MiB). The figures come from /usr/bin/time:
/// a child spawned straight from this (large) process would inherit its RSS high-water mark.
func runDumpdbg(_ arguments: [String]) -> (ms: Double, rssMiB: Double) {
    let quoted = ([dumpdbgBinary] + arguments).map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
    let r = shell("/usr/bin/time -f '%e %M' \(quoted) </dev/null 2>&1 >/dev/null | tail -1")
    let parts = r.out.split(separator: " ")
    guard parts.count == 2, let secs = Double(parts[0]), let kb = Double(parts[1].trimmingCharacters(in: .whitespacesAndNewlines)) else {
        return (0, 0)
    }
    return (secs * 1000, kb / 1024)
}

func silentSession(_ dump: any Dump) -> Session {
    Session(dump: dump, output: Output { _ in })
}

func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
func lpad(_ s: String, _ n: Int) -> String { s.count >= n ? s : String(repeating: " ", count: n - s.count) + s }
func f(_ v: Double, _ digits: Int = 2) -> String { String(format: "%.\(digits)f", v) }

print("dumpdbg-bench on \(ProcessInfo.processInfo.processorCount) cores; work folder \(work)")
print("dumpdbg binary: \(dumpdbgBinary)\n")

// MARK: 1. Every shared dump

if wanted(1), FileManager.default.fileExists(atPath: shared.path + "/dumps/INDEX.md") {
    print("== 1. open and open + ~ + lm, every dump in ../shared/dumps (best of 5; compressed dumps from a warm cache)")
    print(pad("dump", 58) + lpad("MiB", 8) + lpad("open ms", 10) + lpad("+~ +lm ms", 11))
    let index = (try? String(contentsOfFile: shared.path + "/dumps/INDEX.md", encoding: .utf8)) ?? ""
    var total = 0.0
    for line in index.split(separator: "\n") where line.hasPrefix("| ") {
        let cols = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
        guard cols.count > 3, cols[2] == "MDMP" || cols[2] == "ELF core" else { continue }
        let path = shared.path + "/dumps/" + cols[0]
        guard let first = try? DumpLoader.open(path: path) else { print(pad(cols[0], 58) + "  cannot open"); continue }
        let plain = first.decompressedPath ?? path
        let size = Double((try? FileManager.default.attributesOfItem(atPath: plain)[.size] as? Int) ?? 0) / 1048576
        let open = best(5) { _ = try? DumpLoader.open(path: path) }
        let withCommands = best(5) {
            if let d = try? DumpLoader.open(path: path).dump { silentSession(d).execute(line: "~; lm") }
        }
        total += withCommands
        print(pad(cols[0], 58) + lpad(f(size, 1), 8) + lpad(f(open, 3), 10) + lpad(f(withCommands, 3), 11))
    }
    print("all dumps, open + ~ + lm: \(f(total, 1)) ms\n")
} else {
    if wanted(1) { print("== 1. skipped: ../shared/dumps is absent\n") }
}

// MARK: 2. Big real cores

if wanted(2), !args.contains("--no-big") {
    print("== 2. real gcore cores of a process holding N MiB (open best of 5 in-process; dumpdbg -c \"~; lm; q\" as a child)")
    let hold = work + "/hold"
    if !FileManager.default.isExecutableFile(atPath: hold) {
        shell("gcc -O2 -o '\(hold)' '\(projectRoot.path)/Samples/bench/hold.c'")
    }
    print(pad("core", 30) + lpad("GiB", 8) + lpad("open ms", 10) + lpad("child ms", 10) + lpad("peak RSS MiB", 14))
    for mib in [1024, 4096] {
        let core = "\(work)/hold-\(mib).core"
        if !FileManager.default.fileExists(atPath: core) {
            let r = shell("""
            set -e; '\(hold)' \(mib) > '\(work)/hold.pid' & sleep 0.2
            while [ ! -s '\(work)/hold.pid' ]; do sleep 0.2; done
            pid=$(cat '\(work)/hold.pid'); gcore -o '\(work)/hold-tmp' $pid >/dev/null 2>&1; kill $pid
            mv '\(work)/hold-tmp.'$pid '\(core)'
            """)
            if r.status != 0 { print("could not make a \(mib) MiB core (gcc and gdb needed)"); continue }
        }
        let size = Double((try? FileManager.default.attributesOfItem(atPath: core)[.size] as? Int) ?? 0) / 1073741824
        // A warm-up run first: a core gcore has just written may be partly out of the page cache, and the
        // figure is meant to show dumpdbg's cost, not the disk's.
        _ = runDumpdbg(["-z", core, "--no-banner", "-c", "~; lm; q"])
        let open = best(5) { _ = try? DumpLoader.open(path: core) }
        let child = runDumpdbg(["-z", core, "--no-banner", "-c", "~; lm; q"])
        print(pad("hold-\(mib).core", 30) + lpad(f(size, 2), 8) + lpad(f(open, 3), 10) + lpad(f(child.ms, 1), 10) + lpad(f(child.rssMiB, 1), 14))
        if !args.contains("--keep-work") { try? FileManager.default.removeItem(atPath: core) }
    }
    print("goal: open cost flat in dump size (<= 30 ms at 4 GiB), RSS <= 64 MiB\n")
}

// MARK: 3. Heap walk throughput

if wanted(3), !args.contains("--no-heap") && !args.contains("--no-million") {
    print("== 3. !dumpheap -stat on Samples/clr/HeapMillion.cs (linux-3.1 type-2 core)")
    let out = work + "/clr"
    let made = heapMillionFolder != nil ? (status: Int32(0), out: "")
        : shell("SAMPLES=HeapMillion bash '\(projectRoot.path)/Samples/make-clr-dumps.sh' '\(out)' linux-3.1 >&2")
    let runtime = shell("bash '\(projectRoot.path)/Samples/install-deps.sh' | tail -1").out.trimmingCharacters(in: .whitespacesAndNewlines)
    let heapFolder = heapMillionFolder ?? out + "/heap-million"
    let dumpPath = heapFolder + "/linux-3.1.core.xz"
    if made.status != 0 || runtime.isEmpty || !FileManager.default.fileExists(atPath: dumpPath) {
        print("could not make the HeapMillion dump or install the runtime; skipped\n")
    } else if let opened = try? DumpLoader.open(path: dumpPath) {
        let session = Session(dump: opened.dump, output: Output { _ in })
        session.imagePath = [runtime, heapFolder]
        session.execute(line: ".loadby sos clr")
        var lastText = ""
        let buffer = Output.Buffer()
        let counting = Session(dump: opened.dump, output: Output(sink: buffer.append))
        counting.imagePath = session.imagePath
        counting.execute(line: ".loadby sos clr")
        counting.execute(line: "!dumpheap -stat")
        lastText = buffer.text
        let totalLine = lastText.split(separator: "\n").last { $0.hasPrefix("Total ") } ?? ""
        let objects = Double(totalLine.split(separator: " ").dropFirst().first?.replacingOccurrences(of: ",", with: "") ?? "0") ?? 0
        let ms = best(5) { session.execute(line: "!dumpheap -stat") }
        // The same statistics through the object-by-object walk every filtered listing uses (-min 0 forces it).
        let walkMs = best(5) { session.execute(line: "!dumpheap -stat -min 0") }
        let child = runDumpdbg(["-z", dumpPath, "-i", session.imagePath.joined(separator: ";"), "--no-banner", "-c", ".loadby sos clr; !dumpheap -stat; q"])
        print("dumpdbg:    \(Int(objects)) objects in \(f(ms, 1)) ms = \(f(objects / (ms / 1000) / 1e6, 1)) M objects/s (best of 5); through the object walk \(f(walkMs, 1)) ms = \(f(objects / (walkMs / 1000) / 1e6, 1)) M/s; whole run as a child \(f(child.ms, 0)) ms, peak RSS \(f(child.rssMiB, 1)) MiB")
        // !gcroot: a target nothing reaches makes it explore every object reachable from a root once; the
        // last Node of the 150,000-long list is found at the end of one long chain.
        buffer.reset()
        counting.execute(line: "!dumpheap -type Bench.Node -short")
        let lastNode = buffer.text.split(separator: "\n").last.map(String.init) ?? "0"
        // Output: the whole listing to a file (text, and JSON documents), lines per second of the listing.
        for (what, json) in [("text", false), ("JSON", true)] {
            let run = runDumpdbg((json ? ["--json"] : ["--no-banner"]) + ["-z", dumpPath, "-i", session.imagePath.joined(separator: ";"), "-c", ".loadby sos clr; !dumpheap; q"])
            let base = runDumpdbg((json ? ["--json"] : ["--no-banner"]) + ["-z", dumpPath, "-i", session.imagePath.joined(separator: ";"), "-c", ".loadby sos clr; !dumpheap -stat; q"])
            let listing = max(1, run.ms - base.ms)
            print("!dumpheap listing (\(what)): whole run \(f(run.ms, 0)) ms, of which the \(Int(objects)) lines take \(f(listing, 0)) ms = \(f(objects / (listing / 1000) / 1e6, 2)) M lines/s")
        }
        for (what, target) in [("an address no root reaches", "10"), ("the last Node of the list", lastNode)] {
            let run = runDumpdbg(["-z", dumpPath, "-i", session.imagePath.joined(separator: ";"), "--no-banner", "-c", ".loadby sos clr; !gcroot \(target); q"])
            print("!gcroot:    \(what): whole run as a child \(f(run.ms, 0)) ms, peak RSS \(f(run.rssMiB, 1)) MiB")
        }
        // The DAC oracle's walks on the same dump, when it builds here.
        let oracleDir = shared.path + "/labs/dac-oracle"
        let oracle = work + "/dac-oracle"
        if !FileManager.default.isExecutableFile(atPath: oracle) {
            shell("gcc -O2 -o '\(oracle)' '\(oracleDir)/dac-oracle.c' -ldl")
        }
        let raw = opened.decompressedPath ?? dumpPath
        let r = shell("'\(oracle)' '\(raw)' '\(runtime)' --search '\(heapFolder)' --stat --walk both --repeat 3 2>/dev/null | grep '^# walk'")
        if r.status == 0, !r.out.isEmpty {
            for l in r.out.split(separator: "\n") { print("dac-oracle: \(l.dropFirst(2))") }
        } else {
            print("dac-oracle: did not run here")
        }
        print()
    }
}

// MARK: 4. Each runtime the CLR reader knows

if wanted(4), !args.contains("--no-heap"), FileManager.default.fileExists(atPath: shared.path + "/dumps/clr/async-crash/linux-8.0.core.xz") {
    print("== 4. !dumpheap -stat on the shared async-crash dump of each runtime (best of 5), beside the DAC oracle's raw walk")
    let folder = shared.path + "/dumps/clr/async-crash"
    let runtime31 = shell("bash '\(projectRoot.path)/Samples/install-deps.sh' | tail -1").out.trimmingCharacters(in: .whitespacesAndNewlines)
    let runtime80 = shell("find \"${DUMPDBG_RUNTIMES:-$HOME/.cache/dumpdbg-runtimes}/venv\" -path '*Microsoft.NETCore.App/8.0.4/libcoreclr.so' | head -1")
        .out.trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "/libcoreclr.so", with: "")
    let oracle = work + "/dac-oracle"
    if !FileManager.default.isExecutableFile(atPath: oracle) { shell("gcc -O2 -o '\(oracle)' '\(shared.path)/labs/dac-oracle/dac-oracle.c' -ldl") }
    print(pad("runtime", 14) + lpad("objects", 10) + lpad("ms", 9) + lpad("M obj/s", 10) + "   dac-oracle raw walk")
    // The Windows dump needs no runtime files: its globals and metadata come from the images in the dump.
    for (name, runtime) in [("linux-3.1", runtime31), ("linux-8.0", runtime80), ("windows-3.1", "")] where !runtime.isEmpty || name.hasPrefix("windows") {
        let file = name.hasPrefix("windows") ? "\(folder)/\(name).mdmp.xz" : "\(folder)/\(name).core.xz"
        guard let opened = try? DumpLoader.open(path: file) else { continue }
        let buffer = Output.Buffer()
        let s = Session(dump: opened.dump, output: Output(sink: buffer.append))
        s.imagePath = runtime.isEmpty ? [folder] : [runtime, folder]
        s.execute(line: ".loadby sos clr")
        s.execute(line: "!dumpheap -stat")
        let totalLine = buffer.text.split(separator: "\n").last { $0.hasPrefix("Total ") } ?? ""
        let objects = Double(totalLine.split(separator: " ").dropFirst().first ?? "0") ?? 0
        let ms = best(5) { s.execute(line: "!dumpheap -stat") }
        let raw = opened.decompressedPath ?? ""
        let r = runtime.isEmpty ? (status: Int32(1), out: "") : shell("'\(oracle)' '\(raw)' '\(runtime)' --search '\(folder)' --stat --walk raw --repeat 3 2>/dev/null | grep '^# walk' | head -1")
        print(pad(name, 14) + lpad(String(Int(objects)), 10) + lpad(f(ms, 2), 9) + lpad(f(objects / (ms / 1000) / 1e6, 1), 10)
              + "   " + (r.out.isEmpty ? "did not run" : String(r.out.dropFirst(2)).trimmingCharacters(in: .whitespacesAndNewlines)))
    }
    print()
}

// MARK: 9. A heap over 2 GiB

if wanted(9), !args.contains("--no-big"), !args.contains("--no-heap") {
    print("== 9. a CoreCLR heap over 2 GiB (HeapMillion.cs with every count times 45, a linux-3.1 type-2 core)")
    let folder = heapBigFolder ?? work + "/clr/heap-big"
    let made = heapBigFolder != nil ? (status: Int32(0), out: "")
        : shell("SAMPLES=HeapBig bash '\(projectRoot.path)/Samples/make-clr-dumps.sh' '\(work)/clr' linux-3.1 >&2")
    let runtime = shell("bash '\(projectRoot.path)/Samples/install-deps.sh' | tail -1").out.trimmingCharacters(in: .whitespacesAndNewlines)
    let packed = folder + "/linux-3.1.core.xz"
    if made.status != 0 || runtime.isEmpty || !FileManager.default.fileExists(atPath: packed) {
        print("could not make the HeapBig dump or install the runtime; skipped\n")
    } else if let opened = try? DumpLoader.open(path: packed) {
        // Decompressed once into the work folder's cache; the figures are for the 2 GiB core itself.
        let core = opened.decompressedPath ?? packed
        let bytes = Double((try? FileManager.default.attributesOfItem(atPath: core)[.size] as? Int) ?? 0)
        _ = runDumpdbg(["-z", core, "--no-banner", "-c", "q"])  // page cache warm-up
        let open = best(5) { _ = try? DumpLoader.open(path: core) }
        let images = [runtime, folder].joined(separator: ";")
        let session = silentSession(opened.dump)
        session.imagePath = [runtime, folder]
        session.execute(line: ".loadby sos clr")
        let buffer = Output.Buffer()
        let counting = Session(dump: opened.dump, output: Output(sink: buffer.append))
        counting.imagePath = session.imagePath
        counting.execute(line: ".loadby sos clr")
        counting.execute(line: "!dumpheap -stat")
        let totalLine = buffer.text.split(separator: "\n").last { $0.hasPrefix("Total ") } ?? ""
        let objects = Double(totalLine.split(separator: " ").dropFirst().first?.replacingOccurrences(of: ",", with: "") ?? "0") ?? 0
        let stat = best(3) { session.execute(line: "!dumpheap -stat") }
        let child = runDumpdbg(["-z", core, "-i", images, "--no-banner", "-c", ".loadby sos clr; !dumpheap -stat; q"])
        print("core: \(f(bytes / 1073741824, 2)) GiB; open \(f(open, 2)) ms (best of 5)")
        print("dumpdbg:    \(Int(objects)) objects in \(f(stat, 0)) ms = \(f(objects / (stat / 1000) / 1e6, 1)) M objects/s (best of 3); whole run as a child \(f(child.ms, 0)) ms, peak RSS \(f(child.rssMiB, 0)) MiB")
        let oracle = work + "/dac-oracle"
        if !FileManager.default.isExecutableFile(atPath: oracle) { shell("gcc -O2 -o '\(oracle)' '\(shared.path)/labs/dac-oracle/dac-oracle.c' -ldl") }
        let r = shell("'\(oracle)' '\(core)' '\(runtime)' --search '\(folder)' --stat --walk raw --repeat 3 2>/dev/null | grep '^# walk'")
        if r.status == 0, !r.out.isEmpty {
            for l in r.out.split(separator: "\n") { print("dac-oracle: \(l.dropFirst(2))") }
        } else {
            print("dac-oracle: did not run here")
        }
        print()
    }
}

// MARK: 7. Native stacks

if wanted(7) {
    print("== 7. native stacks: `~* k` from a fresh session (modules' images and unwind tables loaded once), best of 5;")
    print("      then the same walk again in that session (tables cached); gdb `thread apply all bt` on the gcore core")
    print(pad("dump", 46) + lpad("threads", 8) + lpad("frames", 8) + lpad("fresh ms", 10) + lpad("cached ms", 10) + lpad("µs/frame", 10))
    let sample = FileManager.default.temporaryDirectory.path + "/dumpdbg-native-samples"
    var cases: [(String, String)] = [("rust-minidump/stability-report.dmp", shared.path + "/dumps/rust-minidump/stability-report.dmp"),
                                     ("electron-node-minidump/mac.dmp", shared.path + "/dumps/electron-node-minidump/mac.dmp"),
                                     ("clr/async-crash/linux-3.1.core.xz", shared.path + "/dumps/clr/async-crash/linux-3.1.core.xz"),
                                     ("clr/async-crash/windows-3.1.mdmp.xz", shared.path + "/dumps/clr/async-crash/windows-3.1.mdmp.xz")]
    if FileManager.default.fileExists(atPath: sample + "/threads.core") { cases.append(("threads.core (Samples, gcore)", sample + "/threads.core")) }
    for (label, path) in cases {
        guard let dump = try? DumpLoader.open(path: path).dump else { print(pad(label, 46) + "  cannot open"); continue }
        var frames = 0
        let fresh = best(5) {
            let buffer = Output.Buffer()
            let s = Session(dump: dump, output: Output(sink: buffer.append))
            s.execute(line: "~* k")
            frames = buffer.text.split(separator: "\n").filter { $0.hasPrefix("0") || $0.hasPrefix("f") }.count
        }
        let s = silentSession(dump)
        s.execute(line: "~* k")
        let cached = best(5) { s.execute(line: "~* k") }
        print(pad(label, 46) + lpad("\(dump.threads.count)", 8) + lpad("\(frames)", 8) + lpad(f(fresh, 2), 10) + lpad(f(cached, 2), 10)
              + lpad(f(frames > 0 ? cached * 1000 / Double(frames) : 0, 1), 10))
    }
    if FileManager.default.fileExists(atPath: sample + "/threads.core"), shell("command -v gdb").status == 0 {
        let t = now()
        let r = shell("gdb -nx -batch -ex 'thread apply all bt' '\(sample)/threads' '\(sample)/threads.core' 2>/dev/null | grep -c '^#'")
        print("gdb thread apply all bt, threads.core (whole gdb run): \(r.out.trimmingCharacters(in: .whitespacesAndNewlines)) frames in \(f((now() - t) * 1000, 0)) ms")
    }
    print()
}

// MARK: 8. Script replay

if wanted(8), FileManager.default.fileExists(atPath: shared.path + "/dumps/breakpad/minidump2.dmp") {
    print("== 8. replaying a script of 10,000 cheap commands (?, r, .echo, dq) on minidump2.dmp")
    let script = work + "/script10k.txt"
    let cheap = ["? 1+2", "r eip", ".echo x", "dd @esp L1"]
    try? (0..<10_000).map { cheap[$0 % 4] }.joined(separator: "\n").write(toFile: script, atomically: true, encoding: .utf8)
    let run = runDumpdbg(["-z", shared.path + "/dumps/breakpad/minidump2.dmp", "--no-banner", "-cf", script])
    let empty = runDumpdbg(["-z", shared.path + "/dumps/breakpad/minidump2.dmp", "--no-banner", "-c", "q"])
    let ms = max(1, run.ms - empty.ms)
    print("10,000 commands in \(f(ms, 0)) ms = \(f(10_000 / (ms / 1000), 0)) commands/s (whole run \(f(run.ms, 0)) ms)\n")
}

// MARK: 10. Symbols

if wanted(10) {
    print("== 10. symbols: a fresh session each time (files read on first use), best of 3")
    // The tests' Breakpad store, unpacked from Tests/Fixtures (xz).
    let store = work + "/breakpad-symbols"
    let fixtures = projectRoot.path + "/Tests/Fixtures/breakpad-symbols"
    for relative in (FileManager.default.enumerator(atPath: fixtures)?.allObjects as? [String] ?? []) where relative.hasSuffix(".sym.xz") {
        let target = store + "/" + String(relative.dropLast(3))
        try? FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        shell("xz -dc '\(fixtures)/\(relative)' > '\(target)'")
    }
    let macos = shared.path + "/dumps/rust-minidump/pipeline-inlines-macos-segv.dmp"
    if let dump = try? DumpLoader.open(path: macos).dump {
        let load = best(3) { let s = silentSession(dump); s.execute(line: ".sympath \(store)"); s.execute(line: "lmv m crash_client") }
        let walk = best(3) { let s = silentSession(dump); s.execute(line: ".sympath \(store)"); s.execute(line: "~* k") }
        let plain = best(3) { let s = silentSession(dump); s.execute(line: "~* k") }
        print(pad("crash-client.sym (4.1 MB) loaded by lmv", 58) + lpad(f(load, 1), 10) + " ms")
        print(pad("~* k, pipeline-inlines-macos-segv.dmp, with the .sym", 58) + lpad(f(walk, 1), 10) + " ms")
        print(pad("~* k, the same dump without it", 58) + lpad(f(plain, 1), 10) + " ms")
    }
    let sample = FileManager.default.temporaryDirectory.path + "/dumpdbg-native-samples/threads.core"
    if let dump = try? DumpLoader.open(path: sample).dump {
        let withDebug = best(3) { let s = silentSession(dump); s.execute(line: "~* k") }
        setenv("DUMPDBG_NO_SYSTEM_DEBUG", "1", 1)
        let without = best(3) { let s = silentSession(dump); s.execute(line: "~* k") }
        unsetenv("DUMPDBG_NO_SYSTEM_DEBUG")
        print(pad("~* k, threads.core, libc's debug file (names, lines)", 58) + lpad(f(withDebug, 1), 10) + " ms")
        print(pad("~* k, threads.core, DUMPDBG_NO_SYSTEM_DEBUG=1", 58) + lpad(f(without, 1), 10) + " ms")
    }
    print()
}

// MARK: 5. Long command lines (linear splitting)

if wanted(5) {
    print("== 5. long command lines on elfutils/test-core.core (best of 3): the splitter and name lookup are linear")
    if let dump = try? DumpLoader.open(path: shared.path + "/dumps/elfutils/test-core.core").dump {
        let s = silentSession(dump)
        for (label, line) in [(".echo of 1 MB", ".echo " + String(repeating: "a", count: 1 << 20)),
                              ("unknown command of 1 MB", "zzz" + String(repeating: "a", count: 1 << 20)),
                              ("~ and 1 M digits", "~" + String(repeating: "1", count: 1 << 20)),
                              ("100 000 commands on one line", String(repeating: ".echo x;", count: 100_000))] {
            let ms = best(3) { s.execute(line: line) }
            print(pad(label, 32) + lpad(f(ms, 1), 10) + " ms")
        }
    }
    print()
}

if !args.contains("--keep-work") {
    try? FileManager.default.removeItem(atPath: work)
    print("work folder \(work) removed (--keep-work keeps it)")
}
