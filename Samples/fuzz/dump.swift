// Fuzz target: a dump file's bytes (minidump, ELF core, compressed). Parsed by the dump model, then a few
// commands run on whatever opened: every parser, the native commands and the stack walker see the damage.
import Commands
import DumpModel
import Foundation

let scratch = "/dev/shm/dumpdbg-fuzz-\(getpid()).dmp"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDump(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let f = fopen(scratch, "wb") else { return 0 }
    fwrite(data, 1, size, f)
    fclose(f)
    setenv("DUMPDBG_CACHE", "/dev/shm/dumpdbg-fuzz-cache", 1)
    guard let dump = try? DumpLoader.open(path: scratch).dump else { return 0 }
    let s = Session(dump: dump, output: Output(sink: { _ in }))
    s.progress = ProgressLine(enabled: false)
    for line in ["~", "lm", ".exr -1", ".ecxr", "r", "!address -summary", "db @$csp L40", "dps @$csp L8", "u @$ip L4", "!teb", "!peb", "~* kn", "!analyze -v", "!uniqstack"] {
        s.executeTopLevel(line: line)
    }
    return 0
}
