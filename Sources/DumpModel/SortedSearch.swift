/// Searches over tables sorted by a start address: symbol tables, line tables, RUNTIME_FUNCTION arrays.
public enum SortedSearch {
    /// The last index whose key is at or below `address` (nil when every key is above it); `key` must not
    /// decrease with the index.
    @inlinable
    public static func lastIndex(_ count: Int, atOrBelow address: UInt64, _ key: (Int) -> UInt64) -> Int? {
        var lo = 0, hi = count
        while lo < hi {
            let mid = (lo + hi) / 2
            if key(mid) <= address { lo = mid + 1 } else { hi = mid }
        }
        return lo > 0 ? lo - 1 : nil
    }

    /// The RUNTIME_FUNCTION (BeginAddress, EndAddress, UnwindInfoAddress: three u32s at the start of each
    /// `entrySize`-byte entry, sorted by BeginAddress) whose [begin, end) holds `rva`; `u32` reads at an offset
    /// into the table. A table that cannot be read where the search looks gives nil.
    public static func runtimeFunction(containing rva: UInt32, count: Int, entrySize: UInt64,
                                       u32: (UInt64) -> UInt32?) -> (begin: UInt32, end: UInt32, unwind: UInt32)? {
        var unreadable = false
        let found = lastIndex(count, atOrBelow: UInt64(rva)) { i in
            guard let begin = u32(UInt64(i) &* entrySize) else { unreadable = true; return UInt64.max }
            return UInt64(begin)
        }
        guard !unreadable, let i = found else { return nil }
        let o = UInt64(i) &* entrySize
        guard let begin = u32(o), let end = u32(o &+ 4), let unwind = u32(o &+ 8), rva < end else { return nil }
        return (begin, end, unwind)
    }
}

/// Which of many [start, end) intervals overlap a range, without testing all of them for every range: kept sorted by
/// start with the furthest end reached so far, a query walks back from the last interval that starts below the
/// range's end only while an earlier interval could still reach into the range. Each interval has an owner (its
/// position in the caller's list); a query answers the first owner, as a scan in the caller's order would. An
/// interval whose end wrapped past 2^64 (`start &+ size` in a damaged dump) keeps the caller's test,
/// `start < rangeEnd && rangeStart < end`, and is tried one by one.
public struct OverlapIndex: Sendable {
    private let starts: [UInt64], ends: [UInt64], owners: [Int], reach: [UInt64]
    private let wrapped: [(start: UInt64, end: UInt64, owner: Int)]

    public init(_ intervals: [(start: UInt64, end: UInt64, owner: Int)]) {
        let ordered = intervals.filter { $0.end >= $0.start }.sorted { ($0.start, $0.owner) < ($1.start, $1.owner) }
        starts = ordered.map(\.start)
        ends = ordered.map(\.end)
        owners = ordered.map(\.owner)
        var furthest: UInt64 = 0
        reach = ordered.map { furthest = max(furthest, $0.end); return furthest }
        wrapped = intervals.filter { $0.end < $0.start }
    }

    /// The first owner (smallest) of an interval holding `address` (`start <= address < end`).
    public func firstOwner(containing address: UInt64) -> Int? {
        address < .max ? firstOwner(overlapping: address, address + 1) : nil
    }

    /// The first owner (smallest) of an interval with `start < end` and `base < its end`.
    public func firstOwner(overlapping base: UInt64, _ end: UInt64) -> Int? {
        var best: Int?
        if end > 0, var j = SortedSearch.lastIndex(starts.count, atOrBelow: end - 1, { starts[$0] }) {
            while reach[j] > base {
                if ends[j] > base, best.map({ owners[j] < $0 }) ?? true { best = owners[j] }
                if j == 0 { break }
                j -= 1
            }
        }
        for w in wrapped where w.start < end && base < w.end && best.map({ w.owner < $0 }) ?? true { best = w.owner }
        return best
    }
}
