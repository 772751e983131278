import Foundation
import Testing
@testable import Metadata

/// Corrupt and truncated copies of app.exe: every outcome must be a thrown MetadataError or a
/// successful read, never a trap or a hang.
@Suite struct BadInputTests {
    let original: [UInt8]
    /// File offset just past the metadata; any truncation before it must fail.
    let metadataEnd: Int

    init() throws {
        original = try Fixtures.appBytes()
        let image = try PEImage(source: ByteArraySource(original))
        let window = try image.metadataBytes()
        metadataEnd = window.start + window.count
    }

    /// Parse and walk; nil on success, the error otherwise.
    func attempt(_ bytes: [UInt8]) -> MetadataError? {
        do {
            let reader = try MetadataReader(image: PEImage(source: ByteArraySource(bytes)))
            try reader.walkEverything()
            _ = try reader.typeDef(named: "CrashLab.UserProfile")
            return nil
        } catch let e as MetadataError {
            #expect(!e.message.isEmpty)
            return e
        } catch {
            Issue.record("unexpected error type \(type(of: error)): \(error)")
            return nil
        }
    }

    @Test func truncatedCopiesThrow() {
        var failures = 0
        for length in stride(from: 0, to: original.count, by: 3) {
            let error = attempt(Array(original.prefix(length)))
            if length < metadataEnd {
                #expect(error != nil, "truncated to \(length) bytes but parsed fine")
            }
            if error != nil { failures += 1 }
        }
        #expect(failures > 0)
    }

    @Test func emptyAndTinyInputs() {
        #expect(attempt([])?.kind == .outOfBounds)
        #expect(attempt([0x4D])?.kind == .outOfBounds)
        #expect(attempt([0x4D, 0x5A])?.kind == .outOfBounds)
        #expect(attempt([UInt8](repeating: 0, count: 4096))?.kind == .badFormat)
        #expect(attempt([UInt8](repeating: 0xFF, count: 4096)) != nil)
    }

    @Test func brokenMagicNumbersThrow() throws {
        let lfanew = Int(original[0x3C]) | Int(original[0x3D]) << 8
        let window = try PEImage(source: ByteArraySource(original)).metadataBytes()
        for (offset, what) in [(0, "MZ"), (lfanew, "PE signature"), (lfanew + 24, "optional header magic"),
                               (window.start, "BSJB")] {
            var copy = original
            copy[offset] ^= 0xFF
            let error = attempt(copy)
            #expect(error?.kind == .badFormat, "flipping \(what) at \(offset) gave \(String(describing: error))")
        }
    }

    /// Flip every byte of the headers and of the metadata root/tables header, one at a time.
    @Test func everyHeaderByteFlipped() throws {
        let window = try PEImage(source: ByteArraySource(original)).metadataBytes()
        let reader = try MetadataReader(metadata: window)
        let tablesHeaderEnd = reader.tableOffset(.module)
        let positions = Array(0..<0x200) + Array(window.start..<(window.start + tablesHeaderEnd))
        for p in positions {
            for mask: UInt8 in [0xFF, 0x80, 0x01] {
                var copy = original
                copy[p] ^= mask
                _ = attempt(copy)
            }
        }
    }

    /// Random corruption of the whole metadata (tables, heaps, signatures), deterministic seed.
    @Test func randomMetadataCorruption() throws {
        let window = try PEImage(source: ByteArraySource(original)).metadataBytes()
        var rng = SplitMix64(seed: 0x5EED)
        var errors = 0
        for _ in 0..<3000 {
            var copy = original
            for _ in 0..<Int(rng.next() % 4 + 1) {
                let p = window.start + Int(rng.next() % UInt64(window.count))
                copy[p] = UInt8(truncatingIfNeeded: rng.next())
            }
            if attempt(copy) != nil { errors += 1 }
        }
        #expect(errors > 0)
    }

    /// Absurd row counts must be rejected up front rather than allocated or looped over.
    @Test func absurdRowCounts() throws {
        let window = try PEImage(source: ByteArraySource(original)).metadataBytes()
        let reader = try MetadataReader(metadata: window)
        let tables = try #require(reader.streams.first { $0.name == "#~" })
        let firstCount = window.start + tables.offset + 24 // Module row count
        for value: UInt32 in [0xFFFF_FFFF, 0x00FF_FFFF, 0x0100_0000, 0x0001_0000] {
            var copy = original
            withUnsafeBytes(of: value.littleEndian) { copy.replaceSubrange(firstCount..<firstCount + 4, with: $0) }
            #expect(attempt(copy)?.kind == .badFormat)
        }
    }

    @Test func missingFileIsAnIOError() {
        #expect(throws: MetadataError.self) { try MappedFileSource(path: "/nonexistent/app.exe") }
        #expect(throws: MetadataError.self) { try MappedFileSource(path: Fixtures.asyncCrashDirectory) }
        do {
            _ = try MappedFileSource(path: "/nonexistent/app.exe")
        } catch {
            #expect(error.kind == .io)
            #expect(error.message.contains("/nonexistent/app.exe"))
        }
    }

    @Test func notAManagedImage() throws {
        // Zero the CLI header directory (entry 14) of a real PE: a valid native-looking image.
        let image = try PEImage(source: ByteArraySource(original))
        let lfanew = Int(original[0x3C]) | Int(original[0x3D]) << 8
        let dirs = lfanew + 24 + (image.isPE32Plus ? 112 : 96)
        var copy = original
        for i in 0..<8 { copy[dirs + 14 * 8 + i] = 0 }
        let native = try PEImage(source: ByteArraySource(copy))
        #expect(throws: MetadataError.self) { try native.cliHeader() }
        #expect(throws: MetadataError.self) { try MetadataReader(image: native) }
    }
}

/// Small deterministic PRNG so the corruption test is reproducible.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
