extension String {
    /// UTF-16 code units as a string; an unpaired surrogate becomes U+FFFD, as `String(decoding:as: UTF16.self)`
    /// gives. That initializer takes the standard library's unspecialized path (metadata looked up at run time,
    /// a tenth of dumpdbg's start-up on a minidump's few names); this one pairs the surrogates itself and
    /// encodes each scalar with `UTF8.encode`.
    public init(decodingUTF16 units: [UInt16]) {
        var utf8: [UInt8] = []
        utf8.reserveCapacity(units.count)
        var i = 0
        while i < units.count {
            var scalar = UInt32(units[i])
            i += 1
            if scalar & 0xF800 == 0xD800 {
                if scalar < 0xDC00, i < units.count, units[i] & 0xFC00 == 0xDC00 {
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (UInt32(units[i]) - 0xDC00)
                    i += 1
                } else {
                    scalar = 0xFFFD
                }
            }
            // Surrogates never reach here: every scalar value left is valid.
            UTF8.encode(Unicode.Scalar(scalar) ?? "\u{FFFD}") { utf8.append($0) }
        }
        self = String(decoding: utf8, as: UTF8.self)
    }

    /// Little-endian UTF-16 bytes, as dumps and the structures in them store text, decoded as above; an odd last
    /// byte is left out. With `untilNull`, the text ends at the first zero unit (a fixed-size field's padding).
    public init(decodingUTF16LittleEndian bytes: UnsafeRawBufferPointer, untilNull: Bool = false) {
        var units: [UInt16] = []
        units.reserveCapacity(bytes.count / 2)
        var i = 0
        while i + 1 < bytes.count {
            let unit = UInt16(bytes[i]) | UInt16(bytes[i + 1]) << 8
            if untilNull, unit == 0 { break }
            units.append(unit)
            i += 2
        }
        self.init(decodingUTF16: units)
    }

    public init(decodingUTF16LittleEndian bytes: [UInt8], untilNull: Bool = false) {
        self = bytes.withUnsafeBytes { String(decodingUTF16LittleEndian: $0, untilNull: untilNull) }
    }
}
