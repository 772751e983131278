import ClrLayout
@testable import Commands
import DumpModel
import Foundation
import Testing
import TestSupport

/// Seeded random damage to the GC heap of the bundled sample (words overwritten with garbage, huge values,
/// pointers into other objects): every SOS command must answer, with `<invalid>`-style marks or errors,
/// and never crash or hang.
@Suite("damaged heaps, seeded", .enabled(if: ClrFixtures.runtimeFolder != nil, Comment(rawValue: ClrFixtures.skipRuntime)))
struct HeapMutationTests {
    @Test func sosCommandsSurviveRandomHeapDamage() throws {
        let env = ProcessInfo.processInfo.environment
        try exercise(anywhere: env["DUMPDBG_MUTATE_ALL"] == "1",
                     words: env["DUMPDBG_MUTATION_WORDS"].flatMap { Int($0) } ?? 64,
                     mutants: env["DUMPDBG_MUTANTS"].flatMap { Int($0) }.map { max(1, $0 / 20) } ?? 8,
                     seed: env["DUMPDBG_MUTATION_SEED"].flatMap { UInt64($0) } ?? 0xD0DB_0003)
    }

    /// Heavy damage anywhere in the core (runtime structures, MethodTables, stacks): this seed's first mutant
    /// once trapped in ClrInfo.find (a memory range ending below libcoreclr's base).
    @Test func sosCommandsSurviveHeavyDamageAnywhere() throws {
        try exercise(anywhere: true, words: 20_000, mutants: 3, seed: 0xD0DB_0003)
    }

    static let commands31 = [".loadby sos clr", "!eeheap -gc", "!dumpheap -stat", "!dumpheap -strings", "!Threads", "!pe", "!pe -nested", "!dso",
                             "!do 00007f5c3c048098", "!da 00007f5c3c048098", "!DumpMT -md 00007f5c61df97c8"]
    static let commands80 = [".loadby sos clr", "!eeversion", "!eeheap -gc", "!dumpheap -stat", "!dumpheap -strings", "!Threads", "!pe",
                             "!pe -nested", "!dso", "!do 00007f6d26a37480", "!da 00007f6d268101f0", "!DumpMT -md 00007fad3a0af3e8",
                             "!DumpModule 00007fad3a0acec8", "!Name2EE app.exe CrashLab.Program"]

    /// The same damage on .NET 8.0: its regions, the DAC table and GcDacVars in libcoreclr's .bss, and
    /// the 8.0 MethodTables and Threads.
    @Test(.enabled(if: Net8.available, Comment(rawValue: Net8.skip)))
    func net8SurvivesRandomHeapDamageAndDamageAnywhere() throws {
        try exerciseHeapAndAnywhere(seed: 0xD0DB_0008, heapMutants: 6, anywhereMutants: 3, dumpPath: Net8.dump,
                                    session: { try Net8.session($0) }, commands: Self.commands80)
    }

    static let commandsWindows = [".loadby sos clr", "!eeversion", "!eeheap -gc", "!dumpheap -stat", "!Threads", "!pe", "!pe -nested",
                                  ".lastevent", ".exr -1", ".ecxr", "!dso", "!do 000000000292d140", "!DumpMT -md 000000001b9211e0",
                                  "!Name2EE app.exe CrashLab.Program"]

    /// The same damage on the Windows minidump: its segments, and anywhere in the file (the runtime's image with
    /// its DAC table resource, its data, the heap, the thread stacks and the exception tracker).
    @Test(.enabled(if: Win31.available, ClrFixtures.sharedAbsent))
    func windowsSurvivesRandomHeapDamageAndDamageAnywhere() throws {
        try exerciseHeapAndAnywhere(seed: 0xD0DB_0031, heapMutants: 3, anywhereMutants: 2, dumpPath: Win31.dump,
                                    session: { try Win31.session($0) }, commands: Self.commandsWindows)
    }

    /// Light damage to the heap, then heavy damage anywhere, on one runtime's dump. DUMPDBG_MUTATION_SEED and
    /// DUMPDBG_MUTANTS (a twentieth of it per kind) turn it into a longer hunt.
    func exerciseHeapAndAnywhere(seed defaultSeed: UInt64, heapMutants: Int, anywhereMutants: Int, dumpPath: String,
                                 session: (String) throws -> (Session, Output.Buffer), commands: [String]) throws {
        let env = ProcessInfo.processInfo.environment
        let seed = env["DUMPDBG_MUTATION_SEED"].flatMap { UInt64($0) } ?? defaultSeed
        let mutants = env["DUMPDBG_MUTANTS"].flatMap { Int($0) }.map { max(1, $0 / 20) }
        try exercise(anywhere: false, words: 64, mutants: mutants ?? heapMutants, seed: seed, dumpPath: dumpPath,
                     session: session, commands: commands)
        try exercise(anywhere: true, words: 20_000, mutants: mutants ?? anywhereMutants, seed: seed, dumpPath: dumpPath,
                     session: session, commands: commands)
    }

    func exercise(anywhere: Bool, words: Int, mutants count: Int, seed: UInt64,
                  dumpPath: String = ClrFixtures.samplesFolder + "/linux-3.1.core.xz",
                  session: (String) throws -> (Session, Output.Buffer) = {
                      let r = try ClrFixtures.session(dump: $0, appFolder: ClrFixtures.samplesFolder)
                      return r
                  },
                  commands: [String] = HeapMutationTests.commands31) throws {
        setenv("DUMPDBG_CACHE", ClrFixtures.cacheDirectory, 1)
        let opened = try DumpLoader.open(path: dumpPath)
        let plain = try #require(opened.decompressedPath)
        let original = Array(try Data(contentsOf: URL(fileURLWithPath: plain)))
        // Where the heap's bytes are in the file.
        let (s0, b0) = try session(dumpPath)
        _ = ClrFixtures.run(s0, b0, ".loadby sos clr")
        let heap = try SosRuntimes.heap(for: s0).1
        var spans: [(Int, Int)] = []
        for seg in heap.segments {
            guard let i = opened.dump.memory.rangeIndex(containing: seg.start) else { continue }
            let r = opened.dump.memory.ranges[i]
            let from = Int(r.fileOffset + (seg.start - r.start))
            spans.append((from, min(Int(seg.end - seg.start), Int(r.present - (seg.start - r.start)))))
        }
        #expect(!spans.isEmpty)
        // DUMPDBG_MUTATE_ALL=1 damages the whole core (runtime structures, MethodTables, stacks), not just the heap.
        if anywhere { spans = [(4096, original.count - 4096)] }
        // DUMPDBG_MUTATION_SEED explores other damage; the default keeps every run the same.
        var rng = SplitMix(state: seed)
        // One folder per seed: the runtimes' tests run at once and would otherwise write and unlink each other's
        // mutant-N.core.
        let dir = scratchPath("heapmut-\(String(seed, radix: 16))-\(anywhere ? "all" : "heap")")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for n in 0..<count {
            var b = original
            for _ in 0..<words {
                let (from, length) = spans[Int.random(in: 0..<spans.count, using: &rng)]
                let at = (from + Int.random(in: 0..<max(1, length - 8), using: &rng)) & ~7
                let value: UInt64
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: value = UInt64.random(in: 0...UInt64.max, using: &rng)
                case 1: value = 0x7FFF_FFFF
                default: value = b.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: (from + Int.random(in: 0..<max(1, length - 8), using: &rng)) & ~7, as: UInt64.self) }
                }
                withUnsafeBytes(of: value.littleEndian) { for k in 0..<8 { b[at + k] = $0[k] } }
            }
            let path = "\(dir)/mutant-\(n).core"
            _ = FileManager.default.createFile(atPath: path, contents: Data(b))
            defer { unlink(path) }
            let (s, buf) = try session(path)
            for cmd in commands { _ = ClrFixtures.run(s, buf, cmd) }
        }
    }
}
