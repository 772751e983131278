import ClrLayout
@testable import Commands
import DumpModel
import Foundation
import TestSupport
import Native
import Testing

/// Files are found by name and then by identity: of two files with the same name on the image path, the
/// one the dump used is taken, wherever it sits in the search order; a wrong one alone is refused, or passed over
/// for the image the dump holds itself.
@Suite("image files found by identity", .enabled(if: ClrFixtures.runtimeFolder != nil, Comment(rawValue: ClrFixtures.skipRuntime)))
struct ImageLocatorTests {
    /// A folder holding `source`'s bytes under the name `name`.
    func decoy(_ source: String, as name: String) throws -> String {
        let dir = scratchPath("decoy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: source, toPath: dir + "/" + name)
        return dir
    }

    @Test func libcoreclrIsChosenByBuildIdNotByPlace() throws {
        let runtime = try #require(ClrFixtures.runtimeFolder)
        let dump = try DumpLoader.open(path: ClrFixtures.samplesFolder + "/linux-3.1.core.xz").dump
        let module = try #require(dump.modules.first { $0.fileName == "libcoreclr.so" })
        let wanted = ImageIdentity.elfBuildId(try #require(module.buildId))
        // Another ELF shared object of the same runtime, named libcoreclr.so, first in the search order.
        let wrong = try decoy(runtime + "/libclrjit.so", as: "libcoreclr.so")
        let both = ImageLocator(folders: [wrong, runtime]).find(named: "libcoreclr.so", identity: wanted)
        #expect(both.path == runtime + "/libcoreclr.so")
        guard case .found(_, let verified) = both else { Issue.record("\(both)"); return }
        #expect(verified)
        guard case .mismatched(_, _, let seen) = ImageLocator(folders: [wrong]).find(named: "libcoreclr.so", identity: wanted) else {
            Issue.record("a file with another build id must not be taken"); return
        }
        #expect(seen.count == 1 && seen[0].identity != wanted && seen[0].identity != nil)

        // Through the runtime: the decoy alone is refused with a one-line reason naming both build ids.
        let (s, b) = try ClrFixtures.session(dump: ClrFixtures.samplesFolder + "/linux-3.1.core.xz", appFolder: ClrFixtures.samplesFolder)
        s.imagePath = [wrong]
        let out = ClrFixtures.run(s, b, ".loadby sos clr")
        #expect(out.contains("SOS commands will fail: no libcoreclr.so on the image path is the one of this dump (\(wanted)"), "\(out)")
        s.imagePath = [wrong, runtime]
        _ = ClrFixtures.run(s, b, ".loadby sos clr")
        #expect(ClrFixtures.run(s, b, "!dumpheap -stat").contains("Total "))
    }

    @Test func managedAssembliesAreChosenByTheirPEHeader() throws {
        let runtime = try #require(ClrFixtures.runtimeFolder)
        // A managed image named app.exe that is not the sample's: first in the search order, then passed over.
        let wrong = try decoy(runtime + "/System.Runtime.dll", as: "app.exe")
        let (s, b) = try ClrFixtures.session(dump: ClrFixtures.samplesFolder + "/linux-3.1.core.xz", appFolder: ClrFixtures.samplesFolder)
        s.imagePath = [wrong] + s.imagePath
        _ = ClrFixtures.run(s, b, ".loadby sos clr")
        let app = try #require(try SosRuntimes.runtime(for: s).allModules().first { $0.fileName == "app.exe" })
        #expect(app.filePath?.hasPrefix(wrong) == false && app.headerVerified, "\(app.identityNote)")
        // The decoy alone (the dump's own folder is searched too, so the dump sits beside the decoy): the dump
        // holds app.exe's image, so the module reads its metadata there and says the decoy is not this build.
        try FileManager.default.createSymbolicLink(atPath: wrong + "/linux-3.1.core.xz",
                                                   withDestinationPath: ClrFixtures.samplesFolder + "/linux-3.1.core.xz")
        let (s2, b2) = try ClrFixtures.session(dump: wrong + "/linux-3.1.core.xz", appFolder: wrong)
        _ = ClrFixtures.run(s2, b2, ".loadby sos clr")
        let lone = try #require(try SosRuntimes.runtime(for: s2).allModules().first { $0.fileName == "app.exe" })
        #expect(lone.metadata != nil && lone.metadataFromDump && lone.filePath == nil, "\(lone.identityNote)")
        #expect(lone.identityNote.hasPrefix("the image in the dump's memory (") && lone.identityNote.contains("\(wrong)/app.exe (PE timestamp") && lone.identityNote.hasSuffix(": not this build)"),
                "\(lone.identityNote)")
    }
}
