import ClrLayout
@testable import Commands
import DumpModel
import Foundation
import TestSupport
import Testing

@Suite("Damaged heap data")
struct CorruptionTests {
    @Test("an object whose MethodTable pointer is garbage: <invalid> answers, the walk stops that segment, no crash")
    func garbageMethodTable() throws {
        guard ClrFixtures.seedAvailable else { print("skip: ../shared/dumps is absent"); return }
        guard let runtime = ClrFixtures.runtimeFolder else { print("skip: " + ClrFixtures.skipRuntime); return }
        setenv("DUMPDBG_CACHE", ClrFixtures.cacheDirectory, 1)
        let opened = try DumpLoader.open(path: ClrFixtures.seedDump)
        let plain = try #require(opened.decompressedPath)
        let victim: UInt64 = 0x7fb0_7023_8a38  // the first IIS7WorkerRequest
        let mem = opened.dump.memory
        let range = try #require(mem.rangeIndex(containing: victim).map { mem.ranges[$0] })
        let offset = range.fileOffset + (victim - range.start)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: plain))
        for i in 0..<8 { bytes[Int(offset) + i] = 0x41 }
        let copy = scratchPath("corrupt-\(UUID().uuidString).core")
        try bytes.write(to: URL(fileURLWithPath: copy))
        defer { try? FileManager.default.removeItem(atPath: copy) }

        let dump = try DumpLoader.open(path: copy).dump
        let buffer = Output.Buffer()
        let s = Session(dump: dump, output: Output(sink: { buffer.append($0) }))
        s.imagePath = [try ClrFixtures.linkFolder([runtime]), try ClrFixtures.linkFolder([ClrFixtures.seedFolder], files: ["app.exe"])]
        _ = ClrFixtures.run(s, buffer, ".loadby sos clr")
        let stat = ClrFixtures.run(s, buffer, "!dumpheap -stat")
        #expect(stat.contains("Error: object 00007fb070238a38: bad MethodTable 4141414141414140"), "\(stat)")
        #expect(stat.contains("Statistics:\n"))
        #expect(ClrFixtures.run(s, buffer, "!do 7fb070238a38") == "<Note: this object has an invalid CLASS field>\nInvalid object\n")
        // Objects before the damage still read; the LOH segment is still walked.
        #expect(ClrFixtures.run(s, buffer, "!do 7fb07000c9c0").contains("String:      /Account/Login"))
        #expect(ClrFixtures.run(s, buffer, "!dumpheap -min 0n100000 -short").contains("00007fb0"))
    }
}
