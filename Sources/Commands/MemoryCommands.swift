import DumpModel
import Foundation

/// An address range as WinDbg's commands take it: `ADDR`, `ADDR L COUNT`, `ADDR L?COUNT`, `ADDR ENDADDR`.
struct AddressRange {
    var start: UInt64
    /// Units (bytes, words, ...) to show.
    var count: UInt64

    /// Parses `text`; `defaultCount` applies when no length is given. `unit` converts an end address to units.
    static func parse(_ text: String, session s: Session, defaultCount: UInt64, unit: UInt64,
                      fallbackStart: UInt64?, limit: UInt64 = 0x10_0000) throws -> AddressRange {
        let env = s.expressionEnvironment
        var e = ExpressionEvaluator(text, environment: env)
        var start: UInt64
        if e.atEnd {
            guard let f = fallbackStart else { throw CommandError("No address given") }
            return AddressRange(start: f, count: defaultCount)
        }
        // `u L3` continues where the last one stopped; `u libc_so!pause L3` starts at a symbol.
        let r = e.remainder
        if r.lowercased().hasPrefix("l") && fallbackStart != nil && (r.dropFirst().first.map { $0.isNumber || $0 == "?" || $0 == " " } ?? true) {
            start = fallbackStart!
        } else {
            start = try e.evaluate()
        }
        var count = defaultCount
        if !e.atEnd {
            let rest = e.remainder
            if rest.lowercased().hasPrefix("l") {
                var body = String(rest.dropFirst())
                var unlimited = false
                if body.hasPrefix("?") { unlimited = true; body.removeFirst() }
                count = try ExpressionEvaluator.evaluate(body, environment: env)
                if count.multipliedReportingOverflow(by: unit).overflow {
                    throw CommandError("Range error in '\(text)': the range is larger than the address space")
                }
                if !unlimited && count * unit > limit {
                    throw CommandError("Range error in '\(text)': use L? for more than 0x\(String(limit, radix: 16)) bytes")
                }
            } else {
                var e2 = ExpressionEvaluator(rest, environment: env)
                let end = try e2.evaluate()
                guard e2.atEnd else { throw CommandError.syntax(text) }
                guard end >= start else { throw CommandError("Range error in '\(text)'") }
                // ceil((end - start + 1) / unit) without the +1 that overflows for 0..ffffffffffffffff.
                let units = ((end - start) / unit).addingReportingOverflow(1)
                let bytes = units.partialValue.multipliedReportingOverflow(by: unit)
                if units.overflow || bytes.overflow || bytes.partialValue > limit { throw CommandError("Range error in '\(text)'") }
                count = units.partialValue
            }
        }
        return AddressRange(start: start, count: count)
    }

    /// The bytes `count` units cover, stopping at the top of the address space rather than wrapping.
    func byteCount(unit: UInt64) -> UInt64 {
        let (total, overflow) = count.multipliedReportingOverflow(by: unit)
        let after = UInt64.max - start  // bytes after `start`; with it, one more unless that overflows
        let room = after == UInt64.max ? after : after + 1
        if overflow { return room }
        return room < total ? room : total
    }
}

extension Session {
    /// Long runs of memory the dump lacks print as one line instead of a `??` row per unit, so a command's
    /// output stays bounded by what the dump holds (`db 0 L?ffffffff`). Returns how many bytes from
    /// `address` to skip: the run up to the next byte the dump holds, at most `remaining`; nil when the
    /// run is no longer than `threshold`, which keeps WinDbg's `??` rows for the usual small gaps.
    func missingRun(at address: UInt64, remaining: UInt64, threshold: UInt64) -> UInt64? {
        guard !memory.isReadable(address) else { return nil }
        let run = memory.nextPresentAddress(from: address).map { $0 &- address } ?? remaining
        let skip = min(run, remaining)
        return skip > threshold ? skip : nil
    }

    /// For row-by-row displays: when more than 16 rows from `offset` are missing, prints the one line for
    /// them and returns the offset of the row that holds the next present byte (or `total`).
    func skipMissingRows(from start: UInt64, offset: UInt64, total: UInt64, row: UInt64) -> UInt64? {
        let at = start &+ offset
        guard let skip = missingRun(at: at, remaining: total - offset, threshold: 16 * row) else { return nil }
        let rows = max(1, skip / row)
        reportMissingRun(at: at, count: min(rows * row, total - offset))
        return rows * row > total - offset ? total : offset + rows * row
    }

    /// The one line for a skipped run of `count` missing bytes at `address`.
    func reportMissingRun(at address: UInt64, count: UInt64) {
        output.line("Memory access error at \(self.address(address))-\(self.address(address &+ (count - 1))) (not in the dump)")
    }
}

/// `db dw dd dq dp dc da du dps dpp`: display memory, `??` where the dump lacks it.
struct DisplayMemoryCommand: DebuggerCommand {
    let names = ["db", "dw", "dd", "dq", "dp", "dc", "da", "du", "dps", "dqs", "dds", "d"]
    let summary = "display memory (db/dw/dd/dq/dp/dc, da/du strings, dps pointers with symbols)"
    let help = """
    db|dw|dd|dq|dp|dc|da|du|dps [ADDRESS] [L COUNT | ENDADDRESS]
                  shows memory as bytes, words, dwords, qwords, pointers, dwords+chars, ASCII, Unicode,
                  or pointers with symbols. Missing memory prints ??. With no address, continues.
    Example: db @rsp L40
    """

    func run(_ inv: Invocation, in s: Session) throws {
        var name = inv.name.lowercased()
        if name == "d" { name = "db" }
        let ps = UInt64(s.pointerSize)
        switch name {
        case "da", "du":
            let r = try AddressRange.parse(inv.arguments, session: s, defaultCount: name == "da" ? 0x100 : 0x80, unit: name == "da" ? 1 : 2,
                                           fallbackStart: s.nextDumpAddress)
            try strings(r, wide: name == "du", s)
        case "dps", "dqs", "dds":
            let size: UInt64 = name == "dqs" ? 8 : name == "dds" ? 4 : ps
            let r = try AddressRange.parse(inv.arguments, session: s, defaultCount: 0x80 / size, unit: size, fallbackStart: s.nextDumpAddress)
            try pointers(r, size: size, s)
        default:
            let size: UInt64 = ["db": 1, "dw": 2, "dd": 4, "dc": 4, "dq": 8, "dp": ps][name] ?? 1
            let r = try AddressRange.parse(inv.arguments, session: s, defaultCount: 0x80 / size, unit: size, fallbackStart: s.nextDumpAddress)
            try Self.dump(r, unitSize: size, chars: name == "db" || name == "dc", s)
        }
    }

    /// Rows of 16 bytes: address, units, and (for db/dc) the characters.
    static func dump(_ r: AddressRange, unitSize: UInt64, chars: Bool, _ s: Session) throws {
        s.emit(try memory(r, unitSize: unitSize, chars: chars, s))
    }

    static func memory(_ r: AddressRange, unitSize: UInt64, chars: Bool, _ s: Session) throws -> MemoryValue {
        let total = r.byteCount(unit: unitSize)
        var offset: UInt64 = 0
        let perLine: UInt64 = 16
        var rows: [MemoryValue.Row] = []
        while offset < total {
            try s.checkInterrupt()
            let lineStart = r.start &+ offset
            // More than 16 rows the dump lacks: one line for all of them, then the row of the next byte it has.
            if let skip = s.missingRun(at: lineStart, remaining: total - offset, threshold: 16 * perLine) {
                let n = max(1, skip / perLine)
                rows.append(.init(address: HexValue(lineStart), units: nil, text: nil,
                                  missingEnd: HexValue(lineStart &+ (min(n * perLine, total - offset) - 1))))
                offset = n * perLine > total - offset ? total : offset + n * perLine
                continue
            }
            let count = Int(min(perLine, total - offset))
            let bytes = s.memory.read(lineStart, count: count)
            var units: [HexValue?] = []
            var i = 0
            while i + Int(unitSize) <= count {
                let unit = bytes[i..<(i + Int(unitSize))]
                if unit.contains(where: { $0 == nil }) {
                    units.append(nil)
                } else {
                    var v: UInt64 = 0
                    for (k, b) in unit.enumerated() {
                        let shift = s.memory.bigEndian ? (Int(unitSize) - 1 - k) * 8 : k * 8
                        v |= UInt64(b!) << UInt64(shift)
                    }
                    units.append(HexValue(v))
                }
                i += Int(unitSize)
            }
            let text = chars ? String(bytes.map { b -> Character in
                guard let b else { return "?" }
                return b >= 0x20 && b < 0x7F ? Character(UnicodeScalar(b)) : "."
            }) : nil
            rows.append(.init(address: HexValue(lineStart), units: units, text: text, missingEnd: nil))
            offset = perLine > total - offset ? total : offset + perLine
        }
        s.nextDumpAddress = r.start &+ total
        return MemoryValue(unitSize: Int(unitSize), rows: rows, pointerSize: s.pointerSize)
    }

    /// da/du: strings up to a NUL, at most `count` characters; long strings wrap as WinDbg does.
    func strings(_ r: AddressRange, wide: Bool, _ s: Session) throws {
        let unit = wide ? 2 : 1
        let chunk = wide ? 32 : 48
        var at = r.start
        var remaining = Int(clamping: r.count)
        var first = true
        var rows: [StringsValue.Row] = []
        while remaining > 0 {
            try s.checkInterrupt()
            let n = min(chunk, remaining)
            let raw = s.memory.read(at, count: n * unit)
            var text = ""
            var ended = false
            var missing = false
            var consumed = 0
            for k in 0..<n {
                let lo = raw[k * unit], hi = wide ? raw[k * unit + 1] : 0
                guard let lo, let hi else {
                    if consumed == 0 && first { missing = true }
                    ended = true
                    break
                }
                let v = UInt16(lo) | UInt16(hi) << 8
                if v == 0 { ended = true; break }
                consumed += 1
                if let u = UnicodeScalar(v), v >= 0x20, v != 0x7F { text.append(Character(u)) } else { text.append(".") }
            }
            if missing {
                rows.append(.init(address: HexValue(at), text: nil))
                break
            }
            rows.append(.init(address: HexValue(at), text: text))
            first = false
            at &+= UInt64(consumed * unit)
            remaining -= consumed
            if ended { break }
        }
        s.nextDumpAddress = at
        s.emit(StringsValue(rows: rows, pointerSize: s.pointerSize))
    }

    /// dps: one pointer per line with the module+offset it points into.
    func pointers(_ r: AddressRange, size: UInt64, _ s: Session) throws {
        let total = r.byteCount(unit: size)
        var offset: UInt64 = 0
        var rows: [PointersValue.Row] = []
        while offset < total {
            try s.checkInterrupt()
            let a = r.start &+ offset
            if let skip = s.missingRun(at: a, remaining: total - offset, threshold: 16 * size) {
                let n = max(1, skip / size)
                rows.append(.init(address: HexValue(a), value: nil, symbol: nil, missingEnd: HexValue(a &+ (min(n * size, total - offset) - 1))))
                offset = n * size > total - offset ? total : offset + n * size
                continue
            }
            offset = size > total - offset ? total : offset + size
            let v: UInt64? = size == 8 ? s.memory.readU64(a) : s.memory.readU32(a).map(UInt64.init)
            rows.append(.init(address: HexValue(a), value: v.map(HexValue.init), symbol: v.flatMap { s.symbolicName($0) }, missingEnd: nil))
        }
        s.nextDumpAddress = r.start &+ total
        s.emit(PointersValue(size: Int(size), rows: rows, pointerSize: s.pointerSize))
    }
}

/// `dps`/`dds`/`dqs`: one pointer per row with the symbol (or module+offset) it points into.
struct PointersValue: CommandValue {
    struct Row: Encodable {
        let address: HexValue
        /// Nil where the dump lacks the pointer.
        let value: HexValue?
        let symbol: String?
        /// Set on a row that stands for a run of missing memory, from `address` to here.
        let missingEnd: HexValue?
    }
    let size: Int
    let rows: [Row]
    let pointerSize: Int

    enum CodingKeys: String, CodingKey { case size, rows }

    func textLines() -> [String] {
        rows.map { row in
            let a = Hex.address(row.address.value, pointerSize: pointerSize)
            if let end = row.missingEnd {
                return "Memory access error at \(a)-\(Hex.address(end.value, pointerSize: pointerSize)) (not in the dump)"
            }
            let shown = row.value.map { size == 8 ? Hex.tick($0.value) : Hex.pad($0.value, 8) } ?? (size == 8 ? "????????`????????" : "????????")
            return "\(a)  \(shown)" + (row.symbol.map { " " + $0 } ?? "")
        }
    }
}

/// `s`: search memory for bytes, words, dwords, qwords, ASCII or Unicode text.
struct SearchMemoryCommand: DebuggerCommand {
    let names = ["s"]
    let summary = "search memory (s -b|-w|-d|-q|-a|-u RANGE PATTERN)"
    let help = """
    s -[b|w|d|q|a|u] RANGE PATTERN
                  searches RANGE (ADDR L COUNT, ADDR L?COUNT or START END) for PATTERN: bytes (-b, default),
                  words, dwords, qwords, an ASCII (-a) or UTF-16 (-u) string. Each hit prints as a memory line.
    Example: s -a 0 L?7fffffffffff "dumpdbg"
    """

    func run(_ inv: Invocation, in s: Session) throws {
        var hits: [MemoryValue.Row] = []
        var unitSize = 1
        // One value for all the hits; on Ctrl-C the hits found so far still show.
        do { try search(inv, s, &hits, &unitSize) } catch {
            if !hits.isEmpty { s.emit(MemoryValue(unitSize: unitSize, rows: hits, pointerSize: s.pointerSize)) }
            throw error
        }
        s.emit(MemoryValue(unitSize: unitSize, rows: hits, pointerSize: s.pointerSize))
    }

    private func search(_ inv: Invocation, _ s: Session, _ hits: inout [MemoryValue.Row], _ unitSize: inout Int) throws {
        var text = inv.arguments.trimmed(" ")
        var kind: Character = "b"
        if text.hasPrefix("-") {
            let flag = text.dropFirst().prefix(1)
            guard let k = flag.first, "bwdqau".contains(k) else { throw CommandError.syntax("s " + inv.arguments) }
            kind = k
            text = String(text.dropFirst(2)).trimmed(" ")
        }
        // Range, then pattern: split where the range's expressions end.
        let (range, patternText) = try splitRange(text, s)
        let pattern = try makePattern(kind, patternText, s)
        guard !pattern.isEmpty else { throw CommandError("No pattern given") }
        let unit: UInt64 = ["w": 2, "d": 4, "q": 8][kind] ?? 1
        unitSize = Int(unit)
        guard range.count > 0 else { return }
        // The last address searched, inclusive: `s -a 0 ffffffffffffffff` reaches the top without wrapping.
        let last = range.start &+ min(range.count - 1, UInt64.max - range.start)
        let ranges = s.memory.ranges
        for (index, r) in ranges.enumerated() where r.present > 0 && r.start &+ (r.present - 1) >= range.start && r.start <= last {
            s.progress.update("s", fraction: Double(index) / Double(ranges.count))
            try s.checkInterrupt()
            let lo = max(r.start, range.start)
            let hiInclusive = min(r.start &+ (r.present - 1), last)
            guard hiInclusive >= lo, hiInclusive - lo < UInt64(Int.max),
                  let buf = s.memory.contiguousBytes(lo, count: Int(hiInclusive - lo) + 1) else { continue }
            var i = 0
            let n = buf.count - pattern.count
            while i <= n {
                if buf[i] == pattern[0] {
                    var k = 1
                    while k < pattern.count && buf[i + k] == pattern[k] { k += 1 }
                    if k == pattern.count {
                        let at = lo + UInt64(i)
                        if unit == 1 || (at % unit == 0) {
                            hits += try hitRows(at, kind: kind, s)
                        }
                    }
                }
                i += 1
                if i & 0xFFFFF == 0 {
                    try s.checkInterrupt()
                    s.progress.update("s", fraction: (Double(index) + Double(i) / Double(max(1, buf.count))) / Double(ranges.count))
                }
            }
        }
    }

    /// The memory line WinDbg prints for a hit: 16 bytes (with characters), or a row of the searched unit.
    private func hitRows(_ at: UInt64, kind: Character, _ s: Session) throws -> [MemoryValue.Row] {
        let saved = s.nextDumpAddress
        defer { s.nextDumpAddress = saved }
        switch kind {
        case "w": return try DisplayMemoryCommand.memory(AddressRange(start: at, count: 8), unitSize: 2, chars: false, s).rows
        case "d": return try DisplayMemoryCommand.memory(AddressRange(start: at, count: 4), unitSize: 4, chars: false, s).rows
        case "q": return try DisplayMemoryCommand.memory(AddressRange(start: at, count: 2), unitSize: 8, chars: false, s).rows
        default: return try DisplayMemoryCommand.memory(AddressRange(start: at, count: 16), unitSize: 1, chars: true, s).rows
        }
    }

    private func splitRange(_ text: String, _ s: Session) throws -> (AddressRange, String) {
        let env = s.expressionEnvironment
        var e = ExpressionEvaluator(text, environment: env)
        let start = try e.evaluate()
        var rest = e.remainder
        var count: UInt64
        if rest.lowercased().hasPrefix("l") {
            var body = String(rest.dropFirst())
            var unlimited = false
            if body.hasPrefix("?") { unlimited = true; body.removeFirst() }
            var e2 = ExpressionEvaluator(body, environment: env)
            count = try e2.evaluate()
            if !unlimited && count > 0x1000_0000 { throw CommandError("Range error in '\(text)': use L? for a larger range") }
            rest = e2.remainder
        } else {
            var e2 = ExpressionEvaluator(rest, environment: env)
            let end = try e2.evaluate()
            guard end >= start else { throw CommandError("Range error in '\(text)'") }
            // Inclusive end; 0..ffffffffffffffff holds one byte more than a count can say, and no dump
            // holds the top byte's neighbours anyway.
            count = end - start == UInt64.max ? UInt64.max : end - start + 1
            rest = e2.remainder
        }
        return (AddressRange(start: start, count: count), rest)
    }

    private func makePattern(_ kind: Character, _ text: String, _ s: Session) throws -> [UInt8] {
        switch kind {
        case "a", "u":
            var t = text.trimmed(" ")
            if t.hasPrefix("\""), t.hasSuffix("\""), t.count >= 2 { t = String(t.dropFirst().dropLast()) }
            if kind == "a" { return Array(t.utf8) }
            return t.utf16.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
        default:
            let size = ["b": 1, "w": 2, "d": 4, "q": 8][kind] ?? 1
            var out: [UInt8] = []
            for w in text.split(separator: " ") {
                guard let v = ExpressionEvaluator.number(String(w)) else { throw CommandError.syntax(String(w)) }
                if size < 8, v >> UInt64(size * 8) != 0 { throw CommandError("Value \(w) does not fit in \(size) byte(s)") }
                for k in 0..<size {
                    let shift = s.memory.bigEndian ? (size - 1 - k) * 8 : k * 8
                    out.append(UInt8((v >> UInt64(shift)) & 0xFF))
                }
            }
            return out
        }
    }
}

/// `db`/`dw`/`dd`/`dq`/`dp`/`dc`: rows of memory, each 16 bytes as units (null where the dump lacks a byte of the
/// unit) and, for db/dc, characters; a long run the dump lacks is one row with `missingEnd`.
struct MemoryValue: CommandValue {
    struct Row: Encodable {
        let address: HexValue
        let units: [HexValue?]?
        /// The row's bytes as characters (`.` for unprintable, `?` for missing), for db and dc.
        let text: String?
        /// Set on a row that stands for a run of missing memory, from `address` to here.
        let missingEnd: HexValue?

        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(address, forKey: .address)
            if let units {
                var u = c.nestedUnkeyedContainer(forKey: .units)
                for v in units { if let v { try u.encode(v) } else { try u.encodeNil() } }
            }
            try c.encodeIfPresent(text, forKey: .text)
            try c.encodeIfPresent(missingEnd, forKey: .missingEnd)
        }
        enum CodingKeys: String, CodingKey { case address, units, text, missingEnd }
    }
    let unitSize: Int
    let rows: [Row]
    let pointerSize: Int

    enum CodingKeys: String, CodingKey { case unitSize, rows }

    func textLines() -> [String] {
        let perLine = 16
        return rows.map { row in
            let a = Hex.address(row.address.value, pointerSize: pointerSize)
            if let end = row.missingEnd {
                return "Memory access error at \(a)-\(Hex.address(end.value, pointerSize: pointerSize)) (not in the dump)"
            }
            let cols = (row.units ?? []).map { v -> String in
                guard let v else { return unitSize == 8 ? "????????`????????" : String(repeating: "?", count: unitSize * 2) }
                return unitSize == 8 ? Hex.tick(v.value) : Hex.pad(v.value, unitSize * 2)
            }
            var text: String
            if unitSize == 1 {
                // db: "xx xx xx xx xx xx xx xx-xx xx ..."
                text = ""
                for (k, c) in cols.enumerated() { text += (k == 0 ? "" : (k == 8 ? "-" : " ")) + c }
                text = text.rightPad(47)
            } else {
                text = cols.joined(separator: " ")
                let full = perLine / unitSize * (unitSize == 8 ? 17 : unitSize * 2) + perLine / unitSize - 1
                if row.text != nil { text = text.rightPad(full) }
            }
            return "\(a)  \(text)" + (row.text.map { "  " + $0 } ?? "")
        }
    }
}

/// `da`/`du`: a string in rows (WinDbg wraps long strings); `text` is nil where the dump lacks the first characters.
struct StringsValue: CommandValue {
    struct Row: Encodable {
        let address: HexValue
        /// The characters (unprintable ones as `.`); nil when the memory is not in the dump.
        let text: String?
    }
    let rows: [Row]
    let pointerSize: Int

    enum CodingKeys: String, CodingKey { case rows }

    func textLines() -> [String] {
        rows.map { "\(Hex.address($0.address.value, pointerSize: pointerSize))  " + ($0.text.map { "\"\($0)\"" } ?? "????") }
    }
}
