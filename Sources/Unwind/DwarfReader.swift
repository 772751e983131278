/// A cursor over bytes of DWARF call frame information: LEB128, fixed-width integers and `DW_EH_PE_*`
/// encoded pointers. Reading past the end sets `failed` and returns 0, so a damaged record ends its parse
/// instead of trapping.
struct DwarfReader {
    let bytes: [UInt8]
    /// The link-time address of `bytes[0]`, for pc-relative pointers.
    let baseAddress: UInt64
    var offset = 0
    private(set) var failed = false

    init(_ bytes: [UInt8], baseAddress: UInt64 = 0, offset: Int = 0) {
        self.bytes = bytes
        self.baseAddress = baseAddress
        self.offset = offset
    }

    var atEnd: Bool { offset >= bytes.count || failed }

    mutating func u8() -> UInt8 {
        guard offset < bytes.count else { failed = true; return 0 }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func fixed(_ n: Int) -> UInt64 {
        guard n >= 0, offset + n <= bytes.count else { failed = true; offset = bytes.count; return 0 }
        var v: UInt64 = 0
        for i in (0..<n).reversed() { v = v << 8 | UInt64(bytes[offset + i]) }
        offset += n
        return v
    }

    mutating func uleb() -> UInt64 {
        var result: UInt64 = 0, shift: UInt64 = 0
        while true {
            let b = u8()
            if failed { return 0 }
            if shift < 64 { result |= UInt64(b & 0x7F) << shift }
            shift += 7
            if b & 0x80 == 0 { return result }
        }
    }

    mutating func sleb() -> Int64 {
        var result: Int64 = 0, shift: Int64 = 0
        var b: UInt8 = 0
        repeat {
            b = u8()
            if failed { return 0 }
            if shift < 64 { result |= Int64(b & 0x7F) << shift }
            shift += 7
        } while b & 0x80 != 0
        if shift < 64, b & 0x40 != 0 { result |= -(Int64(1) << shift) }
        return result
    }

    mutating func cString() -> String {
        var out: [UInt8] = []
        while true {
            let b = u8()
            if failed || b == 0 || out.count > 4096 { break }
            out.append(b)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// A `DW_EH_PE_*` encoded pointer. pcrel is relative to the field's own address; datarel to `dataBase`
    /// (the `.eh_frame_hdr` start). Indirect pointers cannot be followed here and give nil.
    mutating func encodedPointer(_ encoding: UInt8, pointerSize: Int, dataBase: UInt64 = 0) -> UInt64? {
        if encoding == 0xFF { return nil }
        let fieldAddress = baseAddress &+ UInt64(offset)
        var value: UInt64
        switch encoding & 0x0F {
        case 0x00: value = fixed(pointerSize)
        case 0x01: value = uleb()
        case 0x02: value = fixed(2)
        case 0x03: value = fixed(4)
        case 0x04: value = fixed(8)
        case 0x09: value = UInt64(bitPattern: sleb())
        case 0x0A: value = UInt64(bitPattern: Int64(Int16(truncatingIfNeeded: fixed(2))))
        case 0x0B: value = UInt64(bitPattern: Int64(Int32(truncatingIfNeeded: fixed(4))))
        case 0x0C: value = fixed(8)
        default: failed = true; return nil
        }
        switch encoding & 0x70 {
        case 0x00: break
        case 0x10: value = value &+ fieldAddress
        case 0x30: value = value &+ dataBase
        default: return nil
        }
        if encoding & 0x80 != 0 { return nil }
        if pointerSize == 4 { value &= 0xFFFF_FFFF }
        return failed ? nil : value
    }

    /// The size of a pointer's encoding when it is fixed (for skipping), nil for LEB128.
    static func fixedSize(_ encoding: UInt8, pointerSize: Int) -> Int? {
        switch encoding & 0x0F {
        case 0x00: return pointerSize
        case 0x02, 0x0A: return 2
        case 0x03, 0x0B: return 4
        case 0x04, 0x0C: return 8
        default: return nil
        }
    }
}
