import DumpModel

/// DWARF `.debug_line` (versions 2 to 5): each compilation unit's line program run into rows, then every row of
/// every sequence sorted by address, so that a code address finds its file and line by binary search.
/// A damaged unit ends that unit's parse; limits on units, rows and names bound the work on a hostile file.
public struct DwarfLineTable: Sendable {
    struct Row {
        let address: UInt64
        let file: Int32
        let line: Int32
        /// The first address past the row's range (the next row of its sequence).
        var end: UInt64
    }

    private var rows: [Row] = []
    private var files: [String] = []

    public var isEmpty: Bool { rows.isEmpty }

    /// `debugLine` is the section's bytes; `lineStrings` and `strings` are `.debug_line_str` and `.debug_str`
    /// (DWARF 5 names may live there).
    public init(debugLine: [UInt8], lineStrings: [UInt8]?, strings: [UInt8]?) {
        var r = DwarfReader(debugLine)
        var units = 0
        while !r.atEnd, units < 100_000, rows.count < 20_000_000 {
            units += 1
            let start = r.offset
            var length = r.fixed(4)
            var offsetSize = 4
            if length == 0xFFFF_FFFF { length = r.fixed(8); offsetSize = 8 }
            guard !r.failed, length > 0, length <= UInt64(debugLine.count - r.offset) else { break }
            let unitEnd = r.offset + Int(length)
            // A reader of its own: a unit that fails to parse does not stop the ones after it.
            var unit = DwarfReader(debugLine, offset: r.offset)
            parseUnit(&unit, end: unitEnd, offsetSize: offsetSize, lineStrings: lineStrings, strings: strings)
            r.offset = unitEnd
            if r.offset <= start { break }
        }
        rows.sort { $0.address < $1.address }
    }

    /// The file and line of a code address (a link-time address: the image's, not the process's).
    public func line(at address: UInt64) -> (file: String, line: Int)? {
        // Rows of different sequences may share an address; look back a few for one whose range holds it.
        var i = SortedSearch.lastIndex(rows.count, atOrBelow: address) { rows[$0].address } ?? -1, tries = 0
        while i >= 0, tries < 4 {
            let row = rows[i]
            if address >= row.address, address < row.end, row.line > 0, Int(row.file) < files.count {
                return (files[Int(row.file)], Int(row.line))
            }
            i -= 1; tries += 1
        }
        return nil
    }

    private mutating func parseUnit(_ r: inout DwarfReader, end: Int, offsetSize: Int, lineStrings: [UInt8]?, strings: [UInt8]?) {
        let version = r.fixed(2)
        guard (2...5).contains(version) else { return }
        var addressSize = 8
        if version >= 5 { addressSize = Int(r.u8()); _ = r.u8() }
        let headerLength = r.fixed(offsetSize)
        let programStart = r.offset + Int(min(headerLength, UInt64(end)))
        let minInstruction = UInt64(r.u8())
        if version >= 4 { _ = r.u8() }  // maximum operations per instruction (VLIW only)
        let defaultIsStmt = r.u8() != 0
        let lineBase = Int64(Int8(bitPattern: r.u8()))
        let lineRange = UInt64(r.u8())
        let opcodeBase = Int(r.u8())
        guard !r.failed, lineRange > 0, opcodeBase > 0 else { return }
        var standardLengths: [Int] = []
        for _ in 1..<opcodeBase { standardLengths.append(Int(r.u8())) }

        // Directories and files; the unit's file numbers index `unitFiles` (DWARF 5 from 0, earlier from 1).
        var directories: [String] = []
        var unitFiles: [String] = []
        // As gdb names files: the name the compiler recorded, under its directory, except under an absolute
        // compilation directory (DWARF 5's directory 0; before 5, directory 0 is not in the table).
        func join(_ name: String, _ dir: Int) -> String {
            if name.hasPrefix("/") || dir < 0 || dir >= directories.count || directories[dir].isEmpty { return name }
            if dir == 0 && directories[0].hasPrefix("/") { return name }
            return directories[dir] + "/" + name
        }
        if version >= 5 {
            func entries(_ r: inout DwarfReader) -> [(path: String, dir: Int)] {
                let formatCount = Int(r.u8())
                var format: [(UInt64, UInt64)] = []
                for _ in 0..<formatCount { format.append((r.uleb(), r.uleb())) }
                let count = r.uleb()
                guard !r.failed, count < 100_000 else { r.offset = r.bytes.count; _ = r.u8(); return [] }
                var out: [(String, Int)] = []
                for _ in 0..<count {
                    var path = "", dir = 0
                    for (content, form) in format {
                        let value = Self.formValue(&r, form: form, offsetSize: offsetSize, lineStrings: lineStrings, strings: strings)
                        if content == 1, case .string(let s)? = value { path = s }
                        if content == 2, case .number(let n)? = value { dir = Int(clamping: n) }
                        if value == nil { r.offset = r.bytes.count; _ = r.u8(); return out }  // an unknown form: give the unit up
                    }
                    out.append((path, dir))
                }
                return out
            }
            directories = entries(&r).map(\.path)
            guard !r.failed else { return }
            unitFiles = entries(&r).map { join($0.path, $0.dir) }
        } else {
            directories = [""]
            while !r.failed, r.offset < end {
                let d = r.cString()
                if d.isEmpty { break }
                directories.append(d)
            }
            unitFiles = [""]  // file 0 is not used before DWARF 5
            while !r.failed, r.offset < end {
                let name = r.cString()
                if name.isEmpty { break }
                let dir = Int(clamping: r.uleb()); _ = r.uleb(); _ = r.uleb()
                unitFiles.append(join(name, dir))
            }
        }
        guard !r.failed else { return }
        let fileBase = Int32(files.count)
        files += unitFiles
        r.offset = programStart

        // The line program's state machine.
        var address: UInt64 = 0, file: Int64 = 1, line: Int64 = 1
        var sequence: [Row] = []
        func emit() {
            guard file >= 0, file < Int64(unitFiles.count) else { return }
            if var last = sequence.last, last.end == UInt64.max { last.end = address; sequence[sequence.count - 1] = last }
            sequence.append(Row(address: address, file: fileBase + Int32(file), line: Int32(clamping: line), end: UInt64.max))
        }
        func endSequence() {
            if var last = sequence.last, last.end == UInt64.max { last.end = address; sequence[sequence.count - 1] = last }
            // A sequence at address 0 is code the linker dropped (its rows would shadow real ones).
            if let first = sequence.first, first.address != 0 { rows += sequence.filter { $0.end > $0.address } }
            sequence.removeAll(keepingCapacity: true)
            address = 0; file = 1; line = 1
        }
        _ = defaultIsStmt
        var steps = 0
        while !r.failed, r.offset < end, steps < 50_000_000 {
            steps += 1
            let opcode = Int(r.u8())
            if opcode >= opcodeBase {
                let adjusted = UInt64(opcode - opcodeBase)
                address &+= (adjusted / lineRange) &* minInstruction
                line += lineBase + Int64(adjusted % lineRange)
                emit()
                continue
            }
            switch opcode {
            case 0:
                let length = Int(clamping: r.uleb())
                let next = r.offset + length
                guard length > 0, next <= end else { r.offset = end; break }
                let sub = r.u8()
                switch sub {
                case 1: endSequence()
                case 2: address = r.fixed(min(length - 1, addressSize == 4 ? 4 : 8))
                default: break
                }
                r.offset = next
            case 1: emit()
            case 2: address &+= r.uleb() &* minInstruction
            case 3: line += r.sleb()
            case 4: file = Int64(clamping: r.uleb())
            case 5: _ = r.uleb()
            case 6, 7, 10, 11: break
            case 8: address &+= ((255 - UInt64(opcodeBase)) / lineRange) &* minInstruction
            case 9: address &+= r.fixed(2)
            default:
                for _ in 0..<(opcode - 1 < standardLengths.count ? standardLengths[opcode - 1] : 0) { _ = r.uleb() }
            }
        }
    }

    private enum FormValue: Equatable {
        case string(String)
        case number(UInt64)
    }

    private static func formValue(_ r: inout DwarfReader, form: UInt64, offsetSize: Int, lineStrings: [UInt8]?, strings: [UInt8]?) -> FormValue? {
        func string(at offset: UInt64, in section: [UInt8]?) -> FormValue? {
            guard let section, offset < UInt64(section.count) else { return .string("") }
            var s = DwarfReader(section, offset: Int(offset))
            return .string(s.cString())
        }
        switch form {
        case 0x08: return .string(r.cString())                                   // DW_FORM_string
        case 0x1F: return string(at: r.fixed(offsetSize), in: lineStrings)      // DW_FORM_line_strp
        case 0x0E: return string(at: r.fixed(offsetSize), in: strings)          // DW_FORM_strp
        case 0x0B: return .number(UInt64(r.u8()))                               // DW_FORM_data1
        case 0x05: return .number(r.fixed(2))                                   // DW_FORM_data2
        case 0x06: return .number(r.fixed(4))                                   // DW_FORM_data4
        case 0x07: return .number(r.fixed(8))                                   // DW_FORM_data8
        case 0x0F: return .number(r.uleb())                                     // DW_FORM_udata
        case 0x1E: _ = r.fixed(8); _ = r.fixed(8); return .number(0)            // DW_FORM_data16 (MD5)
        case 0x09:                                                              // DW_FORM_block
            let n = r.uleb()
            guard n < 1 << 20 else { return nil }
            r.offset += Int(n)
            return .number(0)
        default: return nil
        }
    }
}
