import ClrLayout
@testable import Commands
import DumpModel
import Foundation
import Testing

/// .NET Core 3.1.23 for Windows (the shared async-crash Wine minidump): globals from coreclr.dll's DAC table
/// resource, metadata from the images in the dump, and the CLR exception without an exception stream.
enum Win31 {
    static let dump = ClrFixtures.seedFolder + "/windows-3.1.mdmp.xz"
    /// The Windows DAC's `!dumpheap -stat` of the same dump (Samples/oracle/port-dac-oracle-to-mdmp.py).
    static let oracleStat = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Expected/windows-3.1.dac-stat.txt").path
    static var available: Bool { FileManager.default.fileExists(atPath: dump) }

    /// A session with only the app's folder on the image path: no Windows runtime files are needed.
    static func session(_ path: String = dump) throws -> (Session, Output.Buffer) {
        setenv("DUMPDBG_CACHE", ClrFixtures.cacheDirectory, 1)
        let buffer = Output.Buffer()
        let s = Session(dump: try DumpLoader.open(path: path).dump, output: Output(sink: { buffer.append($0) }))
        s.imagePath = [try ClrFixtures.linkFolder([ClrFixtures.seedFolder], files: ["app.exe"])]
        _ = ClrFixtures.run(s, buffer, ".loadby sos clr")
        return (s, buffer)
    }
}

@Suite(".NET Core 3.1.23 for Windows, opened on Linux", .enabled(if: Win31.available, ClrFixtures.sharedAbsent))
struct WindowsTests {
    @Test func dumpheapStatEqualsTheWindowsDAC() throws {
        let (s, b) = try Win31.session()
        let text = ClrFixtures.run(s, b, "!dumpheap -stat")
        try StatRow.expectEqual(text, oracleFile: Win31.oracleStat, atLeast: 180)
        #expect(StatRow.parse(text).first { $0.name == "CrashLab.UserProfile" }?.count == 2000)
    }

    @Test func theRuntimeAndItsGlobalsAreFoundInTheDump() throws {
        let (s, b) = try Win31.session()
        let version = ClrFixtures.run(s, b, "!eeversion")
        #expect(version.hasPrefix("4.700.22.11601 (.NET 3.1.23, coreclr.dll)\nWorkstation mode\nGC heap: segments\n"), "\(version)")
        #expect(version.contains("Runtime globals: the runtime's DAC table (resource COREXTERNALDATAACCESSRESOURCE of coreclr.dll in the dump)"))
        // CoreLib's metadata comes from its image in the dump: no Windows runtime file is on the path.
        let r = try SosRuntimes.runtime(for: s)
        let core = try #require(r.coreLib)
        #expect(core.metadataFromDump && core.identityNote.hasPrefix("the image in the dump's memory"))
        let heap = ClrFixtures.run(s, b, "!eeheap -gc")
        #expect(heap.contains("Large object heap starts at 0x00000000126F1000\n"), "\(heap)")
    }

    @Test func theCLRExceptionIsTheEventOnThread194() throws {
        let (s, b) = try Win31.session()
        #expect(s.dump.exception == nil, "the dump itself has no exception stream")
        #expect(s.thread?.id == 0x194)
        #expect(ClrFixtures.run(s, b, ".lastevent").hasPrefix("Last event: 174.194: CLR exception - code e0434352"))
        // The record the runtime raised (the address is the one Wine's console line shows).
        let exr = ClrFixtures.run(s, b, ".exr -1")
        #expect(exr.hasPrefix("""
        ExceptionAddress: 000000007b013d7e (kernelbase+0x13d7e)
           ExceptionCode: e0434352 (CLR exception)
          ExceptionFlags: 00000001
        NumberParameters: 5
           Parameter[0]: ffffffff80004003
        """), "\(exr)")
        #expect(exr.contains("   Parameter[4]: 00000000014c0000\n"))
        #expect(ClrFixtures.run(s, b, ".ecxr").contains("rip=000000007b013d7e rsp=000000001bc2f190"))
        let threads = ClrFixtures.run(s, b, "!threads")
        #expect(threads.contains("  194 0000000000428270  1029220 Preemptive") && threads.contains("System.NullReferenceException 000000000292d140"),
                "\(threads)")
        // The frames of windows-3.1.log, in order (the log hides EDI.Throw).
        let pe = ClrFixtures.run(s, b, "!pe")
        let names = pe.split(separator: "\n").filter { $0.hasPrefix("    0000") }.compactMap { $0.split(separator: "!", maxSplits: 1).last }
        #expect(names.map(String.init) == [
            "CrashLab.AccountController+<LoginAsync>c__async0.MoveNext()+0x180",
            "System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw()+0x21",
            "System.Threading.Tasks.Task+<>c.<ThrowAsync>b__139_1(System.Object)+0x19",
            "System.Threading.QueueUserWorkItemCallbackDefaultContext.Execute()+0x1a",
            "System.Threading.ThreadPoolWorkQueue.Dispatch()+0x1d0",
            "System.Threading._ThreadPoolWaitCallback.PerformWaitCallback()+0xb",
        ], "\(pe)")
    }

    @Test func theProgramsOwnObjectsMatchTheLinuxDumps() throws {
        guard Net8.available else { return }
        let (w, wb) = try Win31.session()
        let (l, lb) = try Net8.session()
        func own(_ rows: [StatRow]) -> [String: Int] {
            Dictionary(uniqueKeysWithValues: rows.filter { ($0.name.hasPrefix("CrashLab.") || $0.name.hasPrefix("System.Web.")) && !$0.name.contains("<") }
                .map { ($0.name, $0.count) })
        }
        #expect(own(StatRow.parse(ClrFixtures.run(w, wb, "!dumpheap -stat"))) == own(StatRow.parse(ClrFixtures.run(l, lb, "!dumpheap -stat"))))
        // The same statics: Program.Roots holds 10221 objects and Mode is "crash".
        for (s, b) in [(w, wb), (l, lb)] {
            let name2ee = ClrFixtures.run(s, b, "!Name2EE app.exe CrashLab.Program")
            let ee = try #require(name2ee.split(separator: "\n").first { $0.hasPrefix("EEClass:") }?.split(separator: " ").last.map(String.init))
            let cls = ClrFixtures.run(s, b, "!DumpClass \(ee)")
            let roots = try #require(cls.split(separator: "\n").first { $0.hasSuffix(" Roots") }?.split(separator: " ").dropLast().last.map(String.init))
            #expect(ClrFixtures.run(s, b, "!do \(roots)").contains(" 10221 _size"))
            let mode = try #require(cls.split(separator: "\n").first { $0.hasSuffix(" Mode") }?.split(separator: " ").dropLast().last.map(String.init))
            #expect(ClrFixtures.run(s, b, "!do \(mode)").contains("String:      crash\n"))
        }
    }
}
