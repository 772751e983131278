import DumpModel
import Foundation

/// How a symbol store names a module's symbols: the debug file (the PDB's name on Windows, the image's file
/// name elsewhere) and the debug id (the PDB GUID and age, or the first 16 bytes of the build id read as a GUID,
/// with age 0), as `dump_syms` writes them on the `MODULE` line.
public struct DebugIdentity: Sendable, Equatable {
    public let debugFile: String
    public let debugId: String

    public init(debugFile: String, debugId: String) {
        self.debugFile = debugFile
        self.debugId = debugId
    }

    public init?(module m: DumpModule) {
        if let name = m.pdbName, let guid = m.pdbGuid, guid.count == 16 {
            let file = name.split(whereSeparator: { $0 == "\\" || $0 == "/" }).last.map(String.init) ?? name
            self.init(debugFile: file, debugId: Self.guidText(guid) + String(m.pdbAge ?? 0, radix: 16, uppercase: true))
        } else if let id = m.buildId, !id.isEmpty {
            let guid = Array((id + [UInt8](repeating: 0, count: 16)).prefix(16))
            self.init(debugFile: m.fileName, debugId: Self.guidText(guid) + "0")
        } else {
            return nil
        }
    }

    /// A GUID's 16 bytes as Breakpad prints them: the first three fields little-endian, no dashes.
    static func guidText(_ b: [UInt8]) -> String {
        b.guidGroups.flatMap { $0 }.uppercaseHex
    }

    /// `test_app.pdb` -> `test_app.sym`; `libc.so.6` -> `libc.so.6.sym` (Breakpad's SimpleSymbolSupplier).
    public var symbolFileName: String {
        (debugFile.lowercased().hasSuffix(".pdb") ? String(debugFile.dropLast(4)) : debugFile) + ".sym"
    }
}

/// The symbol path (`.sympath`, `-y`, `_NT_SYMBOL_PATH`): local folders laid out as a Breakpad symbol store,
/// `FOLDER/debug-file/debug-id/name.sym`. `srv*CACHE*URL` and `cache*FOLDER` entries contribute their local
/// folders; nothing is downloaded.
public struct SymbolPath: Sendable, Equatable {
    public let folders: [String]
    /// Entries that name only servers (no local folder): said once by `.sympath`.
    public let ignored: [String]

    public init(_ text: String) {
        var folders: [String] = [], ignored: [String] = []
        for raw in text.split(separator: ";") {
            let entry = raw.trimmingCharacters(in: .whitespaces)
            guard !entry.isEmpty else { continue }
            let lower = entry.lowercased()
            if lower.hasPrefix("srv*") || lower.hasPrefix("symsrv*") || lower.hasPrefix("cache*") {
                let parts = entry.split(separator: "*", omittingEmptySubsequences: false).dropFirst()
                let local = parts.filter { p in !p.isEmpty && !p.contains("://") && !p.lowercased().hasSuffix(".dll") }.map(String.init)
                if local.isEmpty { ignored.append(entry) }
                folders += local
            } else if entry.contains("://") {
                ignored.append(entry)
            } else {
                folders.append(entry)
            }
        }
        var unique: [String] = []
        for f in folders where !unique.contains(f) { unique.append(f) }
        self.folders = unique
        self.ignored = ignored
    }

    public var text: String { (folders + ignored).joined(separator: ";") }

    /// The Breakpad symbol file for a module, where the path has one: the store layout first, then a flat
    /// `FOLDER/name.sym` whose MODULE line names the same debug id.
    public func breakpadFile(for id: DebugIdentity) -> String? {
        let fm = FileManager.default
        for folder in folders {
            // As written by symupload, then as stores copied from a case-insensitive file system may spell the id or
            // the PDB's name (Windows names compare without case).
            for (file, debugId, symbol) in [(id.debugFile, id.debugId, id.symbolFileName),
                                            (id.debugFile, id.debugId.lowercased(), id.symbolFileName),
                                            (id.debugFile.lowercased(), id.debugId, id.symbolFileName.lowercased())] {
                let p = [folder, file, debugId, symbol].joined(separator: "/")
                if fm.isReadableFile(atPath: p) { return p }
            }
        }
        for folder in folders {
            let p = folder + "/" + id.symbolFileName
            if fm.isReadableFile(atPath: p), Self.moduleLine(of: p)?.id.uppercased() == id.debugId.uppercased() { return p }
        }
        return nil
    }

    /// The MODULE line of a symbol file, read without loading the rest.
    static func moduleLine(of path: String) -> (id: String, name: String)? {
        guard let f = try? MappedFile(path: path), let b = f.bytes(at: 0, count: Int(min(f.size, 1024))) else { return nil }
        let head = String(decoding: b.prefix { $0 != 0x0A }, as: UTF8.self).split(separator: " ")
        guard head.count >= 5, head[0] == "MODULE" else { return nil }
        return (String(head[3]), head[4...].joined(separator: " "))
    }
}

/// Separate ELF debug files, found by build id where gdb, eu-stack and debuginfod put them:
/// `FOLDER/.build-id/ab/cdef....debug` for each symbol-path folder and /usr/lib/debug, then debuginfod's cache
/// (`$DEBUGINFOD_CACHE_PATH`, else `$XDG_CACHE_HOME/debuginfod_client`, else `~/.cache/debuginfod_client`).
/// `DUMPDBG_NO_SYSTEM_DEBUG=1` leaves out the machine's own folders (/usr/lib/debug, debuginfod's cache), so that a
/// script's output does not depend on which debug packages the machine has installed.
public enum ElfDebugFile {
    public static func path(buildId: [UInt8], symbolFolders: [String]) -> String? {
        guard buildId.count >= 2 else { return nil }
        let hex = buildId.lowercaseHex
        let env = ProcessEnvironment.value
        let system = env("DUMPDBG_NO_SYSTEM_DEBUG").map { $0.isEmpty || $0 == "0" } ?? true
        let debuginfod = env("DEBUGINFOD_CACHE_PATH") ?? ((env("XDG_CACHE_HOME").map { $0 + "/debuginfod_client" })
            ?? (UserFolders.home + "/.cache/debuginfod_client"))
        let candidates = (symbolFolders + (system ? ["/usr/lib/debug"] : [])).map { "\($0)/.build-id/\(hex.prefix(2))/\(hex.dropFirst(2)).debug" }
            + (system ? [debuginfod + "/\(hex)/debuginfo"] : [])
        for p in candidates where FileManager.default.isReadableFile(atPath: p) {
            // The file's own build id must be the module's (a stale link in .build-id points elsewhere).
            if let f = try? MappedFile(path: p), ImageIdentity.elfBuildId(of: f) == buildId { return p }
        }
        return nil
    }
}
