/// One view of the target's memory over whatever ranges the dump captured, the same for every format.
/// Ranges are sorted and made disjoint once; a read is a binary search, then copies or borrows the bytes.
public struct AddressSpace: Sendable {
    public struct Range: Sendable, Equatable {
        public let start: UInt64
        /// The size of the range in the target.
        public let size: UInt64
        /// Where its bytes begin in the file.
        public let fileOffset: UInt64
        /// How many of its bytes the file holds (less than `size` when the dump is truncated or a
        /// segment was not written); the rest reads as missing.
        public let present: UInt64

        public var end: UInt64 { start &+ size }
    }

    public let file: MappedFile?
    public let ranges: [Range]
    public let pointerSize: Int
    public let bigEndian: Bool

    /// Builds the space from possibly overlapping ranges: the first range given for an address wins.
    public init(file: MappedFile?, ranges raw: [Range], pointerSize: Int, bigEndian: Bool = false) {
        self.file = file
        self.pointerSize = pointerSize
        self.bigEndian = bigEndian
        let indexed = raw.enumerated().filter { $0.element.size > 0 }
            .sorted { ($0.element.start, $0.offset) < ($1.element.start, $1.offset) }
        var out: [Range] = []
        out.reserveCapacity(indexed.count)
        for (_, r) in indexed {
            var start = r.start, size = r.size, off = r.fileOffset, present = min(r.present, r.size)
            if let last = out.last, start < last.end {
                // Clip the overlap away; if nothing is left, drop the range.
                let cut = last.end - start
                if cut >= size { continue }
                start += cut
                size -= cut
                // A damaged list can put a range's bytes near the top of the file offsets: then none are there.
                let (moved, overflow) = off.addingReportingOverflow(cut)
                off = overflow ? 0 : moved
                present = overflow ? 0 : (present > cut ? present - cut : 0)
            }
            out.append(Range(start: start, size: size, fileOffset: off, present: present))
        }
        ranges = out
    }

    /// The index of the range that holds `address`, if any.
    public func rangeIndex(containing address: UInt64) -> Int? {
        guard let i = SortedSearch.lastIndex(ranges.count, atOrBelow: address, { ranges[$0].start }), address < ranges[i].end else { return nil }
        return i
    }

    /// True when the byte at `address` is in the dump.
    public func isReadable(_ address: UInt64) -> Bool {
        guard let i = rangeIndex(containing: address) else { return false }
        return address - ranges[i].start < ranges[i].present
    }

    /// Borrows the bytes at [address, address+count) straight from the mapping when they are all present
    /// and lie in one range; the fast path for walking a heap without copying it.
    @inline(__always)
    public func contiguousBytes(_ address: UInt64, count: Int) -> UnsafeRawBufferPointer? {
        guard count >= 0, let i = rangeIndex(containing: address) else { return nil }
        return borrowed(range: i, address, count: count)
    }

    /// `contiguousBytes` once the range that holds `address` is known.
    @inline(__always)
    private func borrowed(range i: Int, _ address: UInt64, count: Int) -> UnsafeRawBufferPointer? {
        guard let file else { return nil }
        let r = ranges[i]
        let rel = address - r.start
        guard rel <= r.present, UInt64(count) <= r.present - rel else { return nil }
        return file.bytes(at: r.fileOffset + rel, count: count)
    }

    /// Releases the resident pages behind [address, address+count) when they lie in one range of the file (see
    /// `MappedFile.releasePages`); nothing otherwise.
    public func releasePages(_ address: UInt64, count: Int) {
        guard let file, count > 0, let i = rangeIndex(containing: address) else { return }
        let r = ranges[i]
        let rel = address - r.start
        guard rel <= r.present, UInt64(count) <= r.present - rel else { return }
        file.releasePages(at: r.fileOffset + rel, count: count)
    }

    /// Reads `count` bytes; each is nil where the dump lacks it (printed as `??` by the commands).
    public func read(_ address: UInt64, count: Int) -> [UInt8?] {
        var out = [UInt8?](repeating: nil, count: max(0, count))
        guard count > 0, let file else { return out }
        var done = 0
        while done < count {
            let va = address &+ UInt64(done)
            if va < address { break }  // wrapped past the top of the address space
            if let i = rangeIndex(containing: va) {
                let r = ranges[i]
                let rel = va - r.start
                let inRange = Int(min(UInt64(count - done), r.size - rel))
                if rel < r.present {
                    let n = Int(min(UInt64(inRange), r.present - rel))
                    if let b = file.bytes(at: r.fileOffset + rel, count: n) {
                        for k in 0..<n { out[done + k] = b[k] }
                    }
                }
                done += inRange
            } else {
                // Skip to the next range start (or the end of the request). At least one byte: at the top of
                // the address space there is no "next" and the gap would be 0.
                let next = nextRangeStart(after: va) ?? UInt64.max
                let gap = max(next &- va, 1)
                done += Int(min(UInt64(count - done), gap))
            }
        }
        return out
    }

    /// Reads `count` bytes, or nil if any is missing.
    public func readExact(_ address: UInt64, count: Int) -> [UInt8]? {
        guard count > 0 else { return [] }
        // One search for the first byte serves both the borrowed path and the piecewise one. Readers that follow
        // damaged pointers mostly ask for memory that is not there: that answer costs this one search, no copy.
        guard let i = rangeIndex(containing: address) else { return nil }
        if let b = borrowed(range: i, address, count: count) { return Array(b) }
        return readAcrossRanges(address, count: count, from: i)
    }

    /// Across ranges, a piece at a time from range `first` (the one holding `address`), giving up at the first byte
    /// the dump lacks.
    private func readAcrossRanges(_ address: UInt64, count: Int, from first: Int) -> [UInt8]? {
        guard let file else { return nil }
        var out: [UInt8] = []
        var va = address
        while out.count < count {
            guard let i = out.isEmpty ? first : rangeIndex(containing: va) else { return nil }
            let r = ranges[i]
            let rel = va - r.start
            guard rel < r.present else { return nil }
            let n = Int(min(UInt64(count - out.count), r.present - rel))
            guard let b = file.bytes(at: r.fileOffset + rel, count: n) else { return nil }
            if out.isEmpty { out.reserveCapacity(count) }
            out.append(contentsOf: b)
            // No wrap past the top: a range reaching 2^64 has an end of 0 and holds no address.
            va &+= UInt64(n)
        }
        return out
    }

    public func readInteger<T: FixedWidthInteger>(_ type: T.Type, at address: UInt64) -> T? {
        let n = MemoryLayout<T>.size
        guard let i = rangeIndex(containing: address) else { return nil }
        if let b = borrowed(range: i, address, count: n) {
            let v = b.loadUnaligned(as: T.self)
            return bigEndian ? T(bigEndian: v) : T(littleEndian: v)
        }
        guard let bytes = readAcrossRanges(address, count: n, from: i) else { return nil }
        let v = bytes.withUnsafeBytes { $0.loadUnaligned(as: T.self) }
        return bigEndian ? T(bigEndian: v) : T(littleEndian: v)
    }

    public func readU8(_ a: UInt64) -> UInt8? { readInteger(UInt8.self, at: a) }
    public func readU16(_ a: UInt64) -> UInt16? { readInteger(UInt16.self, at: a) }
    public func readU32(_ a: UInt64) -> UInt32? { readInteger(UInt32.self, at: a) }
    public func readU64(_ a: UInt64) -> UInt64? { readInteger(UInt64.self, at: a) }
    public func readPointer(_ a: UInt64) -> UInt64? {
        pointerSize == 8 ? readU64(a) : readU32(a).map(UInt64.init)
    }

    /// A NUL-terminated string of 1-byte characters, at most `limit` bytes; nil if the first byte is missing.
    public func readCString(_ address: UInt64, limit: Int = 1024) -> String? {
        var bytes: [UInt8] = []
        var a = address
        while bytes.count < limit, let b = readU8(a), b != 0 {
            bytes.append(b)
            a &+= 1
        }
        if bytes.isEmpty && !isReadable(address) { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The first address at or after `address` whose byte the dump holds; nil when there is none.
    public func nextPresentAddress(from address: UInt64) -> UInt64? {
        var j: Int
        if let i = rangeIndex(containing: address) {
            if address - ranges[i].start < ranges[i].present { return address }
            j = i + 1
        } else {
            j = (SortedSearch.lastIndex(ranges.count, atOrBelow: address) { ranges[$0].start } ?? -1) + 1
        }
        while j < ranges.count {
            if ranges[j].present > 0 { return ranges[j].start }
            j += 1
        }
        return nil
    }

    public func nextRangeStart(after address: UInt64) -> UInt64? {
        let next = (SortedSearch.lastIndex(ranges.count, atOrBelow: address) { ranges[$0].start } ?? -1) + 1
        return next < ranges.count ? ranges[next].start : nil
    }

    /// Total bytes the dump holds for the target.
    public var presentBytes: UInt64 { ranges.reduce(0) { $0 &+ $1.present } }
}
