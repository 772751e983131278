import DumpModel

/// A PE image as the dump's memory holds it at its base (loaded layout: offset == RVA): its data directories,
/// its export names as function symbols, and its exception directory (.pdata) for x64 unwinding. Where the dump
/// lacks pages (a minidump without module memory holds none), they are read from the image file matched to the
/// module, when there is one. Every read is bounded; an image whose headers are nowhere gives nil.
public struct PEImageInMemory: Sendable {
    public let memory: AddressSpace
    public let base: UInt64
    public let is64: Bool
    public let sizeOfImage: UInt32
    /// The optional header's AddressOfEntryPoint (an RVA; 0 for a DLL without one).
    public let addressOfEntryPoint: UInt32
    /// Data directories: (rva, size) by index (0 exports, 3 exceptions).
    public let directories: [(rva: UInt32, size: UInt32)]
    /// The image's file on disk, when one with the same identity was found: read where the dump lacks pages.
    public var file: PEFileMapping?

    /// The image at `base`: its headers from the dump, else from `file` (the module's image file, already
    /// matched to it by PE timestamp and size).
    public init?(memory: AddressSpace, base: UInt64, file: PEFileMapping? = nil) {
        func u16(_ rva: UInt64) -> UInt16? {
            memory.readU16(base &+ rva) ?? file?.read(rva: rva, count: 2).map { UInt16($0[0]) | UInt16($0[1]) << 8 }
        }
        func u32(_ rva: UInt64) -> UInt32? {
            memory.readU32(base &+ rva) ?? file?.read(rva: rva, count: 4).map { UInt32($0[0]) | UInt32($0[1]) << 8 | UInt32($0[2]) << 16 | UInt32($0[3]) << 24 }
        }
        guard let nt = ImageIdentity.ntHeadersOffset(u16: u16, u32: u32) else { return nil }
        let optional = nt &+ 24
        let dirs: UInt64
        switch u16(optional) {
        case 0x20b?: is64 = true; dirs = optional &+ 112
        case 0x10b?: is64 = false; dirs = optional &+ 96
        default: return nil
        }
        guard let count = u32(dirs &- 4), let size = u32(optional &+ 56) else { return nil }
        addressOfEntryPoint = u32(optional &+ 16) ?? 0
        var d: [(rva: UInt32, size: UInt32)] = []
        for i in 0..<UInt64(min(count, 16)) {
            d.append((u32(dirs &+ i * 8) ?? 0, u32(dirs &+ i * 8 &+ 4) ?? 0))
        }
        self.memory = memory
        self.base = base
        self.file = file
        sizeOfImage = size
        directories = d
    }

    public func directory(_ i: Int) -> (rva: UInt32, size: UInt32)? {
        guard i < directories.count, directories[i].rva != 0, directories[i].size != 0, directories[i].rva < sizeOfImage else { return nil }
        return directories[i]
    }

    /// Exported functions by RVA, sorted (forwarders, which point into the export directory, left out).
    public func exports() -> [(rva: UInt32, name: String)] {
        guard let dir = directory(0), let header = read(rva: UInt64(dir.rva), count: 40) else { return [] }
        func field(_ o: Int) -> UInt32 { UInt32(header[o]) | UInt32(header[o + 1]) << 8 | UInt32(header[o + 2]) << 16 | UInt32(header[o + 3]) << 24 }
        let functions = field(20), names = field(24)
        let addressOfFunctions = UInt64(field(28)), addressOfNames = UInt64(field(32)), addressOfOrdinals = UInt64(field(36))
        guard functions < 200_000, names < 200_000 else { return [] }
        var out: [(rva: UInt32, name: String)] = []
        out.reserveCapacity(Int(names))
        for i in 0..<UInt64(names) {
            guard let nameRva = u32(rva: addressOfNames &+ i * 4), let ordinal = u16(rva: addressOfOrdinals &+ i * 2),
                  UInt32(ordinal) < functions, let rva = u32(rva: addressOfFunctions &+ UInt64(ordinal) * 4) else { continue }
            if rva >= dir.rva && rva < dir.rva &+ dir.size { continue }
            guard rva != 0, rva < sizeOfImage, let name = cString(rva: UInt64(nameRva), limit: 512), !name.isEmpty else { continue }
            out.append((rva, name))
        }
        return out.sorted { $0.rva != $1.rva ? $0.rva < $1.rva : $0.name < $1.name }
    }
}

/// A PE image file on disk, read by RVA through its section table: where a dump lacks an image's pages (a Linux
/// core holds few of a ReadyToRun assembly's), its unwind tables come from the file.
public final class PEFileMapping: @unchecked Sendable {
    // @unchecked: immutable after init.
    private let file: MappedFile
    private let sections: [(rva: UInt64, size: UInt64, offset: UInt64, rawSize: UInt64)]
    private let headerSize: UInt64

    public init?(path: String) {
        guard let f = try? MappedFile(path: path) else { return nil }
        let v = ByteView(file: f, offset: 0, count: f.size)
        guard let nt = ImageIdentity.ntHeadersOffset(u16: { v.u16($0) }, u32: { v.u32($0) }),
              let count = v.u16(nt + 6), let optSize = v.u16(nt + 20), count < 96 else { return nil }
        let optional = nt + 24
        headerSize = UInt64(v.u32(optional + 60) ?? 0)
        var out: [(UInt64, UInt64, UInt64, UInt64)] = []
        let table = optional + UInt64(optSize)
        for i in 0..<UInt64(count) {
            let s = table + i * 40
            guard let vsize = v.u32(s + 8), let va = v.u32(s + 12), let raw = v.u32(s + 16), let ptr = v.u32(s + 20) else { return nil }
            out.append((UInt64(va), UInt64(max(vsize, raw)), UInt64(ptr), UInt64(raw)))
        }
        file = f
        sections = out
    }

    /// `count` bytes at an RVA, when the file holds all of them.
    public func read(rva: UInt64, count: Int) -> [UInt8]? {
        if rva + UInt64(count) <= headerSize { return file.array(at: rva, count: count) }
        for s in sections where rva >= s.rva && rva - s.rva < s.size {
            let rel = rva - s.rva
            guard rel + UInt64(count) <= s.rawSize else { return nil }
            return file.array(at: s.offset + rel, count: count)
        }
        return nil
    }
}

extension PEImageInMemory {
    /// Bytes at an RVA: the dump's memory, else the image file (when one was matched to the module).
    public func read(rva: UInt64, count: Int) -> [UInt8]? {
        memory.readExact(base &+ rva, count: count) ?? file?.read(rva: rva, count: count)
    }

    public func u32(rva: UInt64) -> UInt32? {
        guard let b = read(rva: rva, count: 4) else { return nil }
        return UInt32(b[0]) | UInt32(b[1]) << 8 | UInt32(b[2]) << 16 | UInt32(b[3]) << 24
    }

    public func u16(rva: UInt64) -> UInt16? {
        guard let b = read(rva: rva, count: 2) else { return nil }
        return UInt16(b[0]) | UInt16(b[1]) << 8
    }

    /// A NUL-terminated ASCII name of at most `limit` bytes (export names).
    func cString(rva: UInt64, limit: Int) -> String? {
        if let s = memory.readCString(base &+ rva, limit: limit) { return s }
        var bytes: [UInt8] = []
        var at = rva
        while bytes.count < limit, let chunk = file?.read(rva: at, count: 1) {
            if chunk[0] == 0 { return String(decoding: bytes, as: UTF8.self) }
            bytes.append(chunk[0])
            at += 1
        }
        return nil
    }
}

/// The process's entry point (WinDbg's `$exentry`): the kernel's AT_ENTRY for an ELF core or a Breakpad
/// minidump's auxv, else the main module's PE AddressOfEntryPoint from its headers in the dump.
public enum ProcessEntryPoint {
    public static func address(in dump: any Dump) -> UInt64? {
        if let core = dump as? ElfCore, let e = core.auxv.first(where: { $0.type == 9 })?.value, e != 0 { return e }
        guard let main = dump.modules.first, let pe = PEImageInMemory(memory: dump.memory, base: main.base),
              pe.addressOfEntryPoint != 0 else { return nil }
        return main.base &+ UInt64(pe.addressOfEntryPoint)
    }
}
