extension String {
    /// UTF-16 code units as a string; an unpaired surrogate becomes U+FFFD, as `String(decoding:as: UTF16.self)`
    /// gives. That initializer takes the standard library's unspecialized path (metadata looked up at run time,
    /// a tenth of dumpdbg's start-up on a minidump's few names); this one transcodes to UTF-8 in a plain loop.
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
            switch scalar {
            case ..<0x80:
                utf8.append(UInt8(scalar))
            case ..<0x800:
                utf8.append(UInt8(0xC0 | scalar >> 6)); utf8.append(UInt8(0x80 | scalar & 0x3F))
            case ..<0x10000:
                utf8.append(UInt8(0xE0 | scalar >> 12)); utf8.append(UInt8(0x80 | scalar >> 6 & 0x3F))
                utf8.append(UInt8(0x80 | scalar & 0x3F))
            default:
                utf8.append(UInt8(0xF0 | scalar >> 18)); utf8.append(UInt8(0x80 | scalar >> 12 & 0x3F))
                utf8.append(UInt8(0x80 | scalar >> 6 & 0x3F)); utf8.append(UInt8(0x80 | scalar & 0x3F))
            }
        }
        self = String(decoding: utf8, as: UTF8.self)
    }
}
