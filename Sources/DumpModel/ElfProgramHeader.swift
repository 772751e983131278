/// An ELF program header, and the one parser of them that every ELF reader uses: cores, image files, and images
/// in a dump's memory. Fields are read through the caller's `u16`/`u32`/`word` readers (a file view, or memory at
/// an image's base, either byte order), so the layout is written down once. Every offset comes from untrusted
/// headers: the arithmetic wraps and a missing byte gives nil, never a trap.
public struct ElfProgramHeader: Sendable, Equatable {
    public static let load: UInt32 = 1
    public static let note: UInt32 = 4
    /// PT_GNU_EH_FRAME: where `.eh_frame_hdr` is.
    public static let gnuEhFrame: UInt32 = 0x6474_E550

    public let type: UInt32
    public let flags: UInt32
    public let offset: UInt64
    public let vaddr: UInt64
    public let fileSize: UInt64
    public let memorySize: UInt64
    public var isExecutable: Bool { flags & 1 != 0 }

    /// Where the program header table is, from the ELF header (e_phoff, e_phentsize, e_phnum).
    public struct Table: Sendable, Equatable {
        public let offset: UInt64
        public let entrySize: UInt64
        public let count: UInt64
        public init(offset: UInt64, entrySize: UInt64, count: UInt64) {
            self.offset = offset
            self.entrySize = entrySize
            self.count = count
        }
    }

    /// The table's location; nil when the header is unreadable or its entries are smaller than the format's.
    public static func table(is64: Bool, u16: (UInt64) -> UInt16?, word: (UInt64) -> UInt64?) -> Table? {
        guard let offset = word(is64 ? 0x20 : 0x1C), let size = u16(is64 ? 0x36 : 0x2A), let count = u16(is64 ? 0x38 : 0x2C),
              UInt64(size) >= (is64 ? 56 : 32) else { return nil }
        return Table(offset: offset, entrySize: UInt64(size), count: UInt64(count))
    }

    /// The entry at `at` (an offset in the reader's space); nil when any of its fields is unreadable.
    public static func read(is64: Bool, at o: UInt64, u32: (UInt64) -> UInt32?, word: (UInt64) -> UInt64?) -> ElfProgramHeader? {
        if is64 {
            guard let type = u32(o), let flags = u32(o &+ 4), let offset = word(o &+ 8), let vaddr = word(o &+ 0x10),
                  let fileSize = word(o &+ 0x20), let memorySize = word(o &+ 0x28) else { return nil }
            return ElfProgramHeader(type: type, flags: flags, offset: offset, vaddr: vaddr, fileSize: fileSize, memorySize: memorySize)
        }
        guard let type = u32(o), let offset = u32(o &+ 4), let vaddr = u32(o &+ 8), let fileSize = u32(o &+ 0x10),
              let memorySize = u32(o &+ 0x14), let flags = u32(o &+ 0x18) else { return nil }
        return ElfProgramHeader(type: type, flags: flags, offset: UInt64(offset), vaddr: UInt64(vaddr), fileSize: UInt64(fileSize),
                                memorySize: UInt64(memorySize))
    }

    /// Entries 0..<min(table.count, limit); an unreadable entry is left out (`stopAtGap`: ends the list instead).
    public static func all(is64: Bool, table: Table, limit: UInt64, stopAtGap: Bool = false,
                           u32: (UInt64) -> UInt32?, word: (UInt64) -> UInt64?) -> [ElfProgramHeader] {
        var out: [ElfProgramHeader] = []
        for i in 0..<min(table.count, limit) {
            guard let h = read(is64: is64, at: table.offset &+ i &* table.entrySize, u32: u32, word: word) else {
                if stopAtGap { break }
                continue
            }
            out.append(h)
        }
        return out
    }
}

extension ByteView {
    /// A file view's readers for `ElfProgramHeader`, in the view's byte order.
    public func elfReaders(is64: Bool) -> (u16: (UInt64) -> UInt16?, u32: (UInt64) -> UInt32?, word: (UInt64) -> UInt64?) {
        ({ self.u16($0) }, { self.u32($0) }, { is64 ? self.u64($0) : self.u32($0).map(UInt64.init) })
    }
}

extension AddressSpace {
    /// Readers of an image at `base` in the target's memory for `ElfProgramHeader`, in the image's byte order.
    public func elfReaders(base: UInt64, is64: Bool, bigEndian: Bool) -> (u16: (UInt64) -> UInt16?, u32: (UInt64) -> UInt32?, word: (UInt64) -> UInt64?) {
        // The space reads in the dump's byte order; an image's own order may differ only in theory, so swap when asked.
        let swap = bigEndian != self.bigEndian
        return ({ a in self.readU16(base &+ a).map { swap ? $0.byteSwapped : $0 } },
                { a in self.readU32(base &+ a).map { swap ? $0.byteSwapped : $0 } },
                { a in is64 ? self.readU64(base &+ a).map { swap ? $0.byteSwapped : $0 } : self.readU32(base &+ a).map { UInt64(swap ? $0.byteSwapped : $0) } })
    }
}
