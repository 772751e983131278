import DumpModel
import Foundation
import Synchronization

/// A file found on the image path that cannot be read as the image it should be; one line.
public struct ImageFileError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// An ELF64 little-endian shared object on disk: its `.symtab` (or `.dynsym`), build id and an embedded
/// `@(#)Version` string. Reads through the mapping with bounds checks; a damaged file gives empty answers.
public final class ElfSymbolFile: @unchecked Sendable {
    // @unchecked: immutable after init but for the version string, found once under its lock.
    public let path: String
    public let file: MappedFile
    /// name -> (value, size); the first definition of a name wins.
    public let symbols: [String: (value: UInt64, size: UInt64)]
    public let buildId: [UInt8]?

    public init(path: String) throws(ImageFileError) {
        self.path = path
        do { file = try MappedFile(path: path) } catch { throw ImageFileError("cannot open \(path): \(error.problem)") }
        let v = ByteView(file: file, offset: 0, count: file.size)
        guard v.bytes(0, 4) == [0x7F, 0x45, 0x4C, 0x46], v.u8(4) == 2, v.u8(5) == 1 else {
            throw ImageFileError("\(path) is not a 64-bit little-endian ELF file")
        }
        let shoff = v.u64(0x28) ?? 0
        let shentsize = UInt64(v.u16(0x3a) ?? 0), shnum = UInt64(v.u16(0x3c) ?? 0)
        struct Sh { var name: UInt32; var type: UInt32; var offset: UInt64; var size: UInt64; var link: UInt32 }
        var shs: [Sh] = []
        if shentsize >= 64, shnum < 4096 {
            for i in 0..<shnum {
                let o = shoff + i * shentsize
                guard let n = v.u32(o), let t = v.u32(o + 4), let off = v.u64(o + 0x18), let sz = v.u64(o + 0x20),
                      let l = v.u32(o + 0x28) else { break }
                shs.append(Sh(name: n, type: t, offset: off, size: sz, link: l))
            }
        }
        var syms: [String: (value: UInt64, size: UInt64)] = [:]
        for want in [2 as UInt32, 11] {  // SHT_SYMTAB, then SHT_DYNSYM
            for s in shs where s.type == want && Int(s.link) < shs.count {
                let strtab = shs[Int(s.link)]
                let strView = ByteView(file: file, offset: strtab.offset, count: strtab.size)
                let count = min(s.size / 24, 2_000_000)
                for i in 0..<count {
                    let o = s.offset + i * 24
                    guard let nameOff = v.u32(o), let value = v.u64(o + 8), let size = v.u64(o + 16) else { break }
                    if nameOff == 0 || value == 0 { continue }
                    guard let name = strView.cString(UInt64(nameOff), limit: 1024), !name.isEmpty else { continue }
                    if syms[name] == nil { syms[name] = (value, size) }
                }
            }
            if !syms.isEmpty { break }
        }
        symbols = syms
        buildId = ImageIdentity.elfBuildId(of: file)
    }

    /// The file at `path`, read once per process (`ImageFileCache`): every dump of one runtime shares its symbols.
    public static func shared(path: String) throws(ImageFileError) -> ElfSymbolFile {
        let read = { Result { () throws(ImageFileError) in try ElfSymbolFile(path: path) } }
        return try (ImageFileCache.shared.value("elf-symbols", paths: [path], make: read) ?? read()).get()
    }

    private let version = Mutex<String??>(nil)

    /// The text after `@(#)Version ` up to the first space, searched in the file's bytes (once).
    public var versionString: String? {
        version.withLock { found in
            if let found { return found }
            let v = file.bytes(at: 0, count: Int(file.size)).flatMap { ElfSymbolFile.findVersion(in: $0) }
            found = .some(v)
            return v
        }
    }

    static let marker: [UInt8] = Array("@(#)Version ".utf8)

    public static func findVersion(in bytes: UnsafeRawBufferPointer) -> String? {
        let m = marker
        guard let base = bytes.baseAddress, bytes.count > m.count else { return nil }
        let end = bytes.count - m.count
        var i = 0
        // memchr skips to each '@': the runtime image is tens of MB, and this runs on every `.loadby`.
        while i < end, let hit = memchr(base + i, Int32(m[0]), end - i) {
            i = base.distance(to: UnsafeRawPointer(hit))
            if memcmp(base + i, m, m.count) == 0 {
                var out: [UInt8] = []
                var j = i + m.count
                while j < bytes.count, out.count < 64, bytes[j] > 0x20, bytes[j] < 0x7F { out.append(bytes[j]); j += 1 }
                return String(decoding: out, as: UTF8.self)
            }
            i += 1
        }
        return nil
    }
}
