@testable import Commands
import Testing

/// `k`'s names: each head (k, kb, kv, kp, kP, kc) with n, f and L in any order, each at most once.
@Suite struct StackOptionNamesTests {
    @Test func everyOrderOfTheOptionLettersIsAName() {
        let names = StackOptions.names
        #expect(Set(names).count == names.count && names.count == 6 * 16)
        let letters: [Character] = ["n", "f", "L"]
        for head in ["k", "kb", "kv", "kp", "kP", "kc"] {
            for mask in 0..<8 {
                let chosen = letters.indices.filter { mask & (1 << $0) != 0 }.map { letters[$0] }
                for order in Self.orders(chosen) { #expect(names.contains(head + String(order)), "\(head + String(order))") }
            }
        }
        #expect(CommandRegistry.standard().allNames.contains("kPLfn"))
    }

    static func orders(_ a: [Character]) -> [[Character]] {
        guard a.count > 1 else { return [a] }
        return a.indices.flatMap { i in
            var rest = a
            let x = rest.remove(at: i)
            return orders(rest).map { [x] + $0 }
        }
    }
}
