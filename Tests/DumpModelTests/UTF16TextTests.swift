import DumpModel
import Testing
import TestSupport

/// `String(decodingUTF16:)` gives what the standard library's UTF-16 decoding gives, unpaired surrogates included.
@Suite struct UTF16TextTests {
    @Test func knownText() {
        let text = "C:\\Windows\\system32\\ntdll.dll é ü 中文 𝄞 🙂"
        #expect(String(decodingUTF16: Array(text.utf16)) == text)
        #expect(String(decodingUTF16: []) == "")
        #expect(String(decodingUTF16: [0x41, 0xD800, 0x42, 0xDC00, 0xDBFF]) == "A\u{FFFD}B\u{FFFD}\u{FFFD}")
    }

    @Test func randomUnitsAgreeWithTheStandardLibrary() {
        var rng = SplitMix(state: 16)
        // Units drawn mostly from the edges: ASCII, two- and three-byte ranges, both surrogate halves.
        let edges: [ClosedRange<UInt16>] = [0...0x7F, 0x80...0x7FF, 0x800...0xD7FF, 0xD800...0xDBFF, 0xDC00...0xDFFF, 0xE000...0xFFFF]
        for _ in 0..<3000 {
            let units = (0..<Int(rng.next() % 12)).map { _ in UInt16.random(in: edges[Int(rng.next() % 6)], using: &rng) }
            // Bytes, not String ==, which would take canonically equivalent strings as equal.
            #expect(Array(String(decodingUTF16: units).utf8) == Array(String(decoding: units, as: UTF16.self).utf8), "\(units)")
        }
    }

    /// Little-endian bytes, an odd last byte and a zero unit included, decode as their units do.
    @Test func littleEndianBytesDecodeAsTheirUnits() {
        var rng = SplitMix(state: 17)
        for _ in 0..<3000 {
            let bytes = (0..<Int(rng.next() % 16)).map { _ in rng.next() % 4 == 0 ? 0 : UInt8(truncatingIfNeeded: rng.next()) }
            let units = stride(from: 0, to: bytes.count - 1, by: 2).map { UInt16(bytes[$0]) | UInt16(bytes[$0 + 1]) << 8 }
            let untilNull = Array(units.prefix { $0 != 0 })
            #expect(Array(String(decodingUTF16LittleEndian: bytes).utf8) == Array(String(decoding: units, as: UTF16.self).utf8),
                    "\(bytes)")
            #expect(Array(String(decodingUTF16LittleEndian: bytes, untilNull: true).utf8)
                    == Array(String(decoding: untilNull, as: UTF16.self).utf8), "\(bytes)")
        }
        #expect(String(decodingUTF16LittleEndian: [0x41, 0, 0x3D, 0xD8, 0x42, 0xDE, 0, 0, 0x43, 0], untilNull: true) == "A🙂")
    }
}
