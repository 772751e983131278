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
