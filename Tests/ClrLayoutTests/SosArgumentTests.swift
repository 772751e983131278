import ClrLayout
@testable import Commands
import DumpModel
import Foundation
import Testing

/// Junk after an SOS command is a usage error that names it, never a silent run of the command as if the
/// word had not been typed (`!dso xyz`, `!threads -x` once ran as `!dso`, `!threads`).
@Suite("SOS commands refuse arguments they do not take")
struct SosArgumentTests {
    @Test func unknownOptionsAndExtraWordsAreUsageErrors() throws {
        guard let (s, b) = try sampleSession() else { return }
        let cases: [(String, String)] = [
            ("!threads -x", "Unknown option '-x'. Usage: !Threads"),
            ("!threads 1", "Unexpected argument '1'. Usage: !Threads"),
            ("!dso xyz", "Couldn't resolve error at 'xyz'"),
            ("!dso -q", "Unknown option '-q'. Usage: !DumpStackObjects [-verify] [<top> [<bottom>]]"),
            ("!dso 1 2 3", "Unexpected argument '3'. Usage: !DumpStackObjects [-verify] [<top> [<bottom>]]"),
            ("!do", "Missing argument. Usage: !DumpObj [-nofields] <object address>"),
            ("!do 1 2", "Unexpected argument '2'. Usage: !DumpObj [-nofields] <object address>"),
            ("!do -fields 1", "Unknown option '-fields'. Usage: !DumpObj [-nofields] <object address>"),
            ("!da -start", "Missing value for -start. Usage: !DumpArray [-start <index>] [-length <count>] [-details] [-nofields] <array address>"),
            ("!dumpmt -mdx 1", "Unknown option '-mdx'. Usage: !DumpMT [-MD] [-all] <MethodTable address>"),
            ("!dumpclass", "Missing argument. Usage: !DumpClass <EEClass address>"),
            ("!dumpmodule -x 1", "Unknown option '-x'. Usage: !DumpModule [-mt] <Module address>"),
            ("!dumpvc 1", "Missing argument. Usage: !DumpVC <MethodTable address> <address>"),
            ("!pe -x", "Unknown option '-x'. Usage: !PrintException [-nested] [<exception address>]"),
        ]
        for (command, answer) in cases {
            let before = s.failures
            #expect(ClrFixtures.run(s, b, command) == answer + "\n", "\(command)")
            #expect(s.failures == before + 1, "\(command) counts as a failed command")
        }
    }

    @Test("!dso TOP BOTTOM scans that range of the stack, without the registers")
    func stackRange() throws {
        guard let (s, b) = try sampleSession() else { return }
        let all = ClrFixtures.run(s, b, "!dso").split(separator: "\n").map(String.init)
        let stackRows = all.dropFirst(2).filter { $0.first?.isHexDigit == true && $0.count > 17 && $0.prefix(16).allSatisfy(\.isHexDigit) }
        let first = try #require(stackRows.first), last = try #require(stackRows.last)
        let top = String(first.prefix(16)), bottom = String(last.prefix(16))
        let ranged = ClrFixtures.run(s, b, "!dso \(top) \(bottom)").split(separator: "\n").map(String.init)
        // Everything from the first row up to (not including) the last, which sits at the bottom bound.
        #expect(Array(ranged.dropFirst(2)) == Array(stackRows.dropLast()), "\(ranged)")
    }
}

@Suite("!eeversion")
struct EEVersionTests {
    @Test func saysVersionGCModeHeapKindAndWhereTheGlobalsCameFrom() throws {
        guard let (s, b) = try sampleSession() else { return }
        let out = ClrFixtures.run(s, b, "!eeversion").split(separator: "\n").map(String.init)
        #expect(out.count == 5, "\(out)")
        #expect(out.first == "4.700.22.11601 (.NET 3.1.23, libcoreclr.so)")
        // The sample ran with the default GC: workstation (g_heap_type 1).
        #expect(out.dropFirst().first == "Workstation mode")
        #expect(out.dropFirst(2).first == "GC heap: segments")
        #expect(out.dropFirst(3).first?.hasPrefix("Runtime globals: symbol table of ") == true && out[3].hasSuffix("/libcoreclr.so"))
        #expect(ClrFixtures.run(s, b, "!eeversion -x") == "Unknown option '-x'. Usage: !eeversion\n")
    }
}

@Suite("!DumpMT shows System.String's base size as SOS does")
struct StringBaseSizeTests {
    @Test func theTerminatorIsNotCounted() throws {
        guard let (s, b) = try sampleSession() else { return }
        let row = try #require(StatRow.parse(ClrFixtures.run(s, b, "!dumpheap -stat")).first { $0.name == "System.String" })
        let mt = ClrFixtures.run(s, b, "!DumpMT \(row.mt)")
        // The runtime stores 0x16 (MethodTable 8, length 4, the terminator 2, the header 8); the DAC leaves out the terminator.
        #expect(mt.contains("BaseSize:        0x14\n"), "\(mt)")
    }
}
