import DumpModel
import Foundation
import Synchronization

/// What makes an image file the one a dump's module was loaded from, beyond its name: the ELF build id,
/// or the PE header's timestamp and image size (what a symbol server keys PE files by).
public enum ImageIdentity: Sendable, Equatable, CustomStringConvertible {
    case elfBuildId([UInt8])
    case pe(timeDateStamp: UInt32, sizeOfImage: UInt32)

    public var description: String {
        switch self {
        case .elfBuildId(let id): return "build id " + id.lowercaseHex
        case .pe(let stamp, let size): return "PE timestamp 0x\(String(stamp, radix: 16)), size 0x\(String(size, radix: 16))"
        }
    }

    /// The identity of an image file of the same kind as `like` (nil when the file says nothing).
    public static func of(file: MappedFile, like: ImageIdentity) -> ImageIdentity? {
        switch like {
        case .elfBuildId: return elfBuildId(of: file).map { .elfBuildId($0) }
        case .pe: return peIdentity(of: ByteView(file: file, offset: 0, count: file.size))
        }
    }

    /// The NT_GNU_BUILD_ID note of an ELF file, from its section headers, else its program headers.
    public static func elfBuildId(of file: MappedFile) -> [UInt8]? {
        let v = ByteView(file: file, offset: 0, count: file.size)
        guard v.bytes(0, 4) == [0x7F, 0x45, 0x4C, 0x46], v.u8(5) == 1 else { return nil }
        let is64 = v.u8(4) == 2
        var notes: [(UInt64, UInt64)] = []
        let shoff = is64 ? v.u64(0x28) : v.u32(0x20).map(UInt64.init)
        let shentsize = UInt64(v.u16(is64 ? 0x3a : 0x2e) ?? 0), shnum = UInt64(v.u16(is64 ? 0x3c : 0x30) ?? 0)
        if let shoff, shentsize >= (is64 ? 64 : 40), shnum < 4096 {
            for i in 0..<shnum {
                let o = shoff &+ i &* shentsize
                guard let type = v.u32(o + 4) else { break }
                guard type == 7 else { continue }  // SHT_NOTE
                let off = is64 ? v.u64(o + 0x18) : v.u32(o + 0x10).map(UInt64.init)
                let size = is64 ? v.u64(o + 0x20) : v.u32(o + 0x14).map(UInt64.init)
                if let off, let size { notes.append((off, size)) }
            }
        }
        if notes.isEmpty {
            let r = v.elfReaders(is64: is64)
            if let table = ElfProgramHeader.table(is64: is64, u16: r.u16, word: r.word), table.count < 4096 {
                for ph in ElfProgramHeader.all(is64: is64, table: table, limit: 4096, u32: r.u32, word: r.word) where ph.type == ElfProgramHeader.note {
                    notes.append((ph.offset, ph.fileSize))
                }
            }
        }
        for (off, size) in notes {
            let nv = ByteView(file: file, offset: off, count: size)
            var o: UInt64 = 0
            while o + 12 <= nv.count {
                guard let nsz = nv.u32(o), let dsz = nv.u32(o + 4), let type = nv.u32(o + 8) else { break }
                let desc = o + 12 + ((UInt64(nsz) + 3) & ~3)
                if type == 3, nv.cString(o + 12, limit: 4) == "GNU", dsz <= 64 { return nv.bytes(desc, Int(dsz)) }
                let next = desc &+ ((UInt64(dsz) + 3) & ~3)
                guard next > o else { break }
                o = next
            }
        }
        return nil
    }

    /// The PE header's TimeDateStamp and SizeOfImage, from a file's bytes or an image in memory.
    public static func peIdentity(of v: ByteView) -> ImageIdentity? {
        peIdentity(u16: v.u16, u32: v.u32)
    }

    /// The PE identity of an image as it lies in the target's memory at `base`.
    public static func peIdentity(memory: AddressSpace, base: UInt64) -> ImageIdentity? {
        peIdentity(u16: { memory.readU16(base &+ $0) }, u32: { memory.readU32(base &+ $0) })
    }

    /// Where a PE image's NT headers ("PE\0\0") start, read through `u16`/`u32` at offsets from the image's
    /// first byte; nil when it is not a PE image.
    static func ntHeadersOffset(u16: (UInt64) -> UInt16?, u32: (UInt64) -> UInt32?) -> UInt64? {
        guard u16(0) == 0x5A4D, let lfanew = u32(0x3c), lfanew < 0x1000, u32(UInt64(lfanew)) == 0x4550 else { return nil }
        return UInt64(lfanew)
    }

    private static func peIdentity(u16: (UInt64) -> UInt16?, u32: (UInt64) -> UInt32?) -> ImageIdentity? {
        guard let nt = ntHeadersOffset(u16: u16, u32: u32), let stamp = u32(nt + 8), let size = u32(nt + 24 + 56) else { return nil }
        return .pe(timeDateStamp: stamp, sizeOfImage: size)
    }
}

/// Where a module's file was looked for, and what was found.
public enum ImageSearch: Sendable {
    /// `verified` is true when the file's identity matched the dump's; false when the dump records none.
    case found(path: String, verified: Bool)
    /// Files of that name exist, but none is the one the dump used.
    case mismatched(name: String, wanted: ImageIdentity, found: [(path: String, identity: ImageIdentity?)])
    case notFound(name: String)

    public var path: String? {
        if case .found(let p, _) = self { return p }
        return nil
    }
}

/// Finds the files a dump's modules were loaded from in the image-path folders: by file name (the paths
/// the dump recorded belong to the machine that wrote it), then by identity, so that of two files with
/// the same name, the one the dump used is taken, and a wrong one is refused rather than read.
public struct ImageLocator: Sendable {
    public let folders: [String]

    public init(folders: [String]) {
        var unique: [String] = []
        for f in folders where !f.isEmpty && !unique.contains(f) { unique.append(f) }
        self.folders = unique
    }

    /// Files called `name`, in search order: exact matches folder by folder, then case-insensitive ones.
    public func candidates(named name: String) -> [String] {
        let fm = FileManager.default
        var out: [String] = []
        for dir in folders {
            let p = (dir as NSString).appendingPathComponent(name)
            var isDir: ObjCBool = false
            if fm.fileExists(atPath: p, isDirectory: &isDir), !isDir.boolValue { out.append(p) }
        }
        let key = name.lowercased()
        for dir in folders {
            for hit in FolderListingCache.shared.names(in: dir)?[key] ?? [] where hit != name {
                out.append((dir as NSString).appendingPathComponent(hit))
            }
        }
        return out
    }

    /// The file for a module called `name` whose identity is `identity` (nil: the dump records none, so
    /// the first file by name is taken, unverified).
    public func find(named name: String, identity: ImageIdentity?) -> ImageSearch {
        let all = candidates(named: name)
        guard let first = all.first else { return .notFound(name: name) }
        guard let identity else { return .found(path: first, verified: false) }
        var seen: [(path: String, identity: ImageIdentity?)] = []
        for p in all {
            let id = (try? MappedFile(path: p)).flatMap { ImageIdentity.of(file: $0, like: identity) }
            if id == identity { return .found(path: p, verified: true) }
            seen.append((p, id))
        }
        return .mismatched(name: name, wanted: identity, found: seen)
    }
}

/// Each folder's entries by their lowercase names, listed once per process while the folder is unchanged: a session
/// looks dozens of modules up along the image path, and a runtime folder holds hundreds of files. A folder's
/// modification and change times move whenever an entry is added, removed or renamed, so a changed folder is listed
/// anew (the change time also catches a modification time set back by `touch -r` or `cp -p`). A folder modified in
/// the last two seconds is listed every time and not kept: its times have the kernel's coarse clock (milliseconds),
/// so a second change in the same tick would leave the same times (git's "racy" entries). A file server whose clock
/// runs two seconds or more behind this machine's defeats that guard.
final class FolderListingCache: Sendable {
    static let shared = FolderListingCache()
    static let capacity = 256

    private let entries = Mutex<[String: (stamp: ImageFileCache.Stamp, names: [String: [String]])]>([:])
    /// Folders listed so far (what the cache saves shows as listings not made).
    private let listings = Atomic<Int>(0)
    var listingCount: Int { listings.load(ordering: .relaxed) }

    /// Nil when the folder cannot be listed.
    func names(in folder: String) -> [String: [String]]? {
        let stamp = ImageFileCache.Stamp(path: folder)
        if let stamp, let hit = entries.withLock({ $0[folder] }), hit.stamp == stamp { return hit.names }
        guard let items = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return nil }
        listings.add(1, ordering: .relaxed)
        var names: [String: [String]] = [:]
        for item in items { names[item.lowercased(), default: []].append(item) }
        if let stamp, stamp.modified < Date().timeIntervalSince1970 - 2 {
            entries.withLock { table in
                if table.count >= Self.capacity { table.removeAll(keepingCapacity: true) }
                table[folder] = (stamp, names)
            }
        }
        return names
    }
}
