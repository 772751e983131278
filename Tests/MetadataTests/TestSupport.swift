import Foundation
import TestSupport
import Testing
@testable import Metadata

/// Where the project's shared fixtures live: $DUMPDBG_SHARED, else `shared/` beside the
/// package checkout (how CI lays it out).
enum Fixtures {
    static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static let sharedDirectory: String = {
        if let env = ProcessInfo.processInfo.environment["DUMPDBG_SHARED"], !env.isEmpty { return env }
        let beside = packageRoot.deletingLastPathComponent().appendingPathComponent("shared").path
        return beside
    }()

    static let asyncCrashDirectory = sharedDirectory + "/dumps/clr/async-crash"
    static let appExe = asyncCrashDirectory + "/app.exe"

    /// The .NET Core 3.1.23 runtime folder (holding System.Private.CoreLib.dll), from
    /// $DUMPDBG_RUNTIME_3_1; nil when unset or when the file is not there.
    static let runtime31: String? = {
        guard let dir = installedRuntime31() else { return nil }
        let path = dir + "/System.Private.CoreLib.dll"
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }()
    static let coreLibSkipReason: Comment =
        "DUMPDBG_RUNTIME_3_1 is not set to a .NET Core 3.1.23 runtime folder; skipping System.Private.CoreLib tests (pip install dotnetcore2==3.1.23 provides one)"

    static func appBytes() throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: appExe)))
    }

    static func reader(path: String) throws -> MetadataReader {
        try MetadataReader(image: PEImage(path: path))
    }

    static func which(_ tool: String) -> String? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let p = "\(dir)/\(tool)"
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return nil
    }

    /// Run a tool and return its standard output (for cross-checks against monodis).
    static func run(_ tool: String, _ args: [String]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = args
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}

extension MetadataReader {
    /// Test helper: every field of a type as (name, runtime type name).
    func fieldList(_ typeName: String) throws -> [(name: String, type: String)] {
        guard let t = try typeDef(named: typeName) else {
            Issue.record("type \(typeName) not found")
            return []
        }
        return try fields(ofTypeDef: t.row).map { f in (f.name, try fieldInfo(f.token).typeName) }
    }

    /// Test helper: walk everything a debugger would ask for, so corrupt input is exercised
    /// through every decoder. Returns how many items were visited.
    @discardableResult
    func walkEverything() throws -> Int {
        var visited = 0
        _ = try module()
        _ = try assembly()
        for r in stride(from: 1, through: rowCount(.assemblyRef), by: 1) { _ = try assemblyRef(r); visited += 1 }
        for r in stride(from: 1, through: rowCount(.typeRef), by: 1) { _ = try fullName(ofTypeRef: r); visited += 1 }
        for r in stride(from: 1, through: rowCount(.typeSpec), by: 1) {
            _ = try typeName(MetadataToken(.typeSpec, row: r))
            visited += 1
        }
        for r in stride(from: 1, through: rowCount(.memberRef), by: 1) { _ = try memberRef(r); visited += 1 }
        for r in stride(from: 1, through: rowCount(.typeDef), by: 1) {
            _ = try fullName(ofTypeDef: r)
            for f in try fields(ofTypeDef: r) { _ = try fieldInfo(f.token); visited += 1 }
            for m in try methods(ofTypeDef: r) {
                _ = try methodInfo(m.token)
                _ = try params(ofMethod: m.token.row)
                visited += 1
            }
        }
        return visited
    }
}

