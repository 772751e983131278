@testable import Commands
import Foundation
import Testing

/// The DAC's precise stack references (ISOSDacInterface::GetStackReferences, what SOS's `!gcroot` walks), in
/// Expected/<dump>.dac-stackrefs.txt, made by the DAC oracle with Samples/oracle/dac-oracle-stack.patch.
/// dumpdbg's stack roots are conservative (every stack word that points at an object's start), so each reference
/// the DAC reports in stack memory must be among them: a root `!gcroot` never misses. References held in
/// registers, null slots and interior pointers are not stack words that point at objects, and are left out.
enum StackReferenceOracle {
    struct Reference: Hashable { let slot: UInt64, object: UInt64 }

    static func inMemory(_ file: String) throws -> Set<Reference> {
        let text = try String(contentsOf: ClrStackOracle.expected.appendingPathComponent(file), encoding: .utf8)
        var out = Set<Reference>()
        for line in text.split(separator: "\n") where line.hasPrefix("  ref ") {
            let w = line.split(separator: " ").map(String.init)
            func field(_ name: String) -> String? { w.firstIndex(of: name).map { w[$0 + 1] } }
            guard let slot = field("address").flatMap({ UInt64($0, radix: 16) }), let object = field("object").flatMap({ UInt64($0, radix: 16) }),
                  let flags = field("flags").flatMap({ UInt32($0) }) else { continue }
            if slot != 0, object != 0, flags & 1 == 0 { out.insert(Reference(slot: slot, object: object)) }
        }
        return out
    }

    /// `~* e !dso`: the conservative scan of every thread's stack.
    static func scanned(_ s: Session, _ b: Output.Buffer) -> Set<Reference> {
        var out = Set<Reference>()
        for line in ClrFixtures.run(s, b, "~* e !dso").split(separator: "\n") {
            let w = line.split(separator: " ")
            guard w.count >= 2, w[0].count == 16, let slot = UInt64(w[0], radix: 16), let object = UInt64(w[1], radix: 16) else { continue }
            out.insert(Reference(slot: slot, object: object))
        }
        return out
    }

    static func check(_ s: Session, _ b: Output.Buffer, _ file: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let precise = try inMemory(file)
        let conservative = scanned(s, b)
        #expect(precise.count >= 25, "the oracle file should hold the stack references of several threads", sourceLocation: sourceLocation)
        for r in precise.sorted(by: { $0.slot < $1.slot }) where !conservative.contains(r) {
            Issue.record("the DAC's stack reference \(Hex.pad(r.slot, 16)) -> \(Hex.pad(r.object, 16)) is not among the scanned roots",
                         sourceLocation: sourceLocation)
        }
    }
}

@Suite("Stack roots: every reference the DAC reports in stack memory is found")
struct StackReferenceTests {
    @Test(.enabled(if: ClrFixtures.seedAvailable && ClrFixtures.runtimeFolder != nil))
    func linux31() throws {
        let (s, b) = try ClrFixtures.seedSessionWithSos()
        try StackReferenceOracle.check(s, b, "linux-3.1.dac-stackrefs.txt")
    }

    @Test(.enabled(if: Net8.available))
    func linux80() throws {
        let (s, b) = try Net8.session()
        try StackReferenceOracle.check(s, b, "linux-8.0.dac-stackrefs.txt")
    }
}
