/// A file mapped read-only. Every read is bounds-checked and returns nil past the end, so a damaged
/// dump can never make the reader touch memory outside the mapping.
public final class MappedFile: @unchecked Sendable {
    // @unchecked: the mapping is immutable after init and only ever read.
    public let path: String
    public let size: UInt64
    private let mapping: Platform.Mapping

    public init(path: String) throws(DumpError) {
        switch Platform.mapReadOnly(path: path) {
        case .success(let m):
            mapping = m
            size = UInt64(m.size)
            self.path = path
        case .failure(let reason):
            throw DumpError(path: path, problem: "cannot open: \(reason.reason)")
        }
    }

    deinit { Platform.unmap(mapping) }

    /// The bytes at [offset, offset+count) or nil when any of them lies outside the file.
    @inline(__always)
    public func bytes(at offset: UInt64, count: Int) -> UnsafeRawBufferPointer? {
        guard count >= 0, offset <= size, UInt64(count) <= size - offset else { return nil }
        guard let base = mapping.base else { return count == 0 ? UnsafeRawBufferPointer(start: nil, count: 0) : nil }
        return UnsafeRawBufferPointer(start: base + Int(offset), count: count)
    }

    @inline(__always)
    public func load<T: FixedWidthInteger>(_ type: T.Type, at offset: UInt64, bigEndian: Bool = false) -> T? {
        guard let b = bytes(at: offset, count: MemoryLayout<T>.size) else { return nil }
        let v = b.loadUnaligned(as: T.self)
        return bigEndian ? T(bigEndian: v) : T(littleEndian: v)
    }

    /// Says the bytes at [offset, offset+count) will not be read again soon: their pages leave the resident set
    /// (a later read maps them back). For walks that stream once over gigabytes of a dump.
    public func releasePages(at offset: UInt64, count: Int) {
        guard let b = bytes(at: offset, count: count), let base = b.baseAddress else { return }
        Platform.dropPages(base, count: count)
    }

    public func array(at offset: UInt64, count: Int) -> [UInt8]? {
        bytes(at: offset, count: count).map { Array($0) }
    }

    /// How many bytes from `offset` to the end of the file (0 past the end).
    public func available(from offset: UInt64) -> UInt64 { offset < size ? size - offset : 0 }
}

/// A bounds-checked little- or big-endian view of a slice of a mapped file: a stream, a note, a record.
public struct ByteView: Sendable {
    public let file: MappedFile
    public let offset: UInt64
    public let count: UInt64
    public let bigEndian: Bool

    public init(file: MappedFile, offset: UInt64, count: UInt64, bigEndian: Bool = false) {
        self.file = file
        self.offset = offset
        // A view never extends past the file, whatever a directory entry claimed.
        self.count = min(count, file.available(from: offset))
        self.bigEndian = bigEndian
    }

    public func u8(_ at: UInt64) -> UInt8? { at < count ? file.load(UInt8.self, at: offset + at) : nil }
    public func u16(_ at: UInt64) -> UInt16? { fits(at, 2) ? file.load(UInt16.self, at: offset + at, bigEndian: bigEndian) : nil }
    public func u32(_ at: UInt64) -> UInt32? { fits(at, 4) ? file.load(UInt32.self, at: offset + at, bigEndian: bigEndian) : nil }
    public func u64(_ at: UInt64) -> UInt64? { fits(at, 8) ? file.load(UInt64.self, at: offset + at, bigEndian: bigEndian) : nil }
    /// A pointer-sized word (4 or 8 bytes) widened to 64 bits.
    public func word(_ at: UInt64, size: Int) -> UInt64? { size == 8 ? u64(at) : u32(at).map(UInt64.init) }
    public func bytes(_ at: UInt64, _ n: Int) -> [UInt8]? { fits(at, UInt64(n)) ? file.array(at: offset + at, count: n) : nil }

    public func sub(_ at: UInt64, _ n: UInt64) -> ByteView? {
        guard at <= count else { return nil }
        return ByteView(file: file, offset: offset + at, count: min(n, count - at), bigEndian: bigEndian)
    }

    /// A NUL-terminated byte string starting at `at`, at most `limit` bytes.
    public func cString(_ at: UInt64, limit: Int = 4096) -> String? {
        guard at < count else { return nil }
        let n = Int(min(UInt64(limit), count - at))
        guard let b = file.bytes(at: offset + at, count: n) else { return nil }
        let end = b.firstIndex(of: 0) ?? n
        return String(decoding: b[0..<end], as: UTF8.self)
    }

    /// Bytes left in the view after `at` (0 when `at` is past its end).
    public func remaining(after at: UInt64) -> UInt64 { at < count ? count - at : 0 }

    @inline(__always) private func fits(_ at: UInt64, _ n: UInt64) -> Bool { at <= count && n <= count - at }
}
