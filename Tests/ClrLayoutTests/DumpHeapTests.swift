import ClrLayout
@testable import Commands
import DumpModel
import Foundation
import Testing

@Suite("SOS heap commands on .NET Core 3.1 dumps (no DAC)")
struct DumpHeapTests {
    @Test("before .loadby, !dumpheap is not an export")
    func notLoaded() throws {
        guard ClrFixtures.seedAvailable else { print("skip: ../shared/dumps is absent"); return }
        let (s, b) = try ClrFixtures.session(dump: ClrFixtures.seedDump, appFolder: ClrFixtures.seedFolder)
        #expect(ClrFixtures.run(s, b, "!dumpheap -stat") == "No export dumpheap found (an SOS command: .loadby sos clr loads SOS)\n")
    }

    @Test("!dumpheap -stat equals dac-oracle type by type on linux-3.1")
    func statMatchesOracle() throws {
        guard ClrFixtures.seedAvailable else { print("skip: ../shared/dumps is absent"); return }
        guard ClrFixtures.runtimeFolder != nil else { print("skip: " + ClrFixtures.skipRuntime); return }
        let (s, b) = try ClrFixtures.session(dump: ClrFixtures.seedDump, appFolder: ClrFixtures.seedFolder)
        let load = ClrFixtures.run(s, b, ".loadby sos coreclr")
        #expect(load.contains("CLR runtime: libcoreclr.so 3.1.23"), "\(load)")
        let out = ClrFixtures.run(s, b, "!dumpheap -stat")
        let ours = StatRow.parse(out)
        let oracle = StatRow.parse(try String(contentsOfFile: ClrFixtures.oracleStat, encoding: .utf8))
        #expect(oracle.count == 211)
        #expect(ours.count == oracle.count)
        let byMT = Dictionary(uniqueKeysWithValues: ours.map { ($0.mt, $0) })
        for o in oracle {
            #expect(byMT[o.mt] == o, "oracle row \(o)")
        }
        #expect(out.contains("\nTotal 37219 objects\n"))
        #expect(ours.reduce(0) { $0 + $1.size } == 2_611_680)
        // Ascending by total size, as SOS sorts.
        #expect(ours.map(\.size) == ours.map(\.size).sorted())
        #expect(out.hasPrefix("Statistics:\n              MT    Count    TotalSize Class Name\n"))
    }

    @Test("counts of the program's own types equal what Program.cs allocates")
    func programCounts() throws {
        guard ClrFixtures.seedAvailable else { print("skip: ../shared/dumps is absent"); return }
        guard ClrFixtures.runtimeFolder != nil else { print("skip: " + ClrFixtures.skipRuntime); return }
        let (s, b) = try ClrFixtures.seedSessionWithSos()
        let rows = StatRow.parse(ClrFixtures.run(s, b, "!dumpheap -stat"))
        func count(_ n: String) -> Int? { rows.first { $0.name == n }?.count }
        #expect(count("CrashLab.UserProfile") == 2000)
        #expect(count("System.Web.Hosting.IIS7WorkerRequest") == 2)
        #expect(count("CrashLab.AccountController") == 2)
        #expect(count("System.Text.StringBuilder") ?? 0 >= 200)
        // One 100000-byte byte[] on the LOH.
        let big = ClrFixtures.run(s, b, "!dumpheap -type System.Byte[] -min 0n100000")
        #expect(big.contains(" 100024\n"), "\(big)")
        let ups = ClrFixtures.run(s, b, "!dumpheap -short -type CrashLab.UserProfile")
        #expect(ups.split(separator: "\n").count == 2000)
    }

    @Test("the sample dump's facts: type counts")
    func sampleFacts() throws {
        let dump = ClrFixtures.samplesFolder + "/linux-3.1.core.xz"
        guard FileManager.default.fileExists(atPath: dump) else { print("skip: no sample dump at \(dump)"); return }
        guard ClrFixtures.runtimeFolder != nil else { print("skip: " + ClrFixtures.skipRuntime); return }
        let facts = try String(contentsOfFile: ClrFixtures.samplesFolder + "/linux-3.1.facts.txt", encoding: .utf8)
        let (s, b) = try ClrFixtures.session(dump: dump, appFolder: ClrFixtures.samplesFolder)
        _ = ClrFixtures.run(s, b, ".loadby sos clr")
        let rows = StatRow.parse(ClrFixtures.run(s, b, "!dumpheap -stat"))
        var checked = 0
        for line in facts.split(separator: "\n") where line.hasPrefix("FACT type.") && line.contains(".count=") {
            let body = line.dropFirst("FACT type.".count)
            guard let eq = body.range(of: ".count=") else { continue }
            let name = String(body[..<eq.lowerBound])
            let want = Int(body[eq.upperBound...]) ?? -1
            let have = rows.first { $0.name == name }?.count ?? 0
            #expect(have == want, "\(name)")
            checked += 1
        }
        #expect(checked >= 5)
    }

    @Test("the .NET Core 2.0 triage dump gets a clear unsupported-version answer")
    func triageUnsupported() throws {
        guard FileManager.default.fileExists(atPath: ClrFixtures.triageDump) else { print("skip: no triage dump"); return }
        let (s, b) = try ClrFixtures.session(dump: ClrFixtures.triageDump, appFolder: ClrFixtures.seedFolder)
        let load = ClrFixtures.run(s, b, ".loadby sos coreclr")
        #expect(load.contains("unsupported runtime version 2.0.0"), "\(load)")
        let out = ClrFixtures.run(s, b, "!dumpheap -stat")
        #expect(out.hasPrefix("unsupported runtime version 2.0.0"), "\(out)")
    }
}
