import DumpModel
import Foundation

/// `lm`: list modules, with WinDbg's options `v` (verbose), `m PATTERN`, `o` (loaded only), `sm` (sorted).
struct ListModulesCommand: ValueCommand {
    let names = ["lm"]
    let summary = "list loaded modules (lm, lmv m PATTERN)"
    let help = """
    lm [v] [m PATTERN] [sm]   lists modules; v adds image details; m filters by module-name pattern (* ?).
    Example: lmv m ntdll
    """
    var acceptsGluedOptions: Bool { true }

    func evaluate(_ inv: Invocation, in s: Session) throws -> any CommandValue {
        var verbose = false, sorted = false, unloaded = true
        var pattern: String?
        var words = inv.words[...]
        while let w = words.popFirst() {
            var opts = Substring(w)
            while let c = opts.popFirst() {
                switch c {
                case "v": verbose = true
                case "o", "l", "e", "D", "f", "t": unloaded = unloaded && c != "o"
                case "s":
                    if opts.first == "m" { opts.removeFirst(); sorted = true } else { throw CommandError.syntax("lm " + inv.arguments) }
                case "m":
                    if !opts.isEmpty { pattern = String(opts); opts = "" } else if let p = words.popFirst() { pattern = p } else {
                        throw CommandError.syntax("lm " + inv.arguments)
                    }
                default: throw CommandError.syntax("lm " + inv.arguments)
                }
            }
        }
        var modules = s.dump.modules.sorted { $0.base < $1.base }
        if let pattern { modules = modules.filter { Wildcard.matches(pattern, $0.moduleName) } }
        if sorted { modules = modules.map { ($0.moduleName.lowercased(), $0) }.sorted { $0.0 < $1.0 }.map(\.1) }
        var rows: [ModuleListValue.Module] = []
        for m in modules {
            try s.checkInterrupt()
            rows.append(ModuleListValue.Module(
                start: HexValue(m.base), end: HexValue(m.end), name: m.moduleName, path: m.path, timestamp: m.timestamp,
                checksum: m.checksum, fileVersion: m.fileVersion?.description, productVersion: m.productVersion?.description,
                pdbName: m.pdbName, pdbGuid: m.pdbGuid.flatMap { $0.count == 16 ? "{\(Self.guid($0))}" : nil }, pdbAge: m.pdbAge,
                buildId: m.buildId.flatMap { $0.isEmpty ? nil : $0.lowercaseHex },
                details: verbose ? Self.details(m, s) : nil))
        }
        var gone: [ModuleListValue.Unloaded] = []
        if unloaded && pattern == nil {
            for u in s.dump.unloadedModules {
                gone.append(ModuleListValue.Unloaded(
                    start: HexValue(u.base), end: HexValue(u.base &+ u.size), name: DumpModule(base: u.base, size: u.size, path: u.path).fileName,
                    timestamp: u.timestamp,
                    details: verbose ? ["Timestamp: \(Describe.time(u.timestamp)) (\(Hex.pad(UInt64(u.timestamp), 8).uppercased()))"] : nil))
            }
        }
        return ModuleListValue(modules: rows, unloaded: gone, pointerSize: s.pointerSize)
    }

    static func details(_ m: DumpModule, _ s: Session) -> [String] {
        var out = ["Image path: \(m.path)", "Image name: \(m.fileName)"]
        if let t = m.timestamp {
            out.append("Timestamp:        " + (t == 0 ? "unavailable" : Describe.time(t)) + " (\(Hex.pad(UInt64(t), 8).uppercased()))")
        }
        if let c = m.checksum { out.append("CheckSum:         \(Hex.pad(UInt64(c), 8).uppercased())") }
        out.append("ImageSize:        \(Hex.pad(m.size, 8).uppercased())")
        if let v = m.fileVersion { out.append("File version:     \(v)") }
        if let v = m.productVersion { out.append("Product version:  \(v)") }
        if let pdb = m.pdbName {
            out.append("PDB name:         \(pdb)")
            if let g = m.pdbGuid, g.count == 16 { out.append("PDB GUID:         {\(Self.guid(g))}, age \(m.pdbAge ?? 0)") }
        }
        if let id = m.buildId, !id.isEmpty { out.append("Build ID:         " + id.lowercaseHex) }
        // Where names and unwind data for k come from (and, when no file was used, why).
        let info = s.nativeModules.info(for: m)
        out.append("Symbols:          \(info.symbolSource)")
        if let why = info.breakpadProblem { out.append("Symbol file:      not used: \(why)") }
        if info.image == nil || info.image?.source.isFile == false, let why = info.fileProblem { out.append("Image file:       not used: \(why)") }
        return out
    }

    static func guid(_ g: [UInt8]) -> String {
        g.guidGroups.map(\.uppercaseHex).joined(separator: "-")
    }
}

/// WinDbg's wildcard matching for module patterns: `*` and `?`, case-insensitive.
enum Wildcard {
    static func matches(_ pattern: String, _ text: String) -> Bool {
        let p = Array(pattern.lowercased()), t = Array(text.lowercased())
        var pi = 0, ti = 0, star = -1, mark = 0
        while ti < t.count {
            if pi < p.count, p[pi] == "?" || p[pi] == t[ti] { pi += 1; ti += 1 }
            else if pi < p.count, p[pi] == "*" { star = pi; mark = ti; pi += 1 }
            else if star >= 0 { pi = star + 1; mark += 1; ti = mark }
            else { return false }
        }
        while pi < p.count, p[pi] == "*" { pi += 1 }
        return pi == p.count
    }
}
