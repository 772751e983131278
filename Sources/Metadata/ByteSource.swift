#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#elseif canImport(Musl)
import Musl
#endif

/// A read-only, random-access view of bytes: a whole file, or an image mapped in a dump.
///
/// Why a protocol: the same PE/metadata parser must work over a file on disk (mmap), over a
/// copy in memory (tests, small files) and over the memory of a crash dump (implemented by
/// the dump layer, which may only have some of the pages). Returning a pointer keeps large
/// images (System.Private.CoreLib is ~10 MB) zero-copy.
public protocol ByteSource: Sendable {
    /// Total number of addressable bytes (offsets 0..<count).
    var count: Int { get }

    /// The bytes `offset..<offset+count`, or nil when any of them is unavailable.
    /// A source may also return nil for a range that exists but is not contiguous in its
    /// storage (two memory regions of a dump): the readers then retry in smaller pieces.
    /// The pointer stays valid as long as the source is alive; callers must not keep it longer.
    func bytes(at offset: Int, count: Int) -> UnsafeRawBufferPointer?
}

extension ByteSource {
    /// Bounds-checked range, throwing a descriptive error instead of returning nil.
    func checkedBytes(at offset: Int, count: Int, _ what: @autoclosure () -> String) throws(MetadataError) -> UnsafeRawBufferPointer {
        guard offset >= 0, count >= 0, let b = bytes(at: offset, count: count) else {
            throw MetadataError.outOfBounds(what(), offset: offset, count: count, size: self.count)
        }
        return b
    }

    public func readU8(at offset: Int) throws(MetadataError) -> UInt8 {
        try checkedBytes(at: offset, count: 1, "byte")[0]
    }

    public func readU16(at offset: Int) throws(MetadataError) -> UInt16 { try readInteger(at: offset) }
    public func readU32(at offset: Int) throws(MetadataError) -> UInt32 { try readInteger(at: offset) }
    public func readU64(at offset: Int) throws(MetadataError) -> UInt64 { try readInteger(at: offset) }

    /// A copy of a byte range (for the few places that need to own bytes: GUIDs, blobs).
    public func readBytes(at offset: Int, count: Int) throws(MetadataError) -> [UInt8] {
        if offset >= 0, count >= 0, let span = bytes(at: offset, count: count) { return Array(span) }
        guard offset >= 0, count >= 0, rangeIsInside(offset: offset, length: count, size: self.count) else {
            throw MetadataError.outOfBounds("byte range", offset: offset, count: count, size: self.count)
        }
        // The range exists but is not contiguous in this source (e.g. it spans two memory
        // regions of a dump): gather it byte by byte.
        var result: [UInt8] = []
        result.reserveCapacity(count)
        for i in 0..<count { result.append(try readU8(at: offset + i)) }
        return result
    }

    /// Little-endian integer; falls back to byte-wise reads when the span is not contiguous.
    private func readInteger<T: FixedWidthInteger>(at offset: Int) throws(MetadataError) -> T {
        let size = MemoryLayout<T>.size
        if offset >= 0, let span = bytes(at: offset, count: size) {
            return T(littleEndian: span.loadUnaligned(as: T.self))
        }
        guard offset >= 0, rangeIsInside(offset: offset, length: size, size: count) else {
            throw MetadataError.outOfBounds("\(size)-byte integer", offset: offset, count: size, size: count)
        }
        var value: T = 0
        for i in 0..<size { value |= T(try readU8(at: offset + i)) << (8 * i) }
        return value
    }
}

/// Shared bounds check: `offset..<offset+length` inside `0..<size`, without overflow.
func rangeIsInside(offset: Int, length: Int, size: Int) -> Bool {
    offset >= 0 && length >= 0 && offset <= size && length <= size - offset
}

/// Bytes held in memory. Copies the input once into storage it owns so that the pointers
/// handed out by `bytes(at:count:)` stay valid for the life of the object.
public final class ByteArraySource: ByteSource, @unchecked Sendable {
    // Immutable after init; only read through const pointers, hence @unchecked Sendable.
    private let storage: UnsafeMutableRawBufferPointer
    public let count: Int

    public init<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        count = bytes.count
        storage = .allocate(byteCount: Swift.max(count, 1), alignment: 16)
        // One copy for contiguous bytes (an Array, a buffer); the generic path goes byte by byte.
        let copied: Void? = bytes.withContiguousStorageIfAvailable { buffer in
            if let base = buffer.baseAddress, buffer.count > 0 { storage.copyMemory(from: UnsafeRawBufferPointer(start: base, count: buffer.count)) }
        }
        if copied == nil { _ = storage.initializeMemory(as: UInt8.self, from: bytes) }
    }

    deinit { storage.deallocate() }

    public func bytes(at offset: Int, count n: Int) -> UnsafeRawBufferPointer? {
        guard rangeIsInside(offset: offset, length: n, size: count) else { return nil }
        return UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(storage)[offset..<(offset + n)])
    }
}

/// A whole file mapped read-only. The platform calls are limited to open/fstat/mmap/munmap.
public final class MappedFileSource: ByteSource, @unchecked Sendable {
    // The mapping is PROT_READ and never changes until deinit, hence @unchecked Sendable.
    private let base: UnsafeRawPointer?
    public let count: Int
    public let path: String

    public init(path: String) throws(MetadataError) {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            throw MetadataError(.io, "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw MetadataError(.io, "cannot stat \(path): \(String(cString: strerror(errno)))")
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw MetadataError(.io, "\(path) is not a regular file")
        }
        let size = Int(st.st_size)
        count = size
        if size == 0 {
            base = nil // mmap of 0 bytes fails; an empty source is still a valid (useless) source
            return
        }
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            throw MetadataError(.io, "cannot map \(path): \(String(cString: strerror(errno)))")
        }
        base = UnsafeRawPointer(p)
    }

    deinit {
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), count) }
    }

    public func bytes(at offset: Int, count n: Int) -> UnsafeRawBufferPointer? {
        guard rangeIsInside(offset: offset, length: n, size: count) else { return nil }
        guard let base else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: base + offset, count: n)
    }
}

/// A window onto part of another source (e.g. the metadata blob inside a PE image),
/// so that offsets can be relative to the window and reads cannot escape it.
public struct ByteWindow: ByteSource {
    public let base: any ByteSource
    public let start: Int
    public let count: Int

    public init(_ base: any ByteSource, start: Int, count: Int) throws(MetadataError) {
        guard rangeIsInside(offset: start, length: count, size: base.count) else {
            throw MetadataError.outOfBounds("window", offset: start, count: count, size: base.count)
        }
        self.base = base
        self.start = start
        self.count = count
    }

    public func bytes(at offset: Int, count n: Int) -> UnsafeRawBufferPointer? {
        guard rangeIsInside(offset: offset, length: n, size: count) else { return nil }
        return base.bytes(at: start + offset, count: n)
    }
}
