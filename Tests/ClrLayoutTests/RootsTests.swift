import ClrLayout
@testable import Commands
import DumpModel
import Foundation
import TestSupport
import Testing

/// `!gchandles` against the DAC's own handle enumeration (ISOSHandleEnum, Expected/<dump>.dac-handles.txt:
/// handle, type, object), and `!gcroot` against what the hang sample knows about its objects.
@Suite("GC handles and roots")
struct RootsTests {
    static func handleRows(_ text: String) -> [String] {
        let names = ClrHandle.Kind.allCases.map(\.name)
        return text.split(separator: "\n").compactMap { line -> String? in
            let c = line.split(separator: " ")
            guard c.count >= 4, c[0].count == 16, let k = names.firstIndex(of: String(c[1])) else { return nil }
            return "\(c[0]) \(k) \(c[2])"
        }.sorted()
    }

    static func expected(_ dump: String) throws -> [String] {
        try String(contentsOf: ClrStackOracle.expected.appendingPathComponent("\(dump).dac-handles.txt"), encoding: .utf8)
            .split(separator: "\n").map(String.init).sorted()
    }

    @Test(.enabled(if: ClrFixtures.seedAvailable && ClrFixtures.runtimeFolder != nil))
    func handlesEqualTheDACs31() throws {
        let (s, b) = try ClrFixtures.session(dump: ClrFixtures.seedDump, appFolder: ClrFixtures.seedFolder)
        let out = ClrFixtures.run(s, b, ".loadby sos clr; !gchandles")
        #expect(Self.handleRows(out) == (try Self.expected("linux-3.1")), "\(out)")
        #expect(out.contains("    Strong Handles:       23\n"), "\(out)")
    }

    @Test(.enabled(if: Net8.available))
    func handlesEqualTheDACs80() throws {
        let (s, b) = try Net8.session()
        let out = ClrFixtures.run(s, b, "!gchandles")
        #expect(Self.handleRows(out) == (try Self.expected("linux-8.0")), "\(out)")
        let pinned = ClrFixtures.run(s, b, "!gchandles -type Pinned")
        #expect(Self.handleRows(pinned).count == 1)
        #expect(ClrFixtures.run(s, b, "!gchandles -type Bogus").contains("Unknown handle type 'Bogus'"))
    }

    /// account-A is a static (Transfer.AccountA: statics live in an Object[] that a handle holds: pinned in 3.1,
    /// strong in 8.0) and an argument of both deadlocked threads' Transfer.Move.
    @Test(arguments: HangSampleTests.targets)
    func gcrootFindsTheStaticAndBothDeadlockedThreads(_ t: HangSample.Target) throws {
        let facts = try HangSample.facts(t)
        let (s, b) = try HangSample.session(t)
        let account = try HangSampleTests.account("account-A", s, b)
        let handlesOnly = ClrFixtures.run(s, b, "!gcroot -nostacks \(account)")
        let handleKind = t == .linux80 ? "strong handle" : "pinned handle"   // 3.1 pins its statics array, on Windows too
        #expect(handlesOnly.contains("HandleTable:\n") && handlesOnly.contains(" (\(handleKind))\n"), "\(handlesOnly)")
        #expect(handlesOnly.contains("System.Object[]\n          ->  \(account)     Samples.Hang.BankAccount\n"), "\(handlesOnly)")
        #expect(handlesOnly.hasSuffix("Found 1 unique roots.\n"), "\(handlesOnly)")
        let all = ClrFixtures.run(s, b, "!gcroot \(account)")
        for name in ["Deadlock-A", "Deadlock-B"] {
            let tid = try #require(facts["thread.\(name).os_tid_hex"])
            #expect(all.contains("Thread \(tid):\n    "), "\(name): \(all)")
        }
        #expect(all.contains("Samples.Hang.Transfer.Move("), "\(all)")
        // A finalizable resource is kept alive by the static array Program.Resources.
        let listed = ClrFixtures.run(s, b, "!dumpheap -type Samples.Hang.NativeResource -short").split(separator: "\n").map(String.init)
        let resource = try #require(listed.last(where: { $0.count == 16 }))   // the array comes first, then its elements
        let r = ClrFixtures.run(s, b, "!gcroot -nostacks \(resource)")
        #expect(r.contains("Samples.Hang.NativeResource[]\n          ->  \(resource)     Samples.Hang.NativeResource\n"), "\(r)")
        #expect(ClrFixtures.run(s, b, "!gcroot 10").contains("Warning: 10 is not a valid object"))
    }
}
