import DumpModel
import Foundation
import Testing
import TestSupport

/// `lowercaseHex` and `uppercaseHex` give what `String(format:)` per byte gives.
struct HexTextTests {
    @Test func agreesWithFormat() {
        var rng = SplitMix(state: 0x4E7)
        for _ in 0..<500 {
            let bytes = (0..<Int(rng.next() % 41)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            #expect(bytes.lowercaseHex == bytes.map { String(format: "%02x", $0) }.joined())
            #expect(bytes.uppercaseHex == bytes.map { String(format: "%02X", $0) }.joined())
        }
    }

    /// The dashed GUID form from `guidGroups` is the one Windows prints from the GUID struct's fields: Data1, Data2
    /// and Data3 loaded as little-endian integers, then Data4's bytes.
    @Test func guidGroupsWriteTheStructsFields() {
        var rng = SplitMix(state: 0x6D1D)
        for _ in 0..<200 {
            let b = (0..<16).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            let (d1, d2, d3) = b.withUnsafeBytes {
                (UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self)), UInt16(littleEndian: $0.loadUnaligned(fromByteOffset: 4, as: UInt16.self)),
                 UInt16(littleEndian: $0.loadUnaligned(fromByteOffset: 6, as: UInt16.self)))
            }
            let windows = String(format: "%08X-%04X-%04X-", d1, d2, d3) + b[8..<10].map { String(format: "%02X", $0) }.joined()
                + "-" + b[10...].map { String(format: "%02X", $0) }.joined()
            #expect(b.guidGroups.map(\.uppercaseHex).joined(separator: "-") == windows)
        }
        #expect([UInt8](repeating: 1, count: 15).guidGroups.isEmpty)
    }
}
