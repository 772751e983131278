@testable import DumpModel
import Foundation
import Testing
import TestSupport

/// `readExact` copies across ranges piece by piece and gives up at the first missing byte; `read` marks each
/// byte. The two must agree on every request: exact bytes exactly where `read` has no gap, and so must the
/// integer reads.
struct AddressSpaceReadTests {
    @Test func readExactAgreesWithReadAcrossRangesGapsAndTruncation() throws {
        var rng = SplitMix(state: 0xADD5)
        let content = (0..<0x1000).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let file = try MappedFile(path: TempFiles.write(content, name: "address-space.bin"))
        typealias R = AddressSpace.Range
        let ranges = [
            R(start: 0x1000, size: 0x100, fileOffset: 0, present: 0x100),
            R(start: 0x1100, size: 0x100, fileOffset: 0x400, present: 0x100),  // adjacent, elsewhere in the file
            R(start: 0x1200, size: 0x100, fileOffset: 0x800, present: 0x40),  // truncated: the rest is missing
            R(start: 0x1300, size: 0x80, fileOffset: 0x900, present: 0x80),  // after the truncated one
            R(start: 0x2000, size: 0x100, fileOffset: 0xA00, present: 0x100),  // after a gap
            R(start: 0x3000, size: 0x100, fileOffset: 0xF80, present: 0x100),  // its bytes run past the file's end
            R(start: 0xFFFF_FFFF_FFFF_FF00, size: 0xFF, fileOffset: 0xE00, present: 0xFF),  // at the top
        ]
        let space = AddressSpace(file: file, ranges: ranges, pointerSize: 8)
        let anchors: [UInt64] = [0x1000, 0x1100, 0x1200, 0x1240, 0x1300, 0x1380, 0x2000, 0x2100, 0x3000, 0x3080, 0xFFFF_FFFF_FFFF_FF00, 0]
        for _ in 0..<20_000 {
            let a = anchors.randomElement(using: &rng)! &+ UInt64(bitPattern: Int64.random(in: -0x120...0x120, using: &rng))
            let n = Int.random(in: 0...0x300, using: &rng)
            let marked = space.read(a, count: n)
            let expected: [UInt8]? = marked.contains { $0 == nil } ? nil : marked.compactMap { $0 }
            #expect(space.readExact(a, count: n) == expected, "address \(String(a, radix: 16)) count \(n)")
            // The integer reads share readExact's one search: a value exactly where `read` has all its bytes.
            func little(_ k: Int) -> UInt64? {
                let b = space.read(a, count: k)
                return b.contains { $0 == nil } ? nil : b.reversed().reduce(0) { $0 << 8 | UInt64($1!) }
            }
            #expect(space.readU64(a) == little(8) && space.readU32(a).map(UInt64.init) == little(4)
                    && space.readU16(a).map(UInt64.init) == little(2) && space.readU8(a).map(UInt64.init) == little(1),
                    "address \(String(a, radix: 16))")
        }
        #expect(space.readExact(0x10F0, count: 0x20) == Array(content[0xF0..<0x100] + content[0x400..<0x410]))
        #expect(space.readExact(0x1230, count: 0x20) == nil)
        #expect(space.readExact(0xFFFF_FFFF_FFFF_FFF0, count: 0x20) == nil)
        #expect(space.readExact(0x3000, count: 0x80) == Array(content[0xF80..<0x1000]))
        #expect(space.readExact(0x3070, count: 0x20) == nil)
    }
}
