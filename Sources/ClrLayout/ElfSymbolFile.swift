import DumpModel

/// An ELF64 little-endian shared object on disk: its `.symtab` (or `.dynsym`), build id and an embedded
/// `@(#)Version` string. Reads through the mapping with bounds checks; a damaged file gives empty answers.
public final class ElfSymbolFile: @unchecked Sendable {
    // @unchecked: immutable after init.
    public let path: String
    public let file: MappedFile
    /// name -> (value, size); the first definition of a name wins.
    public let symbols: [String: (value: UInt64, size: UInt64)]
    public let buildId: [UInt8]?

    public init(path: String) throws(ClrError) {
        self.path = path
        do { file = try MappedFile(path: path) } catch { throw ClrError("cannot open \(path): \(error.problem)") }
        let v = ByteView(file: file, offset: 0, count: file.size)
        guard v.bytes(0, 4) == [0x7F, 0x45, 0x4C, 0x46], v.u8(4) == 2, v.u8(5) == 1 else {
            throw ClrError("\(path) is not a 64-bit little-endian ELF file")
        }
        let shoff = v.u64(0x28) ?? 0
        let shentsize = UInt64(v.u16(0x3a) ?? 0), shnum = UInt64(v.u16(0x3c) ?? 0), shstrndx = UInt64(v.u16(0x3e) ?? 0)
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
        func secName(_ s: Sh) -> String {
            guard shstrndx < UInt64(shs.count) else { return "" }
            return v.cString(shs[Int(shstrndx)].offset + UInt64(s.name), limit: 256) ?? ""
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
        // Build id: the NT_GNU_BUILD_ID note in any SHT_NOTE section.
        var id: [UInt8]?
        for s in shs where s.type == 7 && id == nil {
            var o: UInt64 = 0
            let nv = ByteView(file: file, offset: s.offset, count: s.size)
            while o + 12 <= nv.count, id == nil {
                guard let nsz = nv.u32(o), let dsz = nv.u32(o + 4), let type = nv.u32(o + 8) else { break }
                let desc = o + 12 + ((UInt64(nsz) + 3) & ~3)
                if type == 3, nv.cString(o + 12, limit: 4) == "GNU" { id = nv.bytes(desc, Int(dsz)) }
                o = desc + ((UInt64(dsz) + 3) & ~3)
            }
            _ = secName(s)
        }
        buildId = id
    }

    /// The text after `@(#)Version ` up to the first space, searched in the file's bytes.
    public lazy var versionString: String? = {
        guard let all = file.bytes(at: 0, count: Int(file.size)) else { return nil }
        return ElfSymbolFile.findVersion(in: all)
    }()

    static let marker: [UInt8] = Array("@(#)Version ".utf8)

    static func findVersion(in bytes: UnsafeRawBufferPointer) -> String? {
        let m = marker
        guard bytes.count > m.count else { return nil }
        var i = 0
        let end = bytes.count - m.count
        while i < end {
            if bytes[i] == m[0] {
                var ok = true
                for k in 1..<m.count where bytes[i + k] != m[k] { ok = false; break }
                if ok {
                    var out: [UInt8] = []
                    var j = i + m.count
                    while j < bytes.count, out.count < 64, bytes[j] > 0x20, bytes[j] < 0x7F { out.append(bytes[j]); j += 1 }
                    return String(decoding: out, as: UTF8.self)
                }
            }
            i += 1
        }
        return nil
    }
}
