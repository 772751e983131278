import Foundation
@testable import Native
import Testing
import TestSupport

/// The image path's case-insensitive lookups list each folder once while it is unchanged, and again as soon as an
/// entry is added; a folder changed in the last seconds is listed every time. (On a case-insensitive file system,
/// as macOS has by default, the exact-name lookup already finds every case and these expectations do not hold.)
@Suite(.serialized, .enabled(if: ScratchFolder.isCaseSensitive))
struct FolderListingTests {
    func folder(with names: [String], modifiedAgo seconds: Double) throws -> String {
        let dir = scratchPath("listing-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for n in names { try Data(n.utf8).write(to: URL(fileURLWithPath: dir + "/" + n)) }
        try FileManager.default.createDirectory(atPath: dir + "/sub", withIntermediateDirectories: false)
        try setModified(dir, ago: seconds)
        return dir
    }

    func setModified(_ path: String, ago seconds: Double) throws {
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -seconds)], ofItemAtPath: path)
    }

    @Test func exactNameFirstThenOtherCases() throws {
        let dir = try folder(with: ["libfoo.so", "LibFoo.so", "other.so"], modifiedAgo: 3600)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(ImageLocator(folders: [dir]).candidates(named: "libfoo.so") == [dir + "/libfoo.so", dir + "/LibFoo.so"])
        #expect(ImageLocator(folders: [dir]).candidates(named: "LIBFOO.SO").sorted() == [dir + "/LibFoo.so", dir + "/libfoo.so"])
        #expect(ImageLocator(folders: [dir]).candidates(named: "sub").isEmpty)
        #expect(ImageLocator(folders: [dir + "/none"]).candidates(named: "libfoo.so").isEmpty)
    }

    @Test func anUnchangedFolderIsListedOnceAndAChangedOneAgain() throws {
        let dir = try folder(with: ["app.exe"], modifiedAgo: 3600)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // A cache of its own: other suites' lookups run beside this one in the shared cache.
        let cache = FolderListingCache()
        for _ in 0..<5 { #expect(cache.names(in: dir)?["app.exe"] == ["app.exe"]) }
        #expect(cache.listingCount == 1)
        // A file added: the folder's time moves, and the next lookup lists it again.
        try Data().write(to: URL(fileURLWithPath: dir + "/App.Exe"))
        #expect(cache.names(in: dir)?["app.exe"]?.sorted() == ["App.Exe", "app.exe"])
        #expect(cache.listingCount == 2)
    }

    @Test func aFolderChangedJustNowIsListedEveryTime() throws {
        let dir = try folder(with: ["a.dll"], modifiedAgo: 0)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let cache = FolderListingCache()
        #expect(cache.names(in: dir)?["a.dll"] == ["a.dll"])
        #expect(cache.names(in: dir)?["a.dll"] == ["a.dll"])
        #expect(cache.listingCount == 2)
        // Within the same clock tick the folder's times may not move: the new file is found all the same.
        try Data().write(to: URL(fileURLWithPath: dir + "/A.dll"))
        #expect(cache.names(in: dir)?["a.dll"]?.sorted() == ["A.dll", "a.dll"])
        #expect(cache.listingCount == 3)
    }
}

enum ScratchFolder {
    static var isCaseSensitive: Bool {
        let probe = scratchPath("case-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: probe + "a", contents: Data())
        defer { try? FileManager.default.removeItem(atPath: probe + "a") }
        return !FileManager.default.fileExists(atPath: probe + "A")
    }
}
