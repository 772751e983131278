import Commands
import DumpModel
import Foundation
import TestSupport
import Testing

/// Damaged copies of real dumps: truncated at many points, header and directory bytes flipped. Each must
/// either open (with warnings) and answer every command, or fail with one line naming the file; never crash.
@Suite(.enabled(if: Fixtures.available, Fixtures.absent))
struct BadInputTests {
    static let sources = [
        "rust-minidump/stability-report.dmp", "breakpad/minidump2.dmp", "breakpad/tiny-exe-with-cet-xsave.dmp",
        "lldb/minidump/fizzbuzz_no_heap.dmp", "electron-node-minidump/mac.dmp", "lldb/elf-core/thread_crash/linux-x86_64.core",
        "lldb/elf-core/linux-s390x.core", "elfutils/testfile-x32-core", "lldb/netbsd-core/2lwp_t2_SIGSEGV.amd64.core",
        "elfutils/testfile_i686_core",
    ]
    static let commands = ["||", "|", "vertarget", "~", "~* e r", "lm", "lmv", ".exr -1", ".ecxr", ".lastevent", "db @$csp L40",
                           "dq @$csp", "dps @$csp L8", "da @$ip", "du @$ip", "!address", "!address -summary", "!teb", "!peb", ".time"]

    static let directory: String = {
        let d = scratchPath("badinput")
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }()

    /// Opens a damaged copy: a DumpError must name the file; a dump that opens must answer every command.
    func exercise(_ bytes: [UInt8], name: String) {
        let path = "\(Self.directory)/\(name)"
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        defer { unlink(path) }
        do {
            let dump = try DumpLoader.open(path: path).dump
            let (text, _) = Fixtures.run(dump, Self.commands)
            #expect(!text.isEmpty)
        } catch {
            #expect(error.description.hasPrefix(path + ": "), "error names the file: \(error)")
            #expect(!error.description.contains("\n"), "one line")
        }
    }

    @Test(arguments: sources)
    func truncatedEverywhere(_ source: String) throws {
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: Fixtures.path(source))))
        var cuts: Set<Int> = [0, 1, 3, 4, 16, 31, 32, 33, 64, 100, 200, 400, 1000, bytes.count - 1]
        for k in 1..<16 { cuts.insert(bytes.count * k / 16) }
        for cut in cuts.sorted() where cut < bytes.count {
            exercise(Array(bytes.prefix(cut)), name: "cut-\(cut)-" + URL(fileURLWithPath: source).lastPathComponent)
        }
    }

    @Test(arguments: sources)
    func headerAndDirectoryBytesFlipped(_ source: String) throws {
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: Fixtures.path(source))))
        // The header, the directory (minidump) or program headers (ELF): the first 512 bytes, every 3rd byte.
        for i in stride(from: 4, to: min(512, bytes.count), by: 3) {
            var b = bytes
            b[i] ^= 0xFF
            exercise(b, name: "flip-\(i)-" + URL(fileURLWithPath: source).lastPathComponent)
        }
    }

    @Test func truncatedDumpOpensWithWarningAndQuestionMarks() throws {
        // Half of a minidump: memory ranges past the cut read as ????????.
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("rust-minidump/stability-report.dmp"))))
        let path = "\(Self.directory)/half-stability.dmp"
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes.prefix(bytes.count / 2)))
        let dump = try DumpLoader.open(path: path).dump
        #expect(dump.warnings.contains { $0.contains("extend past the end of the file") })
        let cut = try #require(dump.memory.ranges.first { $0.present < $0.size && $0.present > 0 })
        let text = Fixtures.run(dump, ["dd \(String(cut.start + cut.present - 8, radix: 16)) L4"]).text
        #expect(text.contains("????????"), "missing memory prints question marks:\n\(text)")
    }
}
