// Linked into every fuzz target (fuzz.sh passes it beside the target's own file).
import Foundation

/// A path in /dev/shm private to this process: PREFIX-PID plus SUFFIX. A fuzz process stopped by a signal (a long
/// run ended with kill, a CI job cancelled) never removes its copy of a dump, some of them 21 MB, so the copies
/// whose process is gone are removed first.
func scratchPath(_ prefix: String, suffix: String = "") -> String {
    let folder = "/dev/shm"
    for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] where name.hasPrefix(prefix + "-") {
        let rest = name.dropFirst(prefix.count + 1)
        let digits = rest.prefix { $0 >= "0" && $0 <= "9" }
        // Another target's prefix extends this one (dumpdbg-fuzz-clr-PID beside dumpdbg-fuzz-PID): digits only.
        guard !digits.isEmpty, rest.dropFirst(digits.count) == Substring(suffix), let pid = Int32(digits) else { continue }
        if kill(pid, 0) != 0, errno == ESRCH { try? FileManager.default.removeItem(atPath: folder + "/" + name) }
    }
    return "\(folder)/\(prefix)-\(getpid())\(suffix)"
}
