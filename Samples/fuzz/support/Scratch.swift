// Linked into every fuzz target (fuzz.sh passes it beside the target's own file).
import Foundation

/// A path in /dev/shm private to this process: PREFIX-PID plus SUFFIX, removed when the process exits (libFuzzer
/// calls exit when its runs or its time are done). A process stopped by a signal, a crash or Ctrl-C (libFuzzer then
/// calls _Exit) leaves its copy (some are 21 MB), so the copies whose process is gone are removed first. "Gone" is
/// judged by this process's PID namespace: fuzzers in containers that share one /dev/shm but not their PIDs would
/// remove each other's files.
func scratchPath(_ prefix: String, suffix: String = "") -> String {
    let folder = "/dev/shm"
    for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] where name.hasPrefix(prefix + "-") {
        let rest = name.dropFirst(prefix.count + 1)
        let digits = rest.prefix { $0 >= "0" && $0 <= "9" }
        // Another target's prefix extends this one (dumpdbg-fuzz-clr-PID beside dumpdbg-fuzz-PID): digits only.
        guard !digits.isEmpty, rest.dropFirst(digits.count) == Substring(suffix), let pid = Int32(digits) else { continue }
        if kill(pid, 0) != 0, errno == ESRCH { try? FileManager.default.removeItem(atPath: folder + "/" + name) }
    }
    let path = "\(folder)/\(prefix)-\(getpid())\(suffix)"
    if scratchPathsMade.isEmpty { atexit { for p in scratchPathsMade { try? FileManager.default.removeItem(atPath: p) } } }
    scratchPathsMade.append(path)
    return path
}

/// Appended to when a target first asks for its path (libFuzzer runs inputs on one thread); read at exit.
nonisolated(unsafe) private var scratchPathsMade: [String] = []
