import Native
import Testing

/// `ElfSymbolFile.findVersion` finds the runtime's `@(#)Version ` string wherever it lies in an image's bytes.
@Suite struct VersionMarkerTests {
    func find(_ text: [UInt8]) -> String? {
        text.withUnsafeBytes { ElfSymbolFile.findVersion(in: $0) }
    }

    @Test func foundAfterFalseStartsAndAtEitherEnd() {
        let marker = Array("@(#)Version ".utf8)
        #expect(find(marker + Array("4.700.22.11601 @Commit: x".utf8)) == "4.700.22.11601")
        #expect(find(Array("@@(#)Versio @(# @(#)Version 3.1.23\0".utf8)) == "3.1.23")
        // The last place the marker can start still has one byte after it.
        #expect(find(Array(repeating: 0x40, count: 5000) + marker + [0x39]) == "9")
        #expect(find(Array(repeating: 0, count: 100) + marker) == nil)
        #expect(find(Array("no marker here @(#)Versio".utf8)) == nil)
        #expect(find([]) == nil)
    }
}
