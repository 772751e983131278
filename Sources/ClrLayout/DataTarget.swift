import DumpModel
import Foundation
import Metadata
import Native

/// A failure of the CLR layer, printed as one line.
public struct ClrError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The dump plus where to find the files it names (the image path), found by name and identity through
/// Native's `ImageLocator`.
public final class DataTarget: @unchecked Sendable {
    // @unchecked: used from one session thread; the file cache is only touched there.
    public let dump: any Dump
    public let locator: ImageLocator
    private var fileCache: [String: MappedFile?] = [:]

    public init(dump: any Dump, imagePath: [String]) {
        self.dump = dump
        memory = dump.memory
        core = dump as? ElfCore
        // The dump's own folder last (for a decompressed dump this is the cache; callers add the original).
        let own = URL(fileURLWithPath: dump.path).deletingLastPathComponent().path
        locator = ImageLocator(folders: imagePath + [own])
    }

    public var imagePath: [String] { locator.folders }
    /// The dump's memory, fixed once the dump is open; kept here because every read of the CLR layer starts with it,
    /// and through `any Dump` each use was a witness call and a copy of the space.
    public let memory: AddressSpace
    /// The dump as a core, for pages it left out of its segments but names in NT_FILE; nil for a minidump.
    private let core: ElfCore?

    static func baseName(_ path: String) -> String {
        path.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last.map(String.init) ?? path
    }

    // MARK: Reading target memory, falling back to file-backed mappings

    /// The file behind a mapping the core names; by build id when the dump recorded the module's.
    private func mappedFile(for recordedPath: String) -> MappedFile? {
        if let hit = fileCache[recordedPath] { return hit }
        let identity = dump.modules.first { $0.path == recordedPath }?.buildId.map { ImageIdentity.elfBuildId($0) }
        let f = locator.find(named: Self.baseName(recordedPath), identity: identity).path.flatMap { try? MappedFile(path: $0) }
        fileCache[recordedPath] = f
        return f
    }

    /// Bytes at `address`: from the dump, else from the file an NT_FILE mapping names (pages a type-2 core
    /// left out). Nil when neither has them.
    public func read(_ address: UInt64, count: Int) -> [UInt8]? {
        memory.readExact(address, count: count) ?? fileBacked(address, count: count)
    }

    /// Bytes the dump's memory does not hold, from the file an NT_FILE mapping names. The integer reads below come
    /// here once the dump's memory has said no (it already tried reads that span its ranges), without asking it again.
    private func fileBacked(_ address: UInt64, count: Int) -> [UInt8]? {
        guard let core, let m = core.mappedFile(holding: address, count: count), let f = mappedFile(for: m.path) else { return nil }
        return f.array(at: m.fileOffset &+ (address - m.start), count: count)
    }

    @inline(__always)
    public func u64(_ a: UInt64) -> UInt64? {
        if let v = memory.readU64(a) { return v }
        return fileBacked(a, count: 8).map { $0.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) } }
    }
    @inline(__always)
    public func u32(_ a: UInt64) -> UInt32? {
        if let v = memory.readU32(a) { return v }
        return fileBacked(a, count: 4).map { $0.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self)) } }
    }
    public func u16(_ a: UInt64) -> UInt16? {
        if let v = memory.readU16(a) { return v }
        return fileBacked(a, count: 2).map { UInt16($0[0]) | UInt16($0[1]) << 8 }
    }
    public func u8(_ a: UInt64) -> UInt8? { memory.readU8(a) ?? fileBacked(a, count: 1)?.first }
}

/// An image as it lies in the dump's memory, as a byte source for the metadata reader: zero-copy where the
/// dump holds the bytes in one piece; the reader falls back to smaller reads across range boundaries.
struct DumpImageSource: ByteSource {
    let memory: AddressSpace
    let base: UInt64
    let count: Int

    func bytes(at offset: Int, count n: Int) -> UnsafeRawBufferPointer? {
        guard offset >= 0, n >= 0, offset <= count, n <= count - offset else { return nil }
        return memory.contiguousBytes(base &+ UInt64(offset), count: n)
    }
}
