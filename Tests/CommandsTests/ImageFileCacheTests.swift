import Foundation
import Native
import Testing
import TestSupport

/// Image files are parsed once per process and shared by every session, each at its own load address; a file
/// replaced on disk is parsed again.
@Suite struct ImageFileCacheTests {
    /// Two copies of the native sample's binaries in a folder of this test's own.
    func sampleCopies(_ name: String) throws -> (threads: String, optimized: String) {
        let made = NativeSampleCores.made
        let dir = scratchPath("image-file-cache-" + name)
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let threads = dir + "/threads", optimized = dir + "/threads-opt"
        try FileManager.default.copyItem(atPath: made.directory + "/threads", toPath: threads)
        try FileManager.default.copyItem(atPath: made.directory + "/threads-opt", toPath: optimized)
        return (threads, optimized)
    }

    @Test func oneParsePerFileEachAtItsOwnBase() throws {
        guard NativeSampleCores.toolsPresent else { Issue.record("gcc and gdb are needed for the native sample binaries"); return }
        let files = try sampleCopies("bases")
        let low = try #require(ElfImage.file(path: files.threads, base: 0x5555_5555_4000))
        let high = try #require(ElfImage.file(path: files.threads, base: 0x7f00_0000_0000))
        #expect(high.bias &- low.bias == 0x7f00_0000_0000 &- 0x5555_5555_4000)
        let main = try #require(low.symbols.first { $0.name == "main_block" })
        #expect(low.symbol(at: main.start)?.symbol.name == "main_block")
        #expect(high.symbol(at: main.start)?.symbol.name == "main_block")
        #expect(low.symbols.count == high.symbols.count)

        let first = try ElfSymbolFile.shared(path: files.threads)
        let again = try ElfSymbolFile.shared(path: files.threads)
        #expect(first === again, "the second session's lookup parsed the file again")
        #expect(first.symbols["main_block"] != nil)
    }

    @Test func aReplacedFileIsReadAgain() throws {
        guard NativeSampleCores.toolsPresent else { Issue.record("gcc and gdb are needed for the native sample binaries"); return }
        let files = try sampleCopies("replaced")
        let before = try ElfSymbolFile.shared(path: files.threads)
        let imageBefore = try #require(ElfImage.file(path: files.threads, base: 0))
        // The optimized build in its place: another inode and size, other symbol addresses.
        try FileManager.default.removeItem(atPath: files.threads)
        try FileManager.default.copyItem(atPath: files.optimized, toPath: files.threads)
        let after = try ElfSymbolFile.shared(path: files.threads)
        #expect(before !== after)
        let reference = try ElfSymbolFile(path: files.optimized)
        #expect(after.symbols["main_block"]?.value == reference.symbols["main_block"]?.value)
        #expect(after.symbols["main_block"]?.value != before.symbols["main_block"]?.value)
        let imageAfter = try #require(ElfImage.file(path: files.threads, base: 0))
        #expect(imageAfter.symbols.first { $0.name == "main_block" }?.start == reference.symbols["main_block"]?.value)
        #expect(imageAfter.symbols.first { $0.name == "main_block" }?.start != imageBefore.symbols.first { $0.name == "main_block" }?.start)
    }

    @Test func aMissingFileIsAnErrorEveryTime() {
        let path = scratchPath("image-file-cache-missing/libnothing.so")
        for _ in 0..<2 {
            #expect(throws: ImageFileError.self) { try ElfSymbolFile.shared(path: path) }
            #expect(ElfImage.file(path: path, base: 0) == nil)
        }
    }
}
