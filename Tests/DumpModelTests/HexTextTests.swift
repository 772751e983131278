import DumpModel
import Foundation
import Testing
import TestSupport

/// `lowercaseHex` and `uppercaseHex` give what `String(format:)` per byte gives.
struct HexTextTests {
    @Test func agreesWithFormat() {
        var rng = SplitMix(state: 0x4E7)
        for _ in 0..<500 {
            let bytes = (0..<Int(rng.next() % 41)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            #expect(bytes.lowercaseHex == bytes.map { String(format: "%02x", $0) }.joined())
            #expect(bytes.uppercaseHex == bytes.map { String(format: "%02X", $0) }.joined())
        }
    }
}
