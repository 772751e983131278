import DumpModel
import Native

/// How to find one register's value in the caller (DWARF's register rules).
enum RegisterRule: Equatable {
    case undefined
    case sameValue
    /// Saved at CFA + offset.
    case offset(Int64)
    /// The value is CFA + offset.
    case valueOffset(Int64)
    /// In another register of the callee.
    case register(Int)
    /// Saved at the address a DWARF expression computes (the CFA pushed first).
    case expression([UInt8])
    /// The value a DWARF expression computes.
    case valueExpression([UInt8])
}

/// How to compute the canonical frame address.
enum CfaRule: Equatable {
    case registerOffset(register: Int, offset: Int64)
    case expression([UInt8])
}

/// The unwind rules in effect at one instruction: the CFA, every register the program mentions, and
/// which register holds the return address.
struct UnwindRow {
    var cfa: CfaRule
    var registers: [Int: RegisterRule]
    let returnAddressRegister: Int
    /// The FDE is a signal trampoline ('S' augmentation): its caller was interrupted, not calling.
    let isSignalFrame: Bool
}

/// The call frame information of one ELF image (`.eh_frame`, found through `.eh_frame_hdr`'s sorted table
/// or, without it, by walking the section once). Answers the rules at an address; nil where it has none.
final class EhFrameInfo: @unchecked Sendable {
    // @unchecked: the index is built in init and never changes.
    private let image: ElfImage
    private let pointerSize: Int
    /// Where the image has no usable `.eh_frame_hdr`: every FDE's (start, end, address), sorted.
    private let linearIndex: [(start: UInt64, end: UInt64, fde: UInt64)]
    private let header: (address: UInt64, tableEncoding: UInt8, count: Int, table: UInt64)?
    /// Upper bounds that keep a damaged table from costing time.
    static let maxRecordLength = 1 << 20
    static let maxInstructions = 100_000

    init?(image: ElfImage) {
        self.image = image
        pointerSize = image.is64 ? 8 : 4
        var hdr: (UInt64, UInt8, Int, UInt64)?
        if let h = image.ehFrameHeader, let head = image.read(h, 4), head[0] == 1 {
            let ptrEnc = head[1], countEnc = head[2], tableEnc = head[3]
            // Read generously: the two encoded fields are at most 16 bytes.
            if let bytes = image.read(h, 4 + 16) ?? image.read(h, 4 + 8) {
                var r = DwarfReader(bytes, baseAddress: h, offset: 4)
                _ = r.encodedPointer(ptrEnc, pointerSize: pointerSize, dataBase: h)
                if let count = r.encodedPointer(countEnc, pointerSize: pointerSize, dataBase: h), count > 0, count < 10_000_000,
                   DwarfReader.fixedSize(tableEnc, pointerSize: pointerSize) != nil {
                    hdr = (h, tableEnc, Int(count), h &+ UInt64(r.offset))
                }
            }
        }
        header = hdr
        if hdr == nil, let section = image.ehFrameSection, section.size < 64 << 20, let bytes = image.read(section.address, Int(section.size)) {
            linearIndex = EhFrameInfo.index(bytes, address: section.address, pointerSize: pointerSize)
        } else {
            linearIndex = []
        }
        if header == nil && linearIndex.isEmpty { return nil }
    }

    /// Every FDE of a whole `.eh_frame` section, for images without a search table.
    private static func index(_ bytes: [UInt8], address: UInt64, pointerSize: Int) -> [(start: UInt64, end: UInt64, fde: UInt64)] {
        var out: [(start: UInt64, end: UInt64, fde: UInt64)] = []
        var cieEncodings: [Int: UInt8] = [:]
        var off = 0
        while off + 8 <= bytes.count, out.count < 2_000_000 {
            var r = DwarfReader(bytes, baseAddress: address, offset: off)
            let length = Int(r.fixed(4))
            if length == 0 { break }
            guard length != 0xFFFF_FFFF, length <= bytes.count - off - 4 else { break }
            let idField = r.offset
            let id = r.fixed(4)
            let next = off + 4 + length
            if id == 0 {
                if let cie = CommonInformationEntry(bytes, address: address, offset: off, pointerSize: pointerSize) {
                    cieEncodings[off] = cie.fdeEncoding
                }
            } else {
                let cieOffset = idField - Int(id)
                if let enc = cieEncodings[cieOffset] ?? CommonInformationEntry(bytes, address: address, offset: cieOffset, pointerSize: pointerSize)?.fdeEncoding,
                   let start = r.encodedPointer(enc, pointerSize: pointerSize) {
                    var rr = r
                    let range = rr.encodedPointer(enc & 0x0F, pointerSize: pointerSize) ?? 0
                    out.append((start, start &+ range, address &+ UInt64(off)))
                }
            }
            off = next
        }
        return out.sorted { $0.start < $1.start }
    }

    /// The rules at link-time address `pc`.
    func row(at pc: UInt64) -> UnwindRow? {
        guard let fdeAddress = fdeAddress(for: pc), let fde = FrameDescriptionEntry(image: image, address: fdeAddress, pointerSize: pointerSize),
              pc >= fde.start, pc < fde.end else { return nil }
        return CfaProgram.run(cie: fde.cie, fde: fde, until: pc)
    }

    private func fdeAddress(for pc: UInt64) -> UInt64? {
        if let h = header {
            guard let size = DwarfReader.fixedSize(h.tableEncoding, pointerSize: pointerSize) else { return nil }
            let entry = size * 2
            func entryAt(_ i: Int) -> (UInt64, UInt64)? {
                let a = h.table &+ UInt64(i * entry)
                guard let b = image.read(a, entry) else { return nil }
                var r = DwarfReader(b, baseAddress: a)
                guard let start = r.encodedPointer(h.tableEncoding, pointerSize: pointerSize, dataBase: h.address),
                      let fde = r.encodedPointer(h.tableEncoding, pointerSize: pointerSize, dataBase: h.address) else { return nil }
                return (start, fde)
            }
            var unreadable = false
            let found = SortedSearch.lastIndex(h.count, atOrBelow: pc) { i in
                guard let (start, _) = entryAt(i) else { unreadable = true; return UInt64.max }
                return start
            }
            guard !unreadable, let i = found else { return nil }
            return entryAt(i)?.1
        }
        guard let i = SortedSearch.lastIndex(linearIndex.count, atOrBelow: pc, { linearIndex[$0].start }),
              pc < linearIndex[i].end else { return nil }
        return linearIndex[i].fde
    }
}

/// A CIE: alignment factors, the return address column, encodings and its initial instructions.
struct CommonInformationEntry {
    var codeAlignment: UInt64 = 1
    var dataAlignment: Int64 = 1
    var returnAddressRegister = 0
    var fdeEncoding: UInt8 = 0
    var hasAugmentationData = false
    var isSignalFrame = false
    /// Version 4 states the size of the FDEs' addresses (`.debug_frame`); nil means the pointer size.
    var addressSize: Int?
    var instructions: [UInt8] = []

    /// Parses the CIE at `offset` of `bytes` (which start at link-time `address`). `.eh_frame` marks a CIE with
    /// id 0, `.debug_frame` with 0xffffffff.
    init?(_ bytes: [UInt8], address: UInt64, offset: Int, pointerSize: Int, cieId: UInt64 = 0) {
        guard offset >= 0 else { return nil }
        var r = DwarfReader(bytes, baseAddress: address, offset: offset)
        let length = Int(r.fixed(4))
        guard !r.failed, length > 0, length != 0xFFFF_FFFF, length <= bytes.count - offset - 4 else { return nil }
        let end = offset + 4 + length
        guard r.fixed(4) == cieId else { return nil }
        let version = r.u8()
        guard version == 1 || version == 3 || version == 4 else { return nil }
        let augmentation = r.cString()
        if augmentation.contains("eh") { _ = r.fixed(pointerSize) }
        if version == 4 {
            let size = Int(r.u8())
            _ = r.u8()  // segment selector size
            guard size == 4 || size == 8 else { return nil }
            addressSize = size
        }
        codeAlignment = r.uleb()
        dataAlignment = r.sleb()
        returnAddressRegister = version == 1 ? Int(r.u8()) : Int(min(r.uleb(), 1024))
        if augmentation.hasPrefix("z") {
            hasAugmentationData = true
            let augLength = Int(min(r.uleb(), UInt64(bytes.count)))
            let augEnd = r.offset + augLength
            for c in augmentation.dropFirst() {
                switch c {
                case "R": fdeEncoding = r.u8()
                case "L": _ = r.u8()
                case "P":
                    let enc = r.u8()
                    _ = r.encodedPointer(enc & 0x7F, pointerSize: pointerSize)
                case "S": isSignalFrame = true
                default: break
                }
            }
            r.offset = augEnd
        }
        guard !r.failed, r.offset <= end else { return nil }
        instructions = Array(bytes[r.offset..<end])
    }
}

/// An FDE: the code range it covers, its CIE, and its instructions.
struct FrameDescriptionEntry {
    let start: UInt64
    let end: UInt64
    let cie: CommonInformationEntry
    let instructions: [UInt8]

    init(start: UInt64, end: UInt64, cie: CommonInformationEntry, instructions: [UInt8]) {
        self.start = start
        self.end = end
        self.cie = cie
        self.instructions = instructions
    }

    init?(image: ElfImage, address: UInt64, pointerSize: Int) {
        guard let lengthBytes = image.read(address, 8) ?? image.read(address, 4) else { return nil }
        var lr = DwarfReader(lengthBytes)
        let length = Int(lr.fixed(4))
        guard length > 4, length <= EhFrameInfo.maxRecordLength, let record = image.read(address, 4 + length) else { return nil }
        var r = DwarfReader(record, baseAddress: address, offset: 4)
        let ciePointer = r.fixed(4)
        guard ciePointer != 0, ciePointer <= address &+ 4 else { return nil }
        let cieAddress = address &+ 4 &- ciePointer
        guard let cieLengthBytes = image.read(cieAddress, 4) else { return nil }
        var cr = DwarfReader(cieLengthBytes)
        let cieLength = Int(cr.fixed(4))
        guard cieLength > 0, cieLength <= EhFrameInfo.maxRecordLength, let cieBytes = image.read(cieAddress, 4 + cieLength),
              let cie = CommonInformationEntry(cieBytes, address: cieAddress, offset: 0, pointerSize: pointerSize) else { return nil }
        guard let begin = r.encodedPointer(cie.fdeEncoding, pointerSize: pointerSize) else { return nil }
        let range = r.encodedPointer(cie.fdeEncoding & 0x0F, pointerSize: pointerSize) ?? 0
        if cie.hasAugmentationData {
            let n = Int(min(r.uleb(), UInt64(record.count)))
            r.offset += n
        }
        guard !r.failed, r.offset <= record.count else { return nil }
        start = begin
        end = begin &+ range
        self.cie = cie
        instructions = Array(record[r.offset...])
    }
}

/// The DWARF CFA program interpreter: runs the CIE's then the FDE's instructions up to an address.
enum CfaProgram {
    static func run(cie: CommonInformationEntry, fde: FrameDescriptionEntry, until pc: UInt64) -> UnwindRow? {
        var row = UnwindRow(cfa: .registerOffset(register: 0, offset: 0), registers: [:],
                            returnAddressRegister: cie.returnAddressRegister, isSignalFrame: cie.isSignalFrame)
        var location = fde.start
        guard execute(cie.instructions, cie: cie, row: &row, location: &location, until: pc, initial: nil) else { return nil }
        let initial = row
        guard execute(fde.instructions, cie: cie, row: &row, location: &location, until: pc, initial: initial) else { return nil }
        return row
    }

    /// False when the program is malformed.
    private static func execute(_ code: [UInt8], cie: CommonInformationEntry, row: inout UnwindRow, location: inout UInt64,
                                until pc: UInt64, initial: UnwindRow?) -> Bool {
        var r = DwarfReader(code)
        var stack: [(CfaRule, [Int: RegisterRule])] = []
        var steps = 0
        func factored(_ v: UInt64) -> Int64 { Int64(bitPattern: v) &* cie.dataAlignment }
        func factored(_ v: Int64) -> Int64 { v &* cie.dataAlignment }
        func advance(_ delta: UInt64) -> Bool {
            location = location &+ delta &* cie.codeAlignment
            return location > pc
        }
        func restore(_ reg: Int) {
            if let rule = initial?.registers[reg] { row.registers[reg] = rule } else { row.registers[reg] = nil }
        }
        func register(_ v: UInt64) -> Int? { v < 1024 ? Int(v) : nil }
        while !r.atEnd {
            steps += 1
            if steps > EhFrameInfo.maxInstructions { return false }
            let op = r.u8()
            let high = op & 0xC0, low = op & 0x3F
            switch high {
            case 0x40: if advance(UInt64(low)) { return true }; continue
            case 0x80: row.registers[Int(low)] = .offset(factored(r.uleb())); continue
            case 0xC0: restore(Int(low)); continue
            default: break
            }
            switch op {
            case 0x00: break                                                          // nop
            case 0x01:                                                                // set_loc
                location = r.fixed(cie.fdeEncoding & 0x0F == 0x03 || cie.fdeEncoding & 0x0F == 0x0B ? 4 : 8)
                if location > pc { return true }
            case 0x02: if advance(r.fixed(1)) { return true }
            case 0x03: if advance(r.fixed(2)) { return true }
            case 0x04: if advance(r.fixed(4)) { return true }
            case 0x05:                                                                // offset_extended
                guard let reg = register(r.uleb()) else { return false }
                row.registers[reg] = .offset(factored(r.uleb()))
            case 0x06: guard let reg = register(r.uleb()) else { return false }; restore(reg)
            case 0x07: guard let reg = register(r.uleb()) else { return false }; row.registers[reg] = .undefined
            case 0x08: guard let reg = register(r.uleb()) else { return false }; row.registers[reg] = .sameValue
            case 0x09:
                guard let reg = register(r.uleb()), let other = register(r.uleb()) else { return false }
                row.registers[reg] = .register(other)
            case 0x0A:                                                                // remember_state
                guard stack.count < 64 else { return false }
                stack.append((row.cfa, row.registers))
            case 0x0B:                                                                // restore_state
                guard let (cfa, regs) = stack.popLast() else { return false }
                row.cfa = cfa
                row.registers = regs
            case 0x0C:                                                                // def_cfa
                guard let reg = register(r.uleb()) else { return false }
                row.cfa = .registerOffset(register: reg, offset: Int64(bitPattern: r.uleb()))
            case 0x0D:                                                                // def_cfa_register
                guard let reg = register(r.uleb()) else { return false }
                if case .registerOffset(_, let off) = row.cfa { row.cfa = .registerOffset(register: reg, offset: off) }
                else { row.cfa = .registerOffset(register: reg, offset: 0) }
            case 0x0E:                                                                // def_cfa_offset
                let off = Int64(bitPattern: r.uleb())
                if case .registerOffset(let reg, _) = row.cfa { row.cfa = .registerOffset(register: reg, offset: off) } else { return false }
            case 0x0F:                                                                // def_cfa_expression
                let n = Int(min(r.uleb(), UInt64(code.count)))
                guard r.offset + n <= code.count else { return false }
                row.cfa = .expression(Array(code[r.offset..<r.offset + n])); r.offset += n
            case 0x10, 0x16:                                                          // expression, val_expression
                guard let reg = register(r.uleb()) else { return false }
                let n = Int(min(r.uleb(), UInt64(code.count)))
                guard r.offset + n <= code.count else { return false }
                let expr = Array(code[r.offset..<r.offset + n]); r.offset += n
                row.registers[reg] = op == 0x10 ? .expression(expr) : .valueExpression(expr)
            case 0x11:                                                                // offset_extended_sf
                guard let reg = register(r.uleb()) else { return false }
                row.registers[reg] = .offset(factored(r.sleb()))
            case 0x12:                                                                // def_cfa_sf
                guard let reg = register(r.uleb()) else { return false }
                row.cfa = .registerOffset(register: reg, offset: factored(r.sleb()))
            case 0x13:                                                                // def_cfa_offset_sf
                let off = factored(r.sleb())
                if case .registerOffset(let reg, _) = row.cfa { row.cfa = .registerOffset(register: reg, offset: off) } else { return false }
            case 0x14:                                                                // val_offset
                guard let reg = register(r.uleb()) else { return false }
                row.registers[reg] = .valueOffset(factored(r.uleb()))
            case 0x15:                                                                // val_offset_sf
                guard let reg = register(r.uleb()) else { return false }
                row.registers[reg] = .valueOffset(factored(r.sleb()))
            case 0x2E: _ = r.uleb()                                                   // GNU_args_size
            case 0x2F:                                                                // GNU_negative_offset_extended
                guard let reg = register(r.uleb()) else { return false }
                row.registers[reg] = .offset(-factored(r.uleb()))
            default:
                return false
            }
        }
        return !r.failed
    }
}
