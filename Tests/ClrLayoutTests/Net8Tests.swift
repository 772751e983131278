import ClrLayout
@testable import Commands
import DumpModel
import Foundation
import TestSupport
import Testing

/// .NET 8.0.4 on Linux (the shared async-crash 8.0 core): globals from the runtime's DAC table, a GC heap of
/// regions, and every SOS command of part 1 giving the same answers as on 3.1 for the same program.
enum Net8 {
    static let dump = ClrFixtures.seedFolder + "/linux-8.0.core.xz"
    static let oracleStat = ClrFixtures.shared.appendingPathComponent("labs/dac-oracle/stat-linux-8.0.txt").path
    static var available: Bool { installedRuntime80() != nil && FileManager.default.fileExists(atPath: dump) }
    static let skip = "needs ../shared/dumps and the .NET 8.0.4 runtime (Samples/install-deps.sh, or DUMPDBG_RUNTIME_8_0)"

    static func session(_ path: String = dump) throws -> (Session, Output.Buffer) {
        setenv("DUMPDBG_CACHE", ClrFixtures.cacheDirectory, 1)
        let opened = try DumpLoader.open(path: path)
        let buffer = Output.Buffer()
        let s = Session(dump: opened.dump, output: Output(sink: { buffer.append($0) }))
        s.imagePath = [try ClrFixtures.linkFolder([installedRuntime80()!]),
                       try ClrFixtures.linkFolder([ClrFixtures.seedFolder], files: ["app.exe"])]
        _ = ClrFixtures.run(s, buffer, ".loadby sos clr")
        return (s, buffer)
    }
}

@Suite(".NET 8.0.4 (regions GC, DAC-table globals)", .enabled(if: Net8.available, Comment(rawValue: Net8.skip)))
struct Net8Tests {
    @Test func dumpheapStatEqualsTheDACTypeByType() throws {
        let (s, b) = try Net8.session()
        try StatRow.expectEqual(ClrFixtures.run(s, b, "!dumpheap -stat"), oracleFile: Net8.oracleStat, atLeast: 200)
    }

    /// The segment index answers what a walk down the region list would: the first region holding the address.
    @Test func segmentLookupIsTheFirstRegionHoldingTheAddress() throws {
        let (s, _) = try Net8.session()
        let (_, heap) = try SosRuntimes.heap(for: s)
        #expect(heap.segments.count >= 4)
        var addresses: [UInt64] = [0, 8, .max, .max - 1]
        for seg in heap.segments { addresses += [seg.start &- 1, seg.start, seg.start &+ 8, seg.end &- 1, seg.end, seg.end &+ 1] }
        heap.enumerateObjects { o in
            addresses.append(o.address)
            return addresses.count < 20_000
        }
        for a in addresses {
            #expect(heap.segment(containing: a)?.address == heap.segments.first { $0.contains(a) }?.address, "\(String(a, radix: 16))")
        }
    }

    @Test func theProgramsOwnTypesCountTheSameOn31And80() throws {
        guard ClrFixtures.runtimeFolder != nil, ClrFixtures.seedAvailable else { return }
        let (s8, b8) = try Net8.session()
        let (s3, b3) = try ClrFixtures.seedSessionWithSos()
        // The program's own classes; compiler-generated ones (`<LoginAsync>c__async0`) are left out: 3.1 boxes
        // the async state machine where 8.0 keeps it inside its AsyncStateMachineBox.
        func own(_ rows: [StatRow]) -> [String: Int] {
            Dictionary(uniqueKeysWithValues: rows.filter { ($0.name.hasPrefix("CrashLab.") || $0.name.hasPrefix("System.Web.")) && !$0.name.contains("<") }
                .map { ($0.name, $0.count) })
        }
        let on8 = own(StatRow.parse(ClrFixtures.run(s8, b8, "!dumpheap -stat")))
        let on3 = own(StatRow.parse(ClrFixtures.run(s3, b3, "!dumpheap -stat")))
        #expect(on8["CrashLab.UserProfile"] == 2000)
        #expect(on8 == on3, "3.1: \(on3)\n8.0: \(on8)")
    }

    @Test func eeversionAndEEHeapDescribeARegionsHeap() throws {
        let (s, b) = try Net8.session()
        let version = ClrFixtures.run(s, b, "!eeversion")
        #expect(version.hasPrefix("8.0.424.16909 (.NET 8.0.4, libcoreclr.so)\nWorkstation mode\nGC heap: regions\n"), "\(version)")
        #expect(version.contains("Runtime globals: the runtime's DAC table (g_dacTable, exported by "))
        let heap = ClrFixtures.run(s, b, "!eeheap -gc")
        // The six regions the DAC lists (dac-oracle --segments), in SOS's regions layout.
        #expect(heap.contains("""
        generation 0:
        00007f6ca34ff720  00007f6d26800028  00007f6d26a45028  00007f6d26a51000  0x245000(2379776)  0x250ff8(2428920)
        """), "\(heap)")
        #expect(heap.contains("Frozen object heap\n"))
        #expect(heap.contains("\n000055bd7822ca40  00007fad38400008  00007fad38405450  "))
        #expect(heap.contains("Large object heap\n         segment             begin         allocated         committed    allocated size    committed size\n00007f6ca34ff7d0  00007f6d26c00028  00007f6d26c38738  "))
        #expect(heap.contains("Pinned object heap\n"))
        #expect(heap.contains("\n00007f6ca34ff040  00007f6d24000028  00007f6d24007ff0  "))
        #expect(heap.contains("GC Allocated Heap Size:    Size: 0x28ab20 (2665248) bytes.\n"))
    }

    @Test func threadsAndTheExceptionAreTheRuntimes() throws {
        let (s, b) = try Net8.session()
        let threads = ClrFixtures.run(s, b, "!threads")
        #expect(threads.hasPrefix("ThreadCount:      8\nUnstartedThread:  0\nBackgroundThread: 7\n"), "\(threads)")
        #expect(threads.contains("(Finalizer)"))
        // createdump: "Crashing thread 3848"; the managed thread 8 holds the NullReferenceException.
        #expect(threads.contains("    8     3848 00007F6C7C005E20  1021220 Preemptive") && threads.contains("System.NullReferenceException 00007f6d26a37480"),
                "\(threads)")
        #expect(ClrFixtures.run(s, b, ".lastevent").hasPrefix("Last event: 383c.3848: SIGABRT"))
        // createdump sets pr_cursig on the crashing thread only (the kernel sets it on all).
        #expect(s.dump.producer == ".NET createdump")
        let pe = ClrFixtures.run(s, b, "!pe")
        #expect(pe.contains("Exception type:   System.NullReferenceException\nMessage:          Object reference not set to an instance of an object.\n"))
        // The frames the runtime printed in linux-8.0.log, plus EDI.Throw, which the runtime's text hides.
        let frames = pe.split(separator: "\n").filter { $0.hasPrefix("    00007F") }.map { $0.split(separator: " ", maxSplits: 2).last.map(String.init) ?? "" }
        #expect(frames == [
            "app.exe!CrashLab.AccountController+<LoginAsync>c__async0.MoveNext()+0x19c",
            "System.Private.CoreLib.dll!System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw()+0x39",
            "System.Private.CoreLib.dll!System.Threading.Tasks.Task+<>c.<ThrowAsync>b__128_1(System.Object)+0x14",
            "System.Private.CoreLib.dll!System.Threading.ThreadPoolWorkQueue.Dispatch()+0x1c0",
            "System.Private.CoreLib.dll!System.Threading.PortableThreadPool+WorkerThread.WorkerThreadStart()+0x16a",
        ], "\(pe)")
    }

    @Test func staticsObjectsAndTypesReadAsOn31() throws {
        let (s, b) = try Net8.session()
        let name2ee = ClrFixtures.run(s, b, "!Name2EE app.exe CrashLab.Program")
        let ee = try #require(name2ee.split(separator: "\n").first { $0.hasPrefix("EEClass:") }?.split(separator: " ").last.map(String.init))
        let cls = ClrFixtures.run(s, b, "!DumpClass \(ee)")
        // Program.Roots holds the 10221 roots the program logged; Mode is the "crash" literal on the frozen heap.
        let roots = try #require(cls.split(separator: "\n").first { $0.hasSuffix(" Roots") }?.split(separator: " ").dropLast().last.map(String.init))
        let list = ClrFixtures.run(s, b, "!do \(roots)")
        #expect(list.contains(" _size\n") && list.contains(" 10221 _size"), "\(list)")
        let mode = try #require(cls.split(separator: "\n").first { $0.hasSuffix(" Mode") }?.split(separator: " ").dropLast().last.map(String.init))
        #expect(ClrFixtures.run(s, b, "!do \(mode)").contains("String:      crash\n"))
        // A UserProfile: its fields as the program set them.
        let profile = try #require(ClrFixtures.run(s, b, "!dumpheap -short -type CrashLab.UserProfile").split(separator: "\n").first.map(String.init))
        let fields = ClrFixtures.run(s, b, "!do \(profile)")
        #expect(fields.contains("Name:        CrashLab.UserProfile\n") && fields.contains(" LoginCount\n") && fields.contains(" Manager\n"), "\(fields)")
        // Methods: JIT-compiled ones found through their code headers.
        let mt = try #require(name2ee.split(separator: "\n").first { $0.hasPrefix("MethodTable:") }?.split(separator: " ").last.map(String.init))
        let md = ClrFixtures.run(s, b, "!DumpMT -md \(mt)")
        #expect(md.contains("    JIT CrashLab.Program.Main(System.String[])\n"), "\(md)")
        let module = ClrFixtures.run(s, b, "!DumpModule 00007fad3a0acec8")
        #expect(module.contains("app.exe: PE timestamp and size match the dump; MVID matches") && !module.contains("Map: <not known>"), "\(module)")
    }
}

extension Net8Tests {
    /// The 8.0 core holds the assemblies' images: with only libcoreclr.so on the image path (no app.exe, no
    /// CoreLib), names and fields come from the metadata in the dump's memory.
    @Test func metadataComesFromTheDumpWhenNoFileIsOnThePath() throws {
        let runtime = try #require(installedRuntime80())
        let folder = try ClrFixtures.linkFolder([runtime], files: ["libcoreclr.so"])
        try FileManager.default.createSymbolicLink(atPath: folder + "/linux-8.0.core.xz", withDestinationPath: Net8.dump)
        setenv("DUMPDBG_CACHE", ClrFixtures.cacheDirectory, 1)
        let buffer = Output.Buffer()
        let s = Session(dump: try DumpLoader.open(path: folder + "/linux-8.0.core.xz").dump, output: Output(sink: { buffer.append($0) }))
        s.imagePath = [folder]
        _ = ClrFixtures.run(s, buffer, ".loadby sos clr")
        let ours = StatRow.parse(ClrFixtures.run(s, buffer, "!dumpheap -stat"))
        let oracle = StatRow.parse(try String(contentsOfFile: Net8.oracleStat, encoding: .utf8))
        #expect(ours.count == oracle.count && Set(ours.map(\.description)) == Set(oracle.map(\.description)))
        #expect(ClrFixtures.run(s, buffer, "!DumpModule 00007fad3a0acec8").contains("File used:               the image in the dump's memory (no app.exe on the image path)\n"))
    }
}
