@testable import DumpModel
import Foundation
import Testing

/// The one ELF program-header parser, against binutils' `readelf -lW` on real files: every header's type, offset,
/// address, sizes and flags, for a 64-bit and (when gcc -m32 links here) a 32-bit executable.
@Suite struct ElfProgramHeaderTests {
    struct Row: Equatable { let type: String; let offset, vaddr, fileSize, memorySize: UInt64; let executable: Bool }

    static func readelf(_ path: String) throws -> [Row]? {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["readelf", "-lW", path]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return nil }
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { return nil }
        // "  LOAD  0x000000 0x0000000000000000 0x0000000000000000 0x0037a8 0x0037a8 R   0x1000"
        return text.split(separator: "\n").compactMap { line -> Row? in
            let f = line.split(separator: " ")
            guard f.count >= 7, f[1].hasPrefix("0x"), f[2].hasPrefix("0x"), let off = UInt64(f[1].dropFirst(2), radix: 16),
                  let va = UInt64(f[2].dropFirst(2), radix: 16), let fs = UInt64(f[4].dropFirst(2), radix: 16),
                  let ms = UInt64(f[5].dropFirst(2), radix: 16) else { return nil }
            let flags = f[6...].prefix { !$0.hasPrefix("0x") }.joined()
            return Row(type: String(f[0]), offset: off, vaddr: va, fileSize: fs, memorySize: ms, executable: flags.contains("E"))
        }
    }

    static let names: [UInt32: String] = [1: "LOAD", 2: "DYNAMIC", 3: "INTERP", 4: "NOTE", 6: "PHDR", 7: "TLS",
                                          0x6474_E550: "GNU_EH_FRAME", 0x6474_E551: "GNU_STACK", 0x6474_E552: "GNU_RELRO",
                                          0x6474_E553: "GNU_PROPERTY"]

    @Test func parsesWhatReadelfReads() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dumpdbg-phdr-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var files = ["/bin/ls"]
        // A 32-bit executable, when the toolchain can make one.
        try "int main(void){return 0;}".write(toFile: dir + "/t.c", atomically: true, encoding: .utf8)
        let cc = Process()
        cc.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        cc.arguments = ["gcc", "-m32", "-o", dir + "/t32", dir + "/t.c"]
        cc.standardError = FileHandle.nullDevice
        if (try? cc.run()) != nil { cc.waitUntilExit(); if cc.terminationStatus == 0 { files.append(dir + "/t32") } }
        var compared = 0
        for path in files {
            guard let expected = try Self.readelf(path) else { print("skip: readelf is not here"); return }
            let file = try MappedFile(path: path)
            let v = ByteView(file: file, offset: 0, count: file.size)
            let is64 = v.u8(4) == 2
            let r = v.elfReaders(is64: is64)
            let table = try #require(ElfProgramHeader.table(is64: is64, u16: r.u16, word: r.word))
            let ours = ElfProgramHeader.all(is64: is64, table: table, limit: 4096, u32: r.u32, word: r.word).map {
                Row(type: Self.names[$0.type] ?? "0x\(String($0.type, radix: 16))", offset: $0.offset, vaddr: $0.vaddr,
                    fileSize: $0.fileSize, memorySize: $0.memorySize, executable: $0.isExecutable)
            }
            #expect(ours == expected, "\(path)")
            compared += expected.count
        }
        #expect(compared >= 8)
    }
}
