import DumpModel
import TestSupport
import Testing

/// `OverlapIndex` answers what a scan of every interval in order answers (`!address` labels regions with it).
@Suite("OverlapIndex")
struct OverlapIndexTests {
    static func scan(_ intervals: [(start: UInt64, end: UInt64, owner: Int)], _ base: UInt64, _ end: UInt64) -> Int? {
        intervals.first { $0.start < end && base < $0.end }?.owner
    }

    @Test func answersAsAScanInOrderWould() {
        var rng = SplitMix(state: 18)
        for round in 0..<200 {
            // Small coordinates so intervals overlap and nest; some wrap past 2^64 as damaged dumps' do.
            let intervals: [(start: UInt64, end: UInt64, owner: Int)] = (0..<Int.random(in: 0...40, using: &rng)).map { i in
                let start = UInt64.random(in: 0...200, using: &rng)
                let wraps = Int.random(in: 0..<20, using: &rng) == 0
                let end = wraps ? UInt64.random(in: 0...50, using: &rng) : start + UInt64.random(in: 0...60, using: &rng)
                return (wraps ? UInt64.max - start : start, end, i)
            }
            let index = OverlapIndex(intervals)
            for _ in 0..<50 {
                let base = UInt64.random(in: 0...260, using: &rng), end = base + UInt64.random(in: 0...40, using: &rng)
                #expect(index.firstOwner(overlapping: base, end) == Self.scan(intervals, base, end), "round \(round): [\(base), \(end))")
                // A point: the first interval holding it, as segment and mapped-file lookups ask.
                #expect(index.firstOwner(containing: base) == intervals.first { base >= $0.start && base < $0.end }?.owner)
            }
            #expect(index.firstOwner(containing: .max) == intervals.first { UInt64.max >= $0.start && UInt64.max < $0.end }?.owner)
            #expect(index.firstOwner(overlapping: 0, UInt64.max) == Self.scan(intervals, 0, UInt64.max))
        }
    }
}
