import DumpModel
import Foundation
import Testing

/// Where the shared real dumps live: `../shared/dumps` beside the project root (never copied into it).
enum SharedDumps {
    static let projectRoot: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let root: URL = projectRoot.deletingLastPathComponent().appendingPathComponent("shared/dumps")
    static var available: Bool { FileManager.default.fileExists(atPath: root.appendingPathComponent("INDEX.md").path) }
    static let absentMessage = "../shared/dumps is absent: the tests on real dumps need it beside the project root"

    static func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }

    /// Opens a shared dump (decompressing into a test cache), failing the test with the loader's message.
    static func open(_ relative: String) throws -> any Dump {
        setenv("DUMPDBG_CACHE", cacheDirectory, 1)
        return try DumpLoader.open(path: path(relative)).dump
    }

    static let cacheDirectory: String = {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dumpdbg-test-cache").path
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }()
}

/// One row of INDEX.md's table.
struct IndexRow: CustomTestStringConvertible, Sendable {
    let path: String
    let format: String
    let arch: String
    let os: String
    let exception: String
    let threads: Int
    let modules: Int?

    var testDescription: String { path }

    static func load() -> [IndexRow] {
        guard let text = try? String(contentsOfFile: SharedDumps.path("INDEX.md"), encoding: .utf8) else { return [] }
        var rows: [IndexRow] = []
        for line in text.split(separator: "\n") where line.hasPrefix("| ") {
            let cols = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            // | path | bytes | format | arch | OS | producer | exception | threads | modules | notes | CLR |
            guard cols.count >= 11, cols[3] == "MDMP" || cols[3] == "ELF core", let threads = Int(cols[8]) else { continue }
            rows.append(IndexRow(path: cols[1], format: cols[3], arch: cols[4], os: cols[5], exception: cols[7],
                                 threads: threads, modules: Int(cols[9])))
        }
        return rows
    }
}
