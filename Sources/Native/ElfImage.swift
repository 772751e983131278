import CCompression
import DumpModel

/// Where an ELF image's bytes come from: the file on disk (complete, verified by build id) or the dump's own
/// memory (often only the first page of each mapping). Addresses are the image's link-time virtual
/// addresses; `bias` turns them into the addresses the process used.
public enum ElfImageSource: Sendable, CustomStringConvertible {
    case file(String)
    case dumpMemory

    public var isFile: Bool { if case .file = self { return true } else { return false } }

    public var description: String {
        switch self {
        case .file(let p): return p
        case .dumpMemory: return "the dump's memory"
        }
    }
}

/// An ELF image (executable or shared object) as the unwinder and the symbolizer need it: its loadable
/// segments, where its `.eh_frame_hdr` and `.eh_frame` are, and its function symbols. Every read is bounds
/// checked; a damaged image gives empty answers, never a trap.
public final class ElfImage: @unchecked Sendable {
    // @unchecked: immutable after init; the reader closes over immutable mappings.
    public struct Segment: Sendable {
        public let vaddr: UInt64
        public let memorySize: UInt64
        public let fileOffset: UInt64
        public let fileSize: UInt64
        public let executable: Bool

        init(vaddr: UInt64, memorySize: UInt64, fileOffset: UInt64, fileSize: UInt64, executable: Bool) {
            self.vaddr = vaddr
            self.memorySize = memorySize
            self.fileOffset = fileOffset
            self.fileSize = fileSize
            self.executable = executable
        }

        init(_ h: ElfProgramHeader) {
            self.init(vaddr: h.vaddr, memorySize: h.memorySize, fileOffset: h.offset, fileSize: h.fileSize, executable: h.isExecutable)
        }
    }
    /// A function symbol: link-time start and size.
    public struct Symbol: Sendable {
        public let start: UInt64
        public let size: UInt64
        public let name: String
    }

    public let source: ElfImageSource
    public let is64: Bool
    public let segments: [Segment]
    /// Runtime address minus link-time address.
    public let bias: UInt64
    /// PT_GNU_EH_FRAME: the `.eh_frame_hdr` section's link-time address.
    public let ehFrameHeader: UInt64?
    /// `.eh_frame` from the section headers (files only; memory images find it through the header).
    public let ehFrameSection: (address: UInt64, size: UInt64)?
    /// `.debug_frame` from the file (not loaded, so only files have it): DWARF call frame information for code
    /// built without unwind tables. Nil when absent, compressed, or over 64 MiB.
    public let debugFrame: [UInt8]?
    /// Function symbols sorted by start (`.symtab`, else `.dynsym`); empty when the image has none.
    public let symbols: [Symbol]
    /// Which symbol table the symbols came from, for `lmv`: ".symtab", ".dynsym", ".symtab of DEBUGFILE" or nil.
    public let symbolTable: String?
    /// True when the symbols include a `.symtab` (every function, not only the exports).
    public let hasCompleteSymbols: Bool
    /// A named section's bytes from the file (zlib-compressed sections inflated), read when asked for: the DWARF
    /// sections source lines come from. Nil for images in memory.
    public let section: (@Sendable (String) -> [UInt8]?)?
    private let readRaw: @Sendable (UInt64, Int) -> [UInt8]?

    /// Reads `count` bytes at a link-time address; nil unless all of them are there.
    public func read(_ vaddr: UInt64, _ count: Int) -> [UInt8]? {
        guard count >= 0, count <= 1 << 24 else { return nil }
        return readRaw(vaddr, count)
    }

    /// The image in the file at `path`, loaded at `base` (the lowest address the process mapped it at). The file
    /// is parsed once per process (`ImageFileCache`); each caller gets it with its own bias.
    public static func file(path: String, base: UInt64) -> ElfImage? {
        ImageFileCache.shared.value("elf-image", paths: [path]) { parse(path: path) }?.rebased(to: base)
    }

    /// This image loaded at `base`: the same file, another process's addresses.
    public func rebased(to base: UInt64) -> ElfImage {
        guard let first = segments.first else { return self }
        return withBias(base &- (first.vaddr & ~0xFFF))
    }

    private func withBias(_ bias: UInt64) -> ElfImage {
        ElfImage(source: source, is64: is64, segments: segments, bias: bias, ehFrameHeader: ehFrameHeader,
                 ehFrameSection: ehFrameSection, debugFrame: debugFrame, symbols: symbols, symbolTable: symbolTable,
                 hasCompleteSymbols: hasCompleteSymbols, section: section, read: readRaw)
    }

    /// The file at `path` at its link-time addresses (bias 0).
    private static func parse(path: String) -> ElfImage? {
        guard let f = try? MappedFile(path: path) else { return nil }
        let v = ByteView(file: f, offset: 0, count: f.size)
        guard let h = Header(v) else { return nil }
        let segs = h.segments(v)
        guard !segs.isEmpty else { return nil }
        let segsCopy = segs
        let reader: @Sendable (UInt64, Int) -> [UInt8]? = { vaddr, count in
            for s in segsCopy where vaddr >= s.vaddr && vaddr &+ UInt64(count) <= s.vaddr &+ s.fileSize && vaddr &+ UInt64(count) >= vaddr {
                return f.array(at: s.fileOffset &+ (vaddr - s.vaddr), count: count)
            }
            return nil
        }
        let sections = h.sections(v)
        let eh = sections.first { $0.name == ".eh_frame" && $0.address != 0 }.map { ($0.address, $0.size) }
        let (syms, table) = h.functionSymbols(v, sections: sections)
        // A compressed section (SHF_COMPRESSED) starts with its Chdr, not a CIE: the parser finds no entry in it.
        let debugFrame = sections.first { $0.name == ".debug_frame" && $0.type == 1 && $0.size > 0 && $0.size < 64 << 20 }
            .flatMap { f.array(at: $0.offset, count: Int($0.size)) }
        let section: @Sendable (String) -> [UInt8]? = { name in
            guard let s = sections.first(where: { $0.name == name && $0.type == 1 && $0.size > 0 && $0.size < 256 << 20 }),
                  let bytes = f.array(at: s.offset, count: Int(s.size)) else { return nil }
            return s.flags & 0x800 == 0 ? bytes : ElfCompressedSection.inflate(bytes, is64: h.is64)
        }
        return ElfImage(source: .file(path), is64: h.is64, segments: segs, bias: 0, ehFrameHeader: h.ehFrameHeader(v),
                        ehFrameSection: eh, debugFrame: debugFrame, symbols: syms, symbolTable: table,
                        hasCompleteSymbols: table == ".symtab", section: section, read: reader)
    }

    /// The image as the dump's memory holds it at `base`, when at least its ELF and program headers are there.
    public static func memory(_ memory: AddressSpace, base: UInt64) -> ElfImage? {
        guard let page = memory.readExact(base, count: 64), page[0] == 0x7F, page[1] == 0x45, page[2] == 0x4C, page[3] == 0x46 else { return nil }
        let is64 = page[4] == 2
        let r = memory.elfReaders(base: base, is64: is64, bigEndian: page[5] == 2)
        guard let table = ElfProgramHeader.table(is64: is64, u16: r.u16, word: r.word), table.count > 0, table.count < 512,
              table.offset < 0x10000 else { return nil }
        let headers = ElfProgramHeader.all(is64: is64, table: table, limit: 512, u32: r.u32, word: r.word)
        // The whole table must be in the dump: a segment list with holes would misplace the image.
        guard headers.count == Int(table.count) else { return nil }
        let segs = headers.filter { $0.type == ElfProgramHeader.load }.map(Segment.init)
        let ehHeader = headers.last { $0.type == ElfProgramHeader.gnuEhFrame }?.vaddr
        guard let first = segs.first else { return nil }
        let bias = base &- (first.vaddr & ~0xFFF)
        let reader: @Sendable (UInt64, Int) -> [UInt8]? = { vaddr, count in memory.readExact(vaddr &+ bias, count: count) }
        let dynamic = headers.last { $0.type == 2 }  // PT_DYNAMIC
        let symbols = dynamic.map { DynamicSymbols.read(memory, dynamic: $0.vaddr &+ bias, size: $0.memorySize, bias: bias, is64: is64) } ?? []
        return ElfImage(source: .dumpMemory, is64: is64, segments: segs, bias: bias, ehFrameHeader: ehHeader,
                        ehFrameSection: nil, debugFrame: nil, symbols: symbols, symbolTable: symbols.isEmpty ? nil : ".dynsym",
                        hasCompleteSymbols: false, section: nil, read: reader)
    }

    init(source: ElfImageSource, is64: Bool, segments: [Segment], bias: UInt64, ehFrameHeader: UInt64?,
         ehFrameSection: (address: UInt64, size: UInt64)?, debugFrame: [UInt8]?, symbols: [Symbol], symbolTable: String?,
         hasCompleteSymbols: Bool, section: (@Sendable (String) -> [UInt8]?)?, read: @escaping @Sendable (UInt64, Int) -> [UInt8]?) {
        self.source = source
        self.is64 = is64
        self.segments = segments
        self.bias = bias
        self.ehFrameHeader = ehFrameHeader
        self.ehFrameSection = ehFrameSection
        self.debugFrame = debugFrame
        self.symbols = symbols
        self.symbolTable = symbolTable
        self.hasCompleteSymbols = hasCompleteSymbols
        self.section = section
        self.readRaw = read
    }

    /// This image with the symbols (and, where it has none of its own, the `.debug_frame`) of its separate debug
    /// file at `debugPath`: the `.symtab` a distribution strips from the image and ships in a debug package. Nil
    /// when that file is no ELF image. An image from a file is merged with its debug file once per process.
    public func withDebugFile(path debugPath: String) -> ElfImage? {
        let merge = { ElfImage.file(path: debugPath, base: 0).map { self.merged(with: $0, path: debugPath) } }
        guard case .file(let own) = source else { return merge() }
        return ImageFileCache.shared.value("elf-image+debug-file", paths: [own, debugPath], make: merge)?.withBias(bias)
    }

    private func merged(with debug: ElfImage, path: String) -> ElfImage {
        let useSymbols = debug.hasCompleteSymbols && !debug.symbols.isEmpty
        // Both tables: the debug file's names win where two share an address (lookups take the last of a start),
        // and the image's exported aliases (pause beside __libc_pause) still resolve `module!name`.
        var merged = symbols
        if useSymbols {
            let ranked = symbols.map { ($0, 0) } + debug.symbols.map { ($0, 1) }
            var seen = Set<String>()
            merged = ranked.sorted { ($0.0.start, $0.1) < ($1.0.start, $1.1) }.map(\.0)
                .filter { seen.insert("\($0.start) \($0.name)").inserted }
        }
        // DWARF (source lines) lives in the debug file.
        let own = section, other = debug.section
        return ElfImage(source: source, is64: is64, segments: segments, bias: bias, ehFrameHeader: ehFrameHeader,
                        ehFrameSection: ehFrameSection, debugFrame: debugFrame ?? debug.debugFrame, symbols: merged,
                        symbolTable: useSymbols ? (symbolTable.map { $0 + ", " } ?? "") + ".symtab of \(path)" : symbolTable,
                        hasCompleteSymbols: hasCompleteSymbols || useSymbols, section: { name in other?(name) ?? own?(name) }, read: readRaw)
    }

    /// The function symbol holding a link-time address, and the offset into it.
    public func symbol(at vaddr: UInt64) -> (symbol: Symbol, offset: UInt64)? {
        // Symbols may nest or share a start (aliases); look back a few for one whose range holds the address.
        var i = SortedSearch.lastIndex(symbols.count, atOrBelow: vaddr) { symbols[$0].start } ?? -1
        var tries = 0
        while i >= 0, tries < 8 {
            let s = symbols[i]
            if vaddr >= s.start, vaddr - s.start < max(s.size, 1) { return (s, vaddr - s.start) }
            i -= 1; tries += 1
        }
        return nil
    }

    /// True when the link-time address is inside an executable segment.
    public func isExecutable(_ vaddr: UInt64) -> Bool {
        segments.contains { $0.executable && vaddr >= $0.vaddr && vaddr - $0.vaddr < $0.memorySize }
    }

    /// ELF header fields read from a file.
    struct Header {
        let is64: Bool
        let phoff: UInt64, phentsize: UInt64, phnum: UInt64
        let shoff: UInt64, shentsize: UInt64, shnum: UInt64, shstrndx: UInt64

        init?(_ v: ByteView) {
            guard v.bytes(0, 4) == [0x7F, 0x45, 0x4C, 0x46], v.u8(5) == 1 else { return nil }
            is64 = v.u8(4) == 2
            if is64 {
                phoff = v.u64(0x20) ?? 0; shoff = v.u64(0x28) ?? 0
                phentsize = UInt64(v.u16(0x36) ?? 0); phnum = UInt64(v.u16(0x38) ?? 0)
                shentsize = UInt64(v.u16(0x3A) ?? 0); shnum = UInt64(v.u16(0x3C) ?? 0); shstrndx = UInt64(v.u16(0x3E) ?? 0)
            } else {
                phoff = UInt64(v.u32(0x1C) ?? 0); shoff = UInt64(v.u32(0x20) ?? 0)
                phentsize = UInt64(v.u16(0x2A) ?? 0); phnum = UInt64(v.u16(0x2C) ?? 0)
                shentsize = UInt64(v.u16(0x2E) ?? 0); shnum = UInt64(v.u16(0x30) ?? 0); shstrndx = UInt64(v.u16(0x32) ?? 0)
            }
        }

        func programHeaders(_ v: ByteView) -> [ElfProgramHeader] {
            guard phentsize >= (is64 ? 56 : 32), phnum < 4096 else { return [] }
            let r = v.elfReaders(is64: is64)
            return ElfProgramHeader.all(is64: is64, table: .init(offset: phoff, entrySize: phentsize, count: phnum), limit: 4096,
                                        u32: r.u32, word: r.word)
        }

        func segments(_ v: ByteView) -> [Segment] {
            programHeaders(v).filter { $0.type == ElfProgramHeader.load }.map(Segment.init).sorted { $0.vaddr < $1.vaddr }
        }

        func ehFrameHeader(_ v: ByteView) -> UInt64? {
            programHeaders(v).first { $0.type == ElfProgramHeader.gnuEhFrame }?.vaddr
        }

        struct Section {
            let name: String; let type: UInt32; let address: UInt64; let offset: UInt64; let size: UInt64; let link: UInt32; let entrySize: UInt64
            var flags: UInt64 = 0
        }

        func sections(_ v: ByteView) -> [Section] {
            guard shentsize >= (is64 ? 64 : 40), shnum < 65536, shoff != 0 else { return [] }
            struct Raw { let name: UInt32; let type: UInt32; let addr: UInt64; let off: UInt64; let size: UInt64; let link: UInt32; let entsize: UInt64; var flags: UInt64 = 0 }
            var raw: [Raw] = []
            for i in 0..<shnum {
                let o = shoff &+ i &* shentsize
                if is64 {
                    guard let n = v.u32(o), let t = v.u32(o + 4), let a = v.u64(o + 0x10), let off = v.u64(o + 0x18), let sz = v.u64(o + 0x20),
                          let l = v.u32(o + 0x28), let es = v.u64(o + 0x38) else { break }
                    raw.append(Raw(name: n, type: t, addr: a, off: off, size: sz, link: l, entsize: es, flags: v.u64(o + 8) ?? 0))
                } else {
                    guard let n = v.u32(o), let t = v.u32(o + 4), let a = v.u32(o + 0xC), let off = v.u32(o + 0x10), let sz = v.u32(o + 0x14),
                          let l = v.u32(o + 0x18), let es = v.u32(o + 0x24) else { break }
                    raw.append(Raw(name: n, type: t, addr: UInt64(a), off: UInt64(off), size: UInt64(sz), link: l, entsize: UInt64(es),
                                   flags: UInt64(v.u32(o + 8) ?? 0)))
                }
            }
            let names = Int(shstrndx) < raw.count ? ByteView(file: v.file, offset: raw[Int(shstrndx)].off, count: raw[Int(shstrndx)].size) : nil
            return raw.map { r in
                Section(name: names?.cString(UInt64(r.name), limit: 256) ?? "", type: r.type, address: r.addr, offset: r.off,
                        size: r.size, link: r.link, entrySize: r.entsize, flags: r.flags)
            }
        }

        /// STT_FUNC and STT_GNU_IFUNC symbols with an address, from `.symtab`, else `.dynsym`; sorted by start.
        func functionSymbols(_ v: ByteView, sections: [Section]) -> ([Symbol], String?) {
            let entry: UInt64 = is64 ? 24 : 16
            for (want, label) in [(UInt32(2), ".symtab"), (UInt32(11), ".dynsym")] {
                var out: [Symbol] = []
                for s in sections where s.type == want && Int(s.link) < sections.count {
                    let strtab = sections[Int(s.link)]
                    let strView = ByteView(file: v.file, offset: strtab.offset, count: strtab.size)
                    let count = min(s.size / entry, 4_000_000)
                    let r = v.elfReaders(is64: is64)
                    for i in 0..<count {
                        let read = ElfSymbolEntry.function(at: s.offset &+ i &* entry, is64: is64, u8: v.u8, u16: r.u16, u32: r.u32, word: r.word,
                                                           name: { strView.cString(UInt64($0), limit: 1024) })
                        guard let read else { break }
                        if let symbol = read { out.append(symbol) }
                    }
                }
                if !out.isEmpty {
                    // Prefer the sized, global-looking name when several share a start (stable order otherwise).
                    out.sort { $0.start != $1.start ? $0.start < $1.start : ($0.size != $1.size ? $0.size > $1.size : $0.name < $1.name) }
                    var unique: [Symbol] = []
                    unique.reserveCapacity(out.count)
                    for s in out where unique.last?.start != s.start { unique.append(s) }
                    return (unique, label)
                }
            }
            return ([], nil)
        }
    }
}

/// One Elf32_Sym / Elf64_Sym, read at `offset` through the given readers (a file's bytes or the target's memory).
enum ElfSymbolEntry {
    /// The function (STT_FUNC or STT_GNU_IFUNC, defined, with an address and a name) the entry names: nil when
    /// the entry cannot be read (the table ends there), `.some(nil)` for an entry that is not such a function.
    static func function(at offset: UInt64, is64: Bool, u8: (UInt64) -> UInt8?, u16: (UInt64) -> UInt16?, u32: (UInt64) -> UInt32?,
                         word: (UInt64) -> UInt64?, name: (UInt32) -> String?) -> ElfImage.Symbol?? {
        let o = offset
        let nameOffset: UInt32?, value: UInt64?, size: UInt64?, info: UInt8?, section: UInt16?
        if is64 {
            nameOffset = u32(o); info = u8(o + 4); section = u16(o + 6); value = word(o + 8); size = word(o + 16)
        } else {
            nameOffset = u32(o); value = word(o + 4); size = word(o + 8); info = u8(o + 12); section = u16(o + 14)
        }
        guard let nameOffset, let value, let size, let info, let section else { return nil }
        let type = info & 0xF
        guard type == 2 || type == 10, value != 0, section != 0, nameOffset != 0, let text = name(nameOffset), !text.isEmpty else {
            return .some(nil)
        }
        return .some(ElfImage.Symbol(start: value, size: size, name: text))
    }
}

/// A section with SHF_COMPRESSED: an Elf32/64_Chdr (type, [reserved], size, alignment) then a zlib stream.
enum ElfCompressedSection {
    static func inflate(_ bytes: [UInt8], is64: Bool) -> [UInt8]? {
        let headerSize = is64 ? 24 : 12
        guard bytes.count > headerSize else { return nil }
        func u32(_ o: Int) -> UInt32 { UInt32(bytes[o]) | UInt32(bytes[o + 1]) << 8 | UInt32(bytes[o + 2]) << 16 | UInt32(bytes[o + 3]) << 24 }
        guard u32(0) == 1 else { return nil }  // ELFCOMPRESS_ZLIB
        let size = is64 ? UInt64(u32(8)) | UInt64(u32(12)) << 32 : UInt64(u32(4))
        guard size > 0, size < 1 << 30 else { return nil }
        var out = [UInt8](repeating: 0, count: Int(size))
        var outLength = uLongf(size)
        let status = bytes.withUnsafeBufferPointer { input in
            out.withUnsafeMutableBufferPointer { output in
                uncompress(output.baseAddress, &outLength, input.baseAddress! + headerSize, uLong(bytes.count - headerSize))
            }
        }
        return status == Z_OK && outLength == size ? out : nil
    }
}

/// The dynamic symbol table of an image in the target's memory, found through its PT_DYNAMIC entries: what names a
/// library's exports (and the vDSO's functions) when its file is not at hand. The dynamic linker rewrites most
/// entries to run-time addresses; the vDSO's keep link-time ones: both are accepted. The count comes from DT_HASH,
/// else from walking DT_GNU_HASH's chains. Bounded: at most 200,000 symbols, names of 1,024 bytes.
enum DynamicSymbols {
    static func read(_ memory: AddressSpace, dynamic: UInt64, size: UInt64, bias: UInt64, is64: Bool) -> [ElfImage.Symbol] {
        let word: (UInt64) -> UInt64? = { is64 ? memory.readU64($0) : memory.readU32($0).map(UInt64.init) }
        let entrySize: UInt64 = is64 ? 16 : 8
        var tags: [UInt64: UInt64] = [:]
        for i in 0..<min(size / entrySize, 512) {
            guard let tag = word(dynamic &+ i * entrySize), let value = word(dynamic &+ i * entrySize &+ entrySize / 2) else { break }
            if tag == 0 { break }
            if tags[tag] == nil { tags[tag] = value }
        }
        // DT_SYMTAB 6, DT_STRTAB 5, DT_STRSZ 10, DT_SYMENT 11, DT_HASH 4, DT_GNU_HASH 0x6ffffef5.
        func address(_ tag: UInt64) -> UInt64? {
            guard let v = tags[tag], v != 0 else { return nil }
            // A run-time address already lies at or above the image's load bias; a link-time one needs it added.
            return bias != 0 && v < bias ? v &+ bias : v
        }
        guard let symtab = address(6), let strtab = address(5) else { return [] }
        let strsz = min(tags[10] ?? 0, 16 << 20)
        let symentSize = tags[11] ?? (is64 ? 24 : 16)
        guard symentSize == (is64 ? 24 : 16) else { return [] }
        var count: UInt64 = 0
        if let hash = address(4), let n = memory.readU32(hash &+ 4) {
            count = UInt64(n)
        } else if let gnu = address(0x6fff_fef5) {
            count = gnuHashCount(memory, gnu, is64: is64) ?? 0
        }
        count = min(count, 200_000)
        var out: [ElfImage.Symbol] = []
        for i in 0..<count {
            let read = ElfSymbolEntry.function(at: symtab &+ i * symentSize, is64: is64, u8: memory.readU8, u16: memory.readU16,
                                               u32: memory.readU32, word: word,
                                               name: { UInt64($0) < strsz || strsz == 0 ? memory.readCString(strtab &+ UInt64($0), limit: 1024) : nil })
            guard let read else { break }
            if let symbol = read { out.append(symbol) }
        }
        return out.sorted { $0.start < $1.start }
    }

    /// The number of symbols a DT_GNU_HASH table covers: past the highest bucket's chain end.
    private static func gnuHashCount(_ memory: AddressSpace, _ table: UInt64, is64: Bool) -> UInt64? {
        guard let buckets = memory.readU32(table), let symbolOffset = memory.readU32(table + 4), let bloomSize = memory.readU32(table + 8),
              buckets > 0, buckets < 1 << 20, bloomSize < 1 << 20 else { return nil }
        let bucketsAt = table + 16 + UInt64(bloomSize) * (is64 ? 8 : 4)
        var last: UInt32 = 0
        for i in 0..<UInt64(buckets) {
            guard let b = memory.readU32(bucketsAt + i * 4) else { return nil }
            last = max(last, b)
        }
        guard last >= symbolOffset else { return UInt64(symbolOffset) }
        let chainsAt = bucketsAt + UInt64(buckets) * 4
        var index = UInt64(last)
        for _ in 0..<200_000 {
            guard let h = memory.readU32(chainsAt + (index - UInt64(symbolOffset)) * 4) else { return index }
            if h & 1 == 1 { return index + 1 }
            index += 1
        }
        return index
    }
}
