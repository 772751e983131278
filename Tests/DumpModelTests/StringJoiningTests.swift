import DumpModel
import Testing
import TestSupport

/// DumpModel's concrete `[String].joined(separator:)` must give what the standard library's generic one gives.
struct StringJoiningTests {
    @Test func agreesWithTheStandardLibrary() {
        let words = ["", "a", "lm", "é", "日本", ";", "x y"]
        var rng = SplitMix(state: 0x501)
        for _ in 0..<2_000 {
            let parts = (0..<Int.random(in: 0...6, using: &rng)).map { _ in words.randomElement(using: &rng)! }
            let separator = words.randomElement(using: &rng)!
            // The generic one, reached through a Sequence that is not an Array.
            let expected = AnySequence(parts).joined(separator: separator)
            #expect(parts.joined(separator: separator) == expected, "\(parts) \(separator)")
            #expect(parts.joined() == AnySequence(parts).joined(), "\(parts)")
        }
    }
}

