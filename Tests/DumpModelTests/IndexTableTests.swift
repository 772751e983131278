import DumpModel
import Foundation
import Testing
import TestSupport

/// Every dump in ../shared/dumps opens and agrees with INDEX.md: format, architecture, thread and module
/// counts, and the exception code and address.
@Suite(.enabled(if: SharedDumps.available, Comment(rawValue: SharedDumps.absentMessage)))
struct IndexTableTests {
    static let rows = IndexRow.load()

    @Test func indexListsEveryDump() {
        #expect(Self.rows.count == 65, "INDEX.md lists 65 dump files")
    }

    @Test(arguments: IndexRow.load())
    func dumpMatchesIndex(_ row: IndexRow) throws {
        let dump = try SharedDumps.open(row.path)
        #expect(dump.format == (row.format == "MDMP" ? .minidump : .elfCore))
        #expect(dump.threads.count == row.threads, "threads")
        let archNames: [String: CPUArchitecture] = [
            "x86": .x86, "x64": .amd64, "ARM64": .arm64, "PPC64LE": .ppc64le, "s390x": .s390x, "RISCV": .riscv64,
            "x32 (x86-64 ILP32)": .x32,
        ]
        #expect(dump.system.architecture == archNames[row.arch], "architecture \(row.arch)")
        if let expected = row.modules {
            if let core = dump as? ElfCore {
                #expect(Set(core.mappedFiles.map(\.path)).count == expected, "distinct NT_FILE paths")
                #expect(!dump.modules.isEmpty)
                // Each segment is labelled with the first NT_FILE mapping that holds its start.
                for r in core.regions ?? [] {
                    let first = core.mappedFiles.first { r.base >= $0.start && r.base < $0.end }
                    #expect(r.mappedPath == first?.path, "segment 0x\(String(r.base, radix: 16))")
                }
                // The mapping that serves a read the core left out: the first holding all of it, as a scan finds.
                var rng = SplitMix(state: 0xF11E)
                for m in core.mappedFiles.prefix(200) {
                    for edge in [m.start, m.end] {
                        let address = edge &+ UInt64(bitPattern: Int64(rng.next() % 64) - 32)
                        let count = Int(rng.next() % 48)
                        let end = address &+ UInt64(count)
                        let scan = end < address ? nil : core.mappedFiles.first { $0.start <= address && end <= $0.end }
                        let found = core.mappedFile(holding: address, count: count)
                        #expect(found?.start == scan?.start && found?.path == scan?.path, "0x\(String(address, radix: 16)) +\(count)")
                    }
                }
            } else {
                #expect(dump.modules.count == expected, "modules")
            }
        }
        try checkException(row, dump)
        // Every thread of these dumps has registers.
        #expect(dump.threads.allSatisfy { $0.context != nil || dump.system.os == .netBSD }, "register contexts")
    }

    private func checkException(_ row: IndexRow, _ dump: any Dump) throws {
        let text = row.exception
        if text.hasPrefix("0x"), let at = text.firstIndex(of: "@") {
            let code = UInt32(text[text.index(text.startIndex, offsetBy: 2)..<at], radix: 16)
            let rest = text[text.index(after: at)...]
            let addrText = rest.split(separator: " ").first.map(String.init) ?? ""
            let addr = UInt64(addrText.dropFirst(2), radix: 16)
            let e = try #require(dump.exception, "exception stream")
            #expect(e.code == code)
            #expect(e.address == addr)
        } else if text.hasPrefix("signal ") {
            let signo = UInt32(text.dropFirst(7).prefix { $0.isNumber })
            let e = try #require(dump.exception, "signal")
            #expect(e.code == signo)
        } else if text.hasPrefix("none") {
            if dump.format == .minidump { #expect(dump.exception == nil) }
        }
    }
}
