import Foundation
import TestSupport

/// Builds minidumps and ELF cores byte by byte, for the edge cases no real dump has (overlaps, counts
/// past the end, ranges past the file). Test-only: real dumps are the primary fixtures.
struct MinidumpBuilder {
    struct Stream { var type: UInt32; var data: [UInt8] }
    var streams: [Stream] = []
    /// Extra bytes appended after the streams (memory contents referenced by RVA).
    var tail: [UInt8] = []
    var declaredStreamCount: UInt32?

    static func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }

    mutating func add(_ type: UInt32, _ data: [UInt8]) { streams.append(Stream(type: type, data: data)) }

    /// SystemInfo for x64 Windows 10.
    static func systemInfoAMD64() -> [UInt8] {
        var b = le(UInt16(9))
        b += le(UInt16(6))
        b += le(UInt16(0))
        b += [4, 1]
        b += le(UInt32(10))
        b += le(UInt32(0))
        b += le(UInt32(19041))
        b += le(UInt32(2))
        b += le(UInt32(0))
        b += le(UInt16(0))
        b += le(UInt16(0))
        b += [UInt8](repeating: 0, count: 24)
        return b
    }

    /// An AMD64 CONTEXT with rip and rsp set.
    static func contextAMD64(rip: UInt64, rsp: UInt64) -> [UInt8] {
        var c = [UInt8](repeating: 0, count: 0x4D0)
        c.replaceSubrange(0x98..<0xA0, with: le(rsp))
        c.replaceSubrange(0xF8..<0x100, with: le(rip))
        return c
    }

    /// Lays out header, directory, streams and tail; `patch` gets (stream index -> rva) to fix up references.
    func build(patch: ((inout [UInt8], [UInt32]) -> Void)? = nil) -> [UInt8] {
        var out = Self.le(UInt32(0x504D_444D))
        out += Self.le(UInt32(0xA793))
        out += Self.le(declaredStreamCount ?? UInt32(streams.count))
        out += Self.le(UInt32(32))
        out += Self.le(UInt32(0))
        out += Self.le(UInt32(1_600_000_000))
        out += Self.le(UInt64(0))
        var rva = UInt32(32 + 12 * streams.count)
        var rvas: [UInt32] = []
        for s in streams {
            out += MinidumpBuilder.le(s.type) + MinidumpBuilder.le(UInt32(s.data.count)) + MinidumpBuilder.le(rva)
            rvas.append(rva)
            rva += UInt32(s.data.count)
        }
        for s in streams { out += s.data }
        out += tail
        patch?(&out, rvas)
        return out
    }
}

struct ElfCoreBuilder {
    struct Segment { var vaddr: UInt64; var data: [UInt8]; var memsz: UInt64; var flags: UInt32 = 6; var fileSizeOverride: UInt64? }
    var segments: [Segment] = []
    var notes: [(name: String, type: UInt32, desc: [UInt8])] = []
    var declaredPhnum: UInt16?

    static func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { MinidumpBuilder.le(v) }

    /// NT_PRSTATUS for x86_64 with a pid, a signal and rip/rsp.
    static func prstatus(pid: UInt32, signal: UInt16, rip: UInt64, rsp: UInt64) -> [UInt8] {
        var d = [UInt8](repeating: 0, count: 336)
        d.replaceSubrange(12..<14, with: le(signal))
        d.replaceSubrange(32..<36, with: le(pid))
        let regs = 112
        d.replaceSubrange((regs + 16 * 8)..<(regs + 17 * 8), with: le(rip))  // rip is register 16
        d.replaceSubrange((regs + 19 * 8)..<(regs + 20 * 8), with: le(rsp))  // rsp is register 19
        return d
    }

    func build() -> [UInt8] {
        var noteBytes: [UInt8] = []
        for n in notes {
            let name = Array(n.name.utf8) + [0]
            noteBytes += Self.le(UInt32(name.count)) + Self.le(UInt32(n.desc.count)) + Self.le(n.type)
            noteBytes += name + [UInt8](repeating: 0, count: (4 - name.count % 4) % 4)
            noteBytes += n.desc + [UInt8](repeating: 0, count: (4 - n.desc.count % 4) % 4)
        }
        let phnum = 1 + segments.count
        var offset = UInt64(64 + 56 * phnum)
        var ph: [UInt8] = []
        func header(_ type: UInt32, _ flags: UInt32, _ off: UInt64, _ vaddr: UInt64, _ filesz: UInt64, _ memsz: UInt64) -> [UInt8] {
            var b = Self.le(type)
            b += Self.le(flags); b += Self.le(off); b += Self.le(vaddr); b += Self.le(UInt64(0))
            b += Self.le(filesz); b += Self.le(memsz); b += Self.le(UInt64(1))
            return b
        }
        ph += header(4, 0, offset, 0, UInt64(noteBytes.count), 0)
        offset += UInt64(noteBytes.count)
        var body = noteBytes
        for s in segments {
            ph += header(1, s.flags, offset, s.vaddr, s.fileSizeOverride ?? UInt64(s.data.count), s.memsz)
            offset += UInt64(s.data.count)
            body += s.data
        }
        var h: [UInt8] = [0x7F, 0x45, 0x4C, 0x46, 2, 1, 1, 0] + [UInt8](repeating: 0, count: 8)
        h += Self.le(UInt16(4)); h += Self.le(UInt16(62)); h += Self.le(UInt32(1))
        h += Self.le(UInt64(0)); h += Self.le(UInt64(64)); h += Self.le(UInt64(0))
        h += Self.le(UInt32(0)); h += Self.le(UInt16(64)); h += Self.le(UInt16(56))
        h += Self.le(declaredPhnum ?? UInt16(phnum)); h += Self.le(UInt16(64)); h += Self.le(UInt16(0)); h += Self.le(UInt16(0))
        return h + ph + body
    }
}

enum TempFiles {
    static let directory: String = {
        let d = scratchPath("synthetic")
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }()

    static func write(_ bytes: [UInt8], name: String) -> String {
        let p = "\(directory)/\(name)"
        _ = FileManager.default.createFile(atPath: p, contents: Data(bytes))
        return p
    }
}
