extension Array where Element == UInt8 {
    /// The bytes as lowercase hex digits, two a byte, as build ids, digests and instruction bytes are printed.
    public var lowercaseHex: String { hexDigits("0123456789abcdef") }
    /// The same in uppercase, as Breakpad prints a GUID.
    public var uppercaseHex: String { hexDigits("0123456789ABCDEF") }

    /// A GUID's 16 bytes in the order it is written, as the five groups of its dashed form: Data1, Data2 and
    /// Data3 stored little-endian, then Data4's eight bytes as they lie (two, then six). Empty unless 16 bytes.
    public var guidGroups: [[UInt8]] {
        guard count == 16 else { return [] }
        let b = self
        return [[b[3], b[2], b[1], b[0]], [b[5], b[4]], [b[7], b[6]], [b[8], b[9]], Array(b[10..<16])]
    }

    /// A table and one string, not `String(format: "%02x")` per byte: that goes through `CVarArg` casts whose first
    /// use in a process scans every conformance record in the binary (a tenth of a triage worker's run).
    private func hexDigits(_ digits: StaticString) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(count * 2)
        digits.withUTF8Buffer { table in
            for b in self {
                out.append(table[Int(b >> 4)])
                out.append(table[Int(b & 0xF)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
