// Fuzz target: a dump file's bytes (minidump, ELF core, compressed). Parsed by the dump model, then one native
// command runs on whatever opened, picked by the input's length: every parser, and each command and the stack
// walker in turn, see the damage. One command a run rather than all fourteen: the commands were half of a run,
// and a byte-level mutation keeps the length, so the fuzzer goes on exploring one command's reach of the damage
// while insertions and deletions move an input to another command.
import Commands
import DumpModel
import Foundation

let scratch = scratchPath("dumpdbg-fuzz", suffix: ".dmp")
let commands = ["~", "lm", ".exr -1", ".ecxr", "r", "!address -summary", "db @$csp L40", "dps @$csp L8", "u @$ip L4",
                "!teb", "!peb", "~* kn", "!analyze -v", "!uniqstack"]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDump(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let f = fopen(scratch, "wb") else { return 0 }
    fwrite(data, 1, size, f)
    fclose(f)
    setenv("DUMPDBG_CACHE", "/dev/shm/dumpdbg-fuzz-cache", 1)
    guard let dump = try? DumpLoader.open(path: scratch).dump else { return 0 }
    let s = Session(dump: dump, output: Output(sink: { _ in }))
    s.progress = ProgressLine(enabled: false)
    s.executeTopLevel(line: commands[size % commands.count])
    return 0
}
