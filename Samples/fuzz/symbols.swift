// Fuzz target: a Breakpad symbol file's bytes. Parsed, looked up at the addresses its own records name, then
// used as test_app's symbol file for minidump2.dmp (x86: STACK WIN programs run on the real stack), so the
// parser, the source-line and inline resolver and the postfix evaluator all see the damage.
import Commands
import DumpModel
import Foundation
import Native

let store = scratchPath("dumpdbg-fuzz-symbols")
let place = store + "/test_app.pdb/5A9832E5287241C1838ED98914E9B7FF1"
let dumpPath = ProcessInfo.processInfo.environment["FUZZ_SYMBOLS_DUMP"] ?? "../shared/dumps/breakpad/minidump2.dmp"
let dump: (any Dump)? = {
    try? FileManager.default.createDirectory(atPath: place, withIntermediateDirectories: true)
    return try? DumpLoader.open(path: dumpPath).dump
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSymbols(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    if let file = try? BreakpadSymbolFile(path: "fuzz.sym", text: UnsafeRawBufferPointer(start: data, count: size)) {
        var addresses: [UInt64] = [0, 1, UInt64.max]
        for f in file.functions.prefix(16) { addresses += [f.start, f.start &+ f.size / 2, f.start &+ f.size &- 1] }
        for p in file.publics.prefix(8) { addresses.append(p.address) }
        for a in addresses {
            _ = file.sourceFrames(at: a)
            _ = file.callFrameRules(at: a)
            _ = file.windowsFrameInfo(at: a)
            _ = file.parameterSize(at: a)
        }
        for f in file.functions.prefix(16) { _ = BreakpadSymbolFile.displayName(f.name) }
    }
    guard let dump, let f = fopen(place + "/test_app.sym", "wb") else { return 0 }
    fwrite(data, 1, size, f)
    fclose(f)
    let s = Session(dump: dump, output: Output(sink: { _ in }))
    s.progress = ProgressLine(enabled: false)
    s.setSymbolPath(store)
    for line in [".ecxr", "kn", "~0 k", "ln @$ip", "uf @$ip"] { s.executeTopLevel(line: line) }
    return 0
}
