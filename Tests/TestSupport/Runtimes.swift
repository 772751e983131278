import Foundation

/// The .NET Core 3.1.23 runtime folder: $DUMPDBG_RUNTIME_3_1, else where Samples/install-deps.sh puts it
/// (~/.cache/dumpdbg-runtimes/venv/lib/python3.*/site-packages/dotnetcore2/bin/shared/Microsoft.NETCore.App/3.1.23).
/// Shared by the test targets that read the runtime's files.
public func installedRuntime31() -> String? {
    let env = ProcessInfo.processInfo.environment
    if let dir = env["DUMPDBG_RUNTIME_3_1"], !dir.isEmpty { return dir }
    let cache = env["DUMPDBG_RUNTIMES"] ?? ((env["XDG_CACHE_HOME"] ?? (NSHomeDirectory() + "/.cache")) + "/dumpdbg-runtimes")
    let lib = cache + "/venv/lib"
    guard let pythons = try? FileManager.default.contentsOfDirectory(atPath: lib) else { return nil }
    for py in pythons.sorted() where py.hasPrefix("python") {
        let dir = "\(lib)/\(py)/site-packages/dotnetcore2/bin/shared/Microsoft.NETCore.App/3.1.23"
        if FileManager.default.fileExists(atPath: dir + "/libcoreclr.so") { return dir }
    }
    return nil
}
