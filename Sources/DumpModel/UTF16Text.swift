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
}
