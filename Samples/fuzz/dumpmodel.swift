// Fuzz target: the dump model alone. A dump file's bytes (minidump, ELF core, compressed) opened by DumpLoader,
// then every value the model offers read once: streams, notes, contexts, module identities, regions, handles, and
// memory at the addresses the dump itself names. No session and no commands (the `dump` target runs those), so a
// run costs little more than the parse. Past the first 64 threads and modules the same readers would only run again
// on the same kind of bytes (a damaged list can name thousands), so only those are read value by value.
import DumpModel
import Foundation

let scratch = scratchPath("dumpdbg-fuzz-model", suffix: ".dmp")

/// Folds what was read into one number, so the optimiser keeps every read.
nonisolated(unsafe) var checksum: UInt64 = 0
func fold(_ v: UInt64) { checksum = checksum &* 31 &+ v }
func fold(_ s: String?) { fold(UInt64(s?.utf8.count ?? 0)) }

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDumpModel(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let f = fopen(scratch, "wb") else { return 0 }
    fwrite(data, 1, size, f)
    fclose(f)
    setenv("DUMPDBG_CACHE", "/dev/shm/dumpdbg-fuzz-cache", 1)
    guard let dump = try? DumpLoader.open(path: scratch).dump else { return 0 }
    let memory = dump.memory

    func probe(_ address: UInt64, _ count: Int) {
        for byte in memory.read(address, count: count) { fold(UInt64(byte ?? 0xAA)) }
        fold(memory.readPointer(address) ?? 0)
        fold(memory.readCString(address, limit: 64))
        fold(memory.nextPresentAddress(from: address) ?? 0)
    }

    fold(dump.producer); fold(dump.processName); fold(dump.commandLine); fold(dump.comment)
    fold(UInt64(dump.dumpTime ?? 0)); fold(UInt64(dump.processCreateTime ?? 0)); fold(dump.processId ?? 0)
    fold("\(dump.system.architecture) \(dump.system.os)")
    for w in dump.warnings { fold(w) }
    for (k, v) in dump.details { fold(k); fold(v) }
    for t in dump.threads.prefix(64) {
        fold(t.id); fold(t.teb); fold(t.name); fold(t.startAddress ?? 0)
        probe(t.stackStart, 32)
        if let c = t.context {
            for r in c.registers { fold(r.value); fold(c[r.name] ?? 0) }
            if let sp = c.stackPointer { probe(sp, 64) }
            if let ip = c.instructionPointer { probe(ip, 16) }
        }
        if t.teb != 0 { probe(t.teb, 64) }
    }
    for (i, m) in dump.modules.prefix(64).enumerated() {
        // Names are up to 4096 characters of anything; deriving 16 of them covers the code.
        if i < 16 { fold(m.fileName); fold(m.moduleName) }
        fold(m.pdbName); fold(UInt64(m.buildId?.count ?? 0))
        fold(m.fileVersion?.description); fold(m.productVersion?.description)
        probe(m.base, 64)
    }
    for u in dump.unloadedModules.prefix(64) { fold(u.base); fold(u.path) }
    if let e = dump.exception {
        fold(UInt64(e.code)); fold(e.address); fold(UInt64(e.parameters.count))
        probe(e.address, 16)
        if let c = e.context { for r in c.registers { fold(r.value); fold(c[r.name] ?? 0) } }
    }
    for r in dump.regions ?? [] { fold(r.base); fold(r.size) }
    for h in (dump.handles ?? []).prefix(64) { fold(h.handle); fold(h.typeName); fold(h.objectName) }
    if let minidump = dump as? Minidump {
        for entry in minidump.directory {
            if let type = entry.knownType, let s = minidump.stream(type) { fold(s.count) }
        }
        for table in minidump.functionTables {
            fold(table.baseAddress)
            for i in 0..<min(table.count, 64) { fold(UInt64(table.entry(i)?.unwind ?? 0)) }
            fold(UInt64(table.entry(containing: table.minimumAddress)?.begin ?? 0))
        }
    }
    if let core = dump as? ElfCore {
        for m in core.mappedFiles { fold(m.start); fold(m.path) }
        for a in core.auxv { fold(a.value) }
    }
    return 0
}
