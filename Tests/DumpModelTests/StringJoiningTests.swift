import DumpModel
import Foundation
import Testing

/// DumpModel's concrete `[String].joined(separator:)` must give what the standard library's generic one gives.
struct StringJoiningTests {
    @Test func agreesWithTheStandardLibrary() {
        let words = ["", "a", "lm", "é", "日本", ";", "x y"]
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            let parts = (0..<Int.random(in: 0...6, using: &rng)).map { _ in words.randomElement(using: &rng)! }
            let separator = words.randomElement(using: &rng)!
            // The generic one, reached through a Sequence that is not an Array.
            let expected = AnySequence(parts).joined(separator: separator)
            #expect(parts.joined(separator: separator) == expected, "\(parts) \(separator)")
        }
    }
}

/// `lowercaseHex` gives what `String(format: "%02x")` per byte gives.
struct HexTextTests {
    @Test func agreesWithFormat() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            let bytes = (0..<Int.random(in: 0...40, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            #expect(bytes.lowercaseHex == bytes.map { String(format: "%02x", $0) }.joined())
        }
    }
}
