import ClrLayout
@testable import Commands
import DumpModel
import Foundation
import TestSupport
import Metadata
import Testing

/// A full (type-4) createdump core of the same sample, made at test time by the project's own script: unlike
/// type 2, it holds the whole image of app.exe, so the MVID check can run.
enum FullDump {
    struct Made: Sendable { let folder: String?; let log: String }
    static let made: Made = {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("dumpdbg-full-dump").path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = [ClrFixtures.projectRoot.appendingPathComponent("Samples/make-clr-dumps.sh").path, out, "linux-3.1"]
        var env = ProcessInfo.processInfo.environment
        env["SAMPLES"] = "AsyncCrash"
        env["DUMP_TYPE"] = "4"
        p.environment = env
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        do { try p.run() } catch { return Made(folder: nil, log: "\(error)") }
        let log = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return Made(folder: p.terminationStatus == 0 ? out + "/async-crash" : nil, log: log)
    }()
    static var toolsPresent: Bool { FileManager.default.isExecutableFile(atPath: "/usr/bin/mcs") && ClrFixtures.runtimeFolder != nil }
}

@Suite("module identity: PE timestamp, size and MVID",
       .enabled(if: ClrFixtures.runtimeFolder != nil, Comment(rawValue: ClrFixtures.skipRuntime)))
struct ModuleIdentityTests {
    let request = "00007f5c3c048098"  // the bundled sample's /Account/Login IIS7WorkerRequest

    /// The bundled type-2 dump holds app.exe's PE header but not its #GUID heap: the output says which checks ran.
    @Test func typeTwoDumpChecksTheHeaderAndSaysTheMVIDWasNot() throws {
        let (s, b) = try ClrFixtures.session(dump: ClrFixtures.samplesFolder + "/linux-3.1.core.xz", appFolder: ClrFixtures.samplesFolder)
        _ = ClrFixtures.run(s, b, ".loadby sos clr")
        #expect(ClrFixtures.run(s, b, "!do \(request)").contains("Name:        System.Web.Hosting.IIS7WorkerRequest\n"))
        let app = try #require(try SosRuntimes.runtime(for: s).allModules().first { $0.fileName == "app.exe" })
        #expect(app.headerVerified)
        #expect(!app.mvidVerified)
        let module = ClrFixtures.run(s, b, "!DumpModule \(Sos.p(app.address))")
        #expect(module.contains("app.exe: PE timestamp and size match the dump; MVID not compared (the dump does not hold the image's #GUID heap)"), "\(module)")
    }

    @Test(.enabled(if: FullDump.toolsPresent, "mono-mcs and the runtime are needed to make the full dump (Samples/install-deps.sh --tests)"))
    func fullDumpComparesTheMVIDAndRefusesAnotherOne() throws {
        let folder = try #require(FullDump.made.folder, "make-clr-dumps.sh failed:\n\(FullDump.made.log)")
        let dump = folder + "/linux-3.1.core.xz"
        // The right app.exe: the MVID is compared and matches.
        let (s, b) = try ClrFixtures.session(dump: dump, appFolder: folder)
        _ = ClrFixtures.run(s, b, ".loadby sos clr")
        #expect(ClrFixtures.run(s, b, "!dumpheap -type IIS7WorkerRequest -stat").contains(" System.Web.Hosting.IIS7WorkerRequest\n"))
        let app = try #require(try SosRuntimes.runtime(for: s).allModules().first { $0.fileName == "app.exe" })
        #expect(app.headerVerified && app.mvidVerified)
        let listed = ClrFixtures.run(s, b, "!dumpheap -type IIS7WorkerRequest -short")
        let first = try #require(listed.split(separator: "\n").first.map(String.init))

        // The same file with one MVID byte changed: timestamp and size still match; the MVID does not.
        let original = folder + "/app.exe"
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: original)))
        let image = try PEImage(path: original)
        let reader = try MetadataReader(image: image)
        let root = try image.offset(ofRVA: try image.cliHeader().metadata.rva)
        let guidStream = try #require(reader.streams.first { $0.name == "#GUID" })
        bytes[root + guidStream.offset] ^= 0xFF
        let other = scratchPath("mvid-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: other + "/app.exe"))
        let (s2, b2) = try ClrFixtures.session(dump: dump, appFolder: other)
        _ = ClrFixtures.run(s2, b2, ".loadby sos clr")
        let out = ClrFixtures.run(s2, b2, "!do \(first)")
        #expect(out.contains("app.exe does not match the module in the dump (MVID "), "\(out)")
    }
}
