import ClrLayout
@testable import Commands
import DumpModel
import Foundation
import Testing

/// The DAC oracle (../shared/labs/dac-oracle, built here with gcc) reads the project's own bundled sample
/// through the runtime's DAC; dumpdbg's `!dumpheap -stat`, which never loads the DAC, must agree with it
/// type by type. The oracle is a test oracle only.
enum DacOracle {
    static let source = ClrFixtures.shared.appendingPathComponent("labs/dac-oracle/dac-oracle.c").path

    /// Built once per test run; nil (with the reason) when it cannot be built here.
    static let binary: Result<String, OracleUnavailable> = {
        guard FileManager.default.fileExists(atPath: source) else { return .failure(.init(reason: "\(source) is absent")) }
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("dumpdbg-dac-oracle-\(getpid())").path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["gcc", "-O2", "-o", out, source, "-ldl"]
        do { try p.run() } catch { return .failure(.init(reason: "gcc cannot run: \(error)")) }
        p.waitUntilExit()
        return p.terminationStatus == 0 ? .success(out) : .failure(.init(reason: "gcc could not build dac-oracle"))
    }()

    struct OracleUnavailable: Error { let reason: String }

    static func stat(core: String, runtime: String, search: String) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try binary.get())
        p.arguments = [core, runtime, "--search", search, "--stat", "--walk", "raw"]
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}

@Suite("dumpdbg agrees with the runtime's own DAC on the project's sample dump",
       .enabled(if: ClrFixtures.runtimeFolder != nil, Comment(rawValue: ClrFixtures.skipRuntime)))
struct OracleOnSampleTests {
    @Test func dumpheapStatMatchesTheDACTypeByType() throws {
        let dumpPath = ClrFixtures.samplesFolder + "/linux-3.1.core.xz"
        let (s, b) = try ClrFixtures.session(dump: dumpPath, appFolder: ClrFixtures.samplesFolder)
        _ = ClrFixtures.run(s, b, ".loadby sos clr")
        let ours = StatRow.parse(ClrFixtures.run(s, b, "!dumpheap -stat"))
        // The oracle reads the plain core the loader decompressed.
        let plain = try #require(try DumpLoader.open(path: dumpPath).decompressedPath)
        let oracleText: String
        do {
            oracleText = try DacOracle.stat(core: plain, runtime: ClrFixtures.runtimeFolder!, search: ClrFixtures.samplesFolder)
        } catch let e as DacOracle.OracleUnavailable {
            Issue.record("dac-oracle is needed for this check and could not be built: \(e.reason)")
            return
        }
        let oracle = StatRow.parse(oracleText)
        #expect(oracle.count > 100, "the oracle listed the heap's types")
        #expect(ours.count == oracle.count)
        let byMT = Dictionary(uniqueKeysWithValues: ours.map { ($0.mt, $0) })
        for o in oracle { #expect(byMT[o.mt] == o, "oracle row \(o)") }
        // And the program's own count, from its FACT lines.
        #expect(ours.first { $0.name == "Samples.Order" }?.count == 1234)
    }
}
