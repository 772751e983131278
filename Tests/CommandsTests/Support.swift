import Commands
import DumpModel
import Foundation
import Testing

enum Fixtures {
    static let projectRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let dumps = projectRoot.deletingLastPathComponent().appendingPathComponent("shared/dumps")
    static var available: Bool { FileManager.default.fileExists(atPath: dumps.appendingPathComponent("INDEX.md").path) }
    static let absent = Comment(rawValue: "../shared/dumps is absent: the tests on real dumps need it beside the project root")

    static func path(_ relative: String) -> String { dumps.appendingPathComponent(relative).path }

    static let cache: String = {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("dumpdbg-test-cache").path
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        setenv("DUMPDBG_CACHE", d, 1)
        return d
    }()

    static func open(_ relative: String) throws -> any Dump {
        _ = cache
        return try DumpLoader.open(path: path(relative)).dump
    }

    /// Runs command lines against a dump and returns everything printed.
    static func run(_ dump: any Dump, _ lines: [String]) -> (text: String, session: Session) {
        let buffer = Output.Buffer()
        let session = Session(dump: dump, output: Output(sink: buffer.append))
        for l in lines { session.execute(line: l) }
        return (buffer.text, session)
    }

    static func run(_ relative: String, _ lines: String...) throws -> String {
        run(try open(relative), lines).text
    }
}
