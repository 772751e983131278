// Fuzz target: hostile runtime structures. The input picks a command and lists 4-byte patches written into the
// hang sample core (Samples/dumps/hang/linux-3.1.core.xz) at places the CLR readers follow: the GC heap, the
// Thread objects and their Frame chains, the sync table and sync blocks, the handle table, the finalization
// queue, code headers and debug info. Then `.loadby sos clr` and one SOS command, chosen by the input's first
// byte, run over the damaged runtime (one command a run, not all of them: six times the runs a second, and the
// fuzzer keeps what each command reaches). Each record after that byte is 8 bytes: u16 window, u16 offset in
// the window, u32 value. The patches are undone after each run.
// The core is opened once: the patches land in runtime structures the dump model never reads while opening (its
// ranges, notes and module list come from headers and notes outside every window), and its read-only private
// mapping sees each pwrite at once. Reopening it every run was an eighth of the time and found nothing new.
// Needs the 3.1 runtime folder (DUMPDBG_RUNTIME_3_1, as Samples/install-deps.sh prints it).
import ClrLayout
import Commands
import DumpModel
import Foundation

struct Setup {
    let runtime: String
    let app: String
    /// File ranges (offset, length) of the runtime structures the commands read.
    let windows: [(offset: UInt64, length: UInt64)]
    let accountA: String
    let fd: Int32
    let dump: any Dump
}

let setup: Setup? = {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let app = root.appendingPathComponent("Samples/dumps/hang").path
    guard let runtime = ProcessInfo.processInfo.environment["DUMPDBG_RUNTIME_3_1"],
          let opened = try? DumpLoader.open(path: app + "/linux-3.1.core.xz"), let raw = opened.decompressedPath else {
        FileHandle.standardError.write(Data("fuzz-clr: set DUMPDBG_RUNTIME_3_1 to the 3.1 runtime folder\n".utf8))
        return nil
    }
    // A private copy the patches go into.
    let path = scratchPath("dumpdbg-fuzz-clr", suffix: ".core")
    unlink(path)
    guard (try? FileManager.default.copyItem(atPath: raw, toPath: path)) != nil else { return nil }
    let s = Session(dump: opened.dump, output: Output(sink: { _ in }))
    s.imagePath = [runtime, app]
    s.executeTopLevel(line: ".loadby sos clr")
    guard let r = try? ClrRuntime(target: DataTarget(dump: opened.dump, imagePath: s.imagePath)), let heap = try? r.heap() else { return nil }
    var addresses: [(UInt64, UInt64)] = []
    for seg in heap.segments { addresses.append((seg.start, min(seg.end - seg.start, 0x4000))) }
    for t in r.threads() { addresses.append((t.address, 0x600)); addresses.append((t.frame, 0x100)) }
    if let table = r.globalPointer(.syncTable) { addresses.append((table, 0x200)) }
    r.forEachSyncBlockEntry { e in if e.syncBlock != 0 { addresses.append((e.syncBlock, 0x60)) } }
    if let cache = r.globalPointer(.syncBlockCache) { addresses.append((cache, 0x100)) }
    if let q = r.globalPointer(.finalizeQueue) { addresses.append((q, 0x60)) }
    for h in r.handles().prefix(8) { addresses.append((h.address & ~0xFFFF, 0x1000)) }
    for o in heap.segments.prefix(1) { addresses.append((o.start, 0x400)) }
    let mem = opened.dump.memory
    var windows: [(UInt64, UInt64)] = []
    for (a, n) in addresses {
        guard let i = mem.rangeIndex(containing: a) else { continue }
        let range = mem.ranges[i]
        let rel = a - range.start
        guard rel < range.present else { continue }
        windows.append((range.fileOffset + rel, min(n, range.present - rel)))
    }
    var account: UInt64 = 0
    heap.enumerateObjects { o in
        if r.type(o.methodTable)?.name == "Samples.Hang.BankAccount" { account = o.address; return false }
        return true
    }
    let fd = open(path, O_RDWR)
    setenv("DUMPDBG_CACHE", "/dev/shm/dumpdbg-fuzz-cache", 1)
    guard let copy = try? DumpLoader.open(path: path).dump else { return nil }
    return Setup(runtime: runtime, app: app, windows: windows, accountA: String(account, radix: 16), fd: fd,
                 dump: copy)
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzClr(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let setup, setup.fd >= 0, !setup.windows.isEmpty else { return 0 }
    guard size >= 1 else { return 0 }
    let commands = [".loadby sos clr", "!threads", "!dumpheap -stat", "!syncblk -all", "!fq", "!gchandles", "~* e !clrstack -a",
                    "!dso", "!dumpasync --tasks", "!analyze -v -hang", "!gcroot \(setup.accountA)", "!do \(setup.accountA)", "!pe"]
    let command = commands[Int(data[0]) % commands.count]
    var undo: [(UInt64, [UInt8])] = []
    var i = 1
    while i + 8 <= size, undo.count < 64 {
        let w = setup.windows[Int(UInt16(data[i]) | UInt16(data[i + 1]) << 8) % setup.windows.count]
        let off = w.offset + UInt64(UInt16(data[i + 2]) | UInt16(data[i + 3]) << 8) % max(1, w.length)
        var old = [UInt8](repeating: 0, count: 4)
        guard pread(setup.fd, &old, 4, off_t(off)) == 4 else { i += 8; continue }
        undo.append((off, old))
        _ = pwrite(setup.fd, data + i + 4, 4, off_t(off))
        i += 8
    }
    defer { for (off, old) in undo.reversed() { _ = pwrite(setup.fd, old, 4, off_t(off)) } }
    let s = Session(dump: setup.dump, output: Output(sink: { _ in }))
    s.progress = ProgressLine(enabled: false)
    s.heapWalkThreads = 1
    s.imagePath = [setup.runtime, setup.app]
    s.executeTopLevel(line: commands[0])
    if command != commands[0] { s.executeTopLevel(line: command) }
    return 0
}
