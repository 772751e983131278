import ClrLayout
@testable import Commands
import DumpModel
import Foundation
import TestSupport
import Testing

/// Real dumps and the runtime they need. The runtime folder comes from DUMPDBG_RUNTIME_3_1; tests skip
/// (with a message) when it or ../shared is missing. Files are symlinked into fresh temp folders so the
/// lookup by file name is what is tested, never the paths the dump recorded.
enum ClrFixtures {
    static let projectRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let shared = projectRoot.deletingLastPathComponent().appendingPathComponent("shared")
    static let seedFolder = shared.appendingPathComponent("dumps/clr/async-crash").path
    static let seedDump = seedFolder + "/linux-3.1.core.xz"
    static let triageDump = shared.appendingPathComponent("dumps/dotnet-diagnostics/triagedump").path
    static let oracleStat = shared.appendingPathComponent("labs/dac-oracle/stat-linux-3.1.txt").path
    /// The project's own bundled sample (Samples/dumps), made by Samples/make-clr-dumps.sh; DUMPDBG_SAMPLES_OUT overrides it.
    static let samplesFolder = ProcessInfo.processInfo.environment["DUMPDBG_SAMPLES_OUT"] ?? projectRoot.appendingPathComponent("Samples/dumps/async-crash").path

    static var runtimeFolder: String? {
        guard let r = installedRuntime31(),
              FileManager.default.fileExists(atPath: r + "/libcoreclr.so") else { return nil }
        return r
    }
    static let sharedAbsent = Comment(rawValue: "../shared/dumps is absent: the tests on real dumps need it beside the project root")
    static let skipRuntime = "no .NET Core 3.1.23 runtime: run Samples/install-deps.sh (or set DUMPDBG_RUNTIME_3_1 to the runtime folder)"
    static var seedAvailable: Bool { FileManager.default.fileExists(atPath: seedDump) }

    static let cacheDirectory: String = {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dumpdbg-test-cache").path
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }()

    /// A temp folder holding symlinks to every file of `sources` (by file name).
    static func linkFolder(_ sources: [String], files: [String]? = nil) throws -> String {
        let dir = scratchPath("clr-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for src in sources {
            let names = try files ?? FileManager.default.contentsOfDirectory(atPath: src)
            for n in names where FileManager.default.fileExists(atPath: src + "/" + n) {
                try? FileManager.default.createSymbolicLink(atPath: dir + "/" + n, withDestinationPath: src + "/" + n)
            }
        }
        return dir
    }

    /// A session on a dump with the runtime and the app folder on the image path (both as temp symlink folders).
    static func session(dump: String, appFolder: String) throws -> (Session, Output.Buffer) {
        setenv("DUMPDBG_CACHE", cacheDirectory, 1)
        let opened = try DumpLoader.open(path: dump)
        let buffer = Output.Buffer()
        let s = Session(dump: opened.dump, output: Output(sink: { buffer.append($0) }))
        var path: [String] = []
        if let r = runtimeFolder { path.append(try linkFolder([r])) }
        path.append(try linkFolder([appFolder], files: ["app.exe"]))
        s.imagePath = path
        return (s, buffer)
    }

    /// A session on the bundled 3.1 seed dump with SOS loaded (`.loadby sos clr`).
    static func seedSessionWithSos() throws -> (Session, Output.Buffer) {
        let (s, b) = try session(dump: seedDump, appFolder: seedFolder)
        _ = run(s, b, ".loadby sos clr")
        return (s, b)
    }

    /// Runs one command line and returns what it printed.
    /// A copy of the plain (decompressed) core with the 8-byte `value` written at each target address; the caller
    /// unlinks it.
    static func mutant(_ plain: String, _ dump: any Dump, _ writes: [(UInt64, UInt64)]) throws -> String {
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: plain)))
        for (address, value) in writes {
            let i = try #require(dump.memory.rangeIndex(containing: address))
            let r = dump.memory.ranges[i]
            let at = Int(r.fileOffset + (address - r.start))
            withUnsafeBytes(of: value.littleEndian) { for k in 0..<8 { bytes[at + k] = $0[k] } }
        }
        let path = scratchPath("mutant-\(UUID().uuidString).core")
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    static func run(_ s: Session, _ buffer: Output.Buffer, _ line: String) -> String {
        let before = buffer.text.count
        s.executeTopLevel(line: line)
        return String(buffer.text.dropFirst(before))
    }
}

/// A parsed `!dumpheap -stat` row.
struct StatRow: Equatable, CustomStringConvertible {
    let mt: String, count: Int, size: Int, name: String
    var description: String { "\(mt) \(count) \(size) \(name)" }

    /// `!dumpheap -stat` text equal, type by type, to an oracle's output file with at least `atLeast` types.
    static func expectEqual(_ text: String, oracleFile: String, atLeast: Int, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let ours = parse(text)
        let oracle = parse(try String(contentsOfFile: oracleFile, encoding: .utf8))
        #expect(oracle.count > atLeast, sourceLocation: sourceLocation)
        #expect(ours.count == oracle.count, sourceLocation: sourceLocation)
        let byMT = Dictionary(uniqueKeysWithValues: ours.map { ($0.mt, $0) })
        for o in oracle { #expect(byMT[o.mt] == o, "oracle row \(o)", sourceLocation: sourceLocation) }
    }

    static func parse(_ text: String) -> [StatRow] {
        var rows: [StatRow] = []
        var inTable = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("              MT    Count") { inTable = true; continue }
            if line.hasPrefix("Total ") { inTable = false }
            guard inTable else { continue }
            let parts = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: true)
            guard parts.count == 4, let c = Int(parts[1]), let z = Int(parts[2]) else { continue }
            rows.append(StatRow(mt: String(parts[0]), count: c, size: z, name: String(parts[3])))
        }
        return rows
    }
}

