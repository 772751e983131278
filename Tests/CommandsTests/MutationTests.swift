import Commands
import DumpModel
import Foundation
import Testing
import TestSupport

/// Seeded random damage to real dumps, beyond the structured cuts and flips of BadInputTests: runs of
/// random bytes, copied chunks, and big-endian/little-endian "huge" values written over the first 64 KiB,
/// where the directories, headers, notes and streams live. Same seed, same mutants, every run.
@Suite(.enabled(if: Fixtures.available, Fixtures.absent))
struct MutationTests {
    static let sources = [
        "breakpad/minidump2.dmp", "rust-minidump/linux-mini.dmp", "electron-node-minidump/mac.dmp",
        "breakpad/tiny-exe-with-cet-xsave.dmp", "symbolicator/macos-no-fp.dmp", "lldb/elf-core/linux-x86_64.core",
        "lldb/elf-core/thread_crash/linux-i386.core", "lldb/netbsd-core/1lwp_SIGSEGV.aarch64.core", "elfutils/testfile-riscv64-core",
    ]
    static let commands = ["~", "~* e r", "lm", "lmv", ".exr -1", ".ecxr", "vertarget", "!address", "!address -summary",
                           "db @$csp L20", "dps @$csp L4", "u @$ip L4", "!teb", "!peb", "s -a 0 L?ffffffffffffffff \"zz\""]

    @Test(arguments: sources)
    func randomDamageNeverCrashes(_ source: String) throws {
        let original = Array(try Data(contentsOf: URL(fileURLWithPath: Fixtures.path(source))))
        // DUMPDBG_MUTATION_SEED explores other damage; the default keeps every run the same.
        let extra = ProcessInfo.processInfo.environment["DUMPDBG_MUTATION_SEED"].flatMap { UInt64($0) } ?? 0
        var rng = SplitMix(state: source.hashValueStable &+ extra)
        let dir = scratchPath("mutants")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = "\(dir)/\(URL(fileURLWithPath: source).lastPathComponent)"
        defer { unlink(path) }
        let window = min(original.count, 64 * 1024)
        var opened = 0
        // DUMPDBG_MUTANTS raises the count for a longer hunt; 60 keeps `swift test` quick.
        let count = ProcessInfo.processInfo.environment["DUMPDBG_MUTANTS"].flatMap { Int($0) } ?? 60
        for _ in 0..<count {
            var b = original
            for _ in 0..<Int.random(in: 1...8, using: &rng) {
                let at = Int.random(in: 0..<window, using: &rng)
                switch Int.random(in: 0..<4, using: &rng) {
                case 0:  // a run of random bytes
                    for k in at..<min(b.count, at + Int.random(in: 1...16, using: &rng)) { b[k] = UInt8.random(in: 0...255, using: &rng) }
                case 1:  // a huge 32-bit value (counts, sizes, RVAs)
                    for (k, v) in [0xFF, 0xFF, 0xFF, 0x7F].enumerated() where at + k < b.count { b[at + k] = UInt8(v) }
                case 2:  // a huge 64-bit value (addresses, sizes)
                    for k in 0..<8 where at + k < b.count { b[at + k] = 0xFF }
                default:  // a chunk copied from elsewhere (plausible-looking garbage)
                    let from = Int.random(in: 0..<window, using: &rng)
                    for k in 0..<32 where at + k < b.count && from + k < b.count { b[at + k] = original[from + k] }
                }
            }
            _ = FileManager.default.createFile(atPath: path, contents: Data(b))
            do {
                let dump = try DumpLoader.open(path: path).dump
                _ = Fixtures.run(dump, Self.commands)
                opened += 1
            } catch {
                #expect(error.description.hasPrefix(path + ": ") && !error.description.contains("\n"))
            }
        }
        #expect(opened > 0, "some mutants open and answer every command")
    }
}

extension String {
    /// A hash that is the same in every run (Swift's hashValue is seeded per process).
    var hashValueStable: UInt64 {
        var h: UInt64 = 0xcbf29ce484222325
        for b in utf8 { h = (h ^ UInt64(b)) &* 0x100000001b3 }
        return h
    }
}
