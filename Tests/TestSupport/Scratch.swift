import Foundation

/// Scratch files and folders of one test process: `$TMPDIR/dumpdbg-tests/<pid>/<name>`. The first call
/// removes the folders of earlier test processes that are no longer running, so runs do not pile up
/// thousands of temp folders (caches that are meant to outlive a run keep their own fixed paths).
public func scratchPath(_ name: String) -> String {
    ScratchRoot.shared.path + "/" + name
}

private final class ScratchRoot: Sendable {
    static let shared = ScratchRoot()
    let path: String

    private init() {
        let fm = FileManager.default
        let parent = fm.temporaryDirectory.appendingPathComponent("dumpdbg-tests").path
        try? fm.createDirectory(atPath: parent, withIntermediateDirectories: true)
        for entry in (try? fm.contentsOfDirectory(atPath: parent)) ?? [] {
            // kill(pid, 0) fails with ESRCH once that test process is gone.
            guard let pid = Int32(entry), pid != getpid(), kill(pid, 0) != 0, errno == ESRCH else { continue }
            try? fm.removeItem(atPath: parent + "/" + entry)
        }
        path = parent + "/\(getpid())"
        try? fm.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
}
