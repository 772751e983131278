import ClrLayout
@testable import Commands
import DumpModel
import Foundation
import TestSupport
import Testing

/// `!CLRStack -a` against the runtime's own DAC: Expected/<dump>.dac-clrstack-a.txt holds, per managed thread,
/// what the DAC says about every argument and local (IXCLRDataFrame / IXCLRDataValue, the calls SOS makes),
/// printed in SOS's format (made with the DAC oracle of Docs/clr/debug-info.md). Explicit Frame lines are
/// left out of the comparison: the DAC gives them a different Child SP.
enum ClrStackOracle {
    static let expected = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Expected")

    /// OS thread id -> the managed frame lines and their variable lines, in order.
    static func parse(_ text: String) -> [UInt64: [String]] {
        var out: [UInt64: [String]] = [:]
        var current: UInt64?
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = String(raw).replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
            if line.hasPrefix("# Thread ") {
                let words = line.split(separator: " ")
                current = words.firstIndex(of: "OS").flatMap { UInt64(words[$0 + 2]) }
                if let c = current { out[c] = [] }
                continue
            }
            guard let c = current, keep(line) else { continue }
            out[c]?.append(line)
        }
        return out
    }

    static func keep(_ line: String) -> Bool {
        !line.isEmpty && !line.contains("] ") && !line.hasSuffix("]") && !line.contains("<not managed>")
            && !line.hasPrefix("OS Thread Id") && !line.contains("Child SP")
    }

    /// dumpdbg's `!CLRStack -a` of every managed thread, parsed the same way (by OS thread id).
    static func ours(_ s: Session, _ b: Output.Buffer) -> [UInt64: [String]] {
        let text = ClrFixtures.run(s, b, "!CLRStack -a -all")
        var out: [UInt64: [String]] = [:]
        var current: UInt64?
        for raw in text.split(separator: "\n") {
            let line = String(raw).replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
            if line.hasPrefix("OS Thread Id: 0x") {
                current = UInt64(line.dropFirst(16).prefix { $0 != " " }, radix: 16)
                if let c = current { out[c] = [] }
                continue
            }
            guard let c = current, keep(line) else { continue }
            out[c]?.append(line)
        }
        return out
    }

    static func compare(_ s: Session, _ b: Output.Buffer, expectedFile: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let want = parse(try String(contentsOf: expected.appendingPathComponent(expectedFile), encoding: .utf8))
        let got = ours(s, b)
        var lines = 0
        for (tid, expectedLines) in want where !expectedLines.isEmpty {
            let ourLines = got[tid] ?? []
            #expect(ourLines == expectedLines, "thread \(tid):\n--- dumpdbg\n\(ourLines.joined(separator: "\n"))\n--- DAC\n\(expectedLines.joined(separator: "\n"))",
                    sourceLocation: sourceLocation)
            lines += expectedLines.count
        }
        #expect(lines > 40, "the oracle file should hold the managed frames of several threads", sourceLocation: sourceLocation)
    }
}

@Suite("!CLRStack -a: arguments and locals equal the DAC's")
struct ClrStackVariablesTests {
    @Test(.enabled(if: ClrFixtures.seedAvailable && ClrFixtures.runtimeFolder != nil))
    func linux31() throws {
        let (s, b) = try ClrFixtures.seedSessionWithSos()
        try ClrStackOracle.compare(s, b, expectedFile: "linux-3.1.dac-clrstack-a.txt")
    }

    @Test(.enabled(if: Net8.available))
    func linux80() throws {
        let (s, b) = try Net8.session()
        try ClrStackOracle.compare(s, b, expectedFile: "linux-8.0.dac-clrstack-a.txt")
    }

    @Test(.enabled(if: Win31.available))
    func windows31() throws {
        let (s, b) = try Win31.session()
        try ClrStackOracle.compare(s, b, expectedFile: "windows-3.1.dac-clrstack-a.txt")
    }

    /// The seed walkthrough's question: the request the crashing code was serving is an argument on the stack.
    @Test(.enabled(if: ClrFixtures.seedAvailable && ClrFixtures.runtimeFolder != nil))
    func theRequestIsAnArgumentOfProcessRequest() throws {
        let (s, b) = try ClrFixtures.session(dump: ClrFixtures.seedDump, appFolder: ClrFixtures.seedFolder)
        let out = ClrFixtures.run(s, b, ".loadby sos clr; !CLRStack -p -all")
        let lines = out.split(separator: "\n").map(String.init)
        let at = try #require(lines.firstIndex { $0.contains("CrashLab.Program.ProcessRequest(") })
        let wr = try #require(lines[at + 2].split(separator: " ").last.map(String.init), "\(lines[at...].prefix(4))")
        #expect(lines[at + 1] == "    PARAMETERS:" && lines[at + 2].hasPrefix("        wr (0x"), "\(lines[at...].prefix(4))")
        #expect(!out.contains("LOCALS:"), "-p prints parameters only")
        let path = ClrFixtures.run(s, b, "!do \(wr)").split(separator: "\n").first { $0.hasSuffix(" _path") }?.split(separator: " ").dropLast().last
        #expect(ClrFixtures.run(s, b, "!do \(path ?? "0")").contains("String:      /Account/Login"))
    }
}
