import ClrLayout
@testable import Commands
import DumpModel
import Foundation
import TestSupport
import Testing

/// `!DumpDomain` and `!ThreadPool` against the runtime's own DAC: Expected/<dump>.dac-dumpdomain-threadpool.txt is
/// the text SOS prints from the DAC's answers (GetAppDomainData, GetAssemblyList, GetAssemblyData, GetModuleData,
/// GetThreadpoolData; for .NET 8's managed pool, the DAC's !do of PortableThreadPool), made with the DAC oracle of
/// Docs/clr/domains-threadpool.md.
@Suite("!DumpDomain and !ThreadPool equal the DAC's")
struct DomainsTests {
    static func check(_ s: Session, _ b: Output.Buffer, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let expected = try String(contentsOf: ClrStackOracle.expected.appendingPathComponent("\(name).dac-dumpdomain-threadpool.txt"), encoding: .utf8)
        let ours = ClrFixtures.run(s, b, "!DumpDomain") + ClrFixtures.run(s, b, "!ThreadPool")
        #expect(ours == expected, "\(name):\n\(ours)", sourceLocation: sourceLocation)
    }

    @Test(.enabled(if: ClrFixtures.seedAvailable && ClrFixtures.runtimeFolder != nil))
    func linux31() throws {
        let (s, b) = try ClrFixtures.seedSessionWithSos()
        try Self.check(s, b, "linux-3.1")
        // One domain by its address; a wrong address says so.
        let domain = try #require(ClrFixtures.run(s, b, "!DumpDomain").split(separator: "\n").first { $0.hasPrefix("Domain 1:") }?.split(separator: " ").last)
        let one = ClrFixtures.run(s, b, "!DumpDomain \(domain)")
        #expect(one.hasPrefix("--------------------------------------\nDomain 1:           \(domain)\n") && !one.contains("System Domain"))
        #expect(ClrFixtures.run(s, b, "!DumpDomain 1234").contains("is not a domain"))
    }

    @Test(.enabled(if: Net8.available))
    func linux80() throws {
        let (s, b) = try Net8.session()
        try Self.check(s, b, "linux-8.0")
    }

    @Test(.enabled(if: Win31.available))
    func windows31() throws {
        let (s, b) = try Win31.session()
        try Self.check(s, b, "windows-3.1")
    }

    // The oracle text exists for the Linux hang dumps (the DAC oracle reads Linux cores).
    @Test(arguments: HangSampleTests.targets.filter { !$0.isWindows })
    func hangSample(_ t: HangSample.Target) throws {
        let (s, b) = try HangSample.session(t)
        try Self.check(s, b, "hang-\(t.rawValue)")
    }
}
