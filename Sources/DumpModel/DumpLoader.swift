/// Opens any supported dump: detects compression and format from the bytes, never from the name.
public enum DumpLoader {
    public struct Opened: Sendable {
        public let dump: any Dump
        /// Set when the file was compressed: where the plain copy lives, and whether it was already cached.
        public let decompressedPath: String?
        public let reusedCache: Bool
    }

    public static func open(path: String) throws(DumpError) -> Opened {
        let file = try MappedFile(path: path)
        if let codec = Decompression.detect(file) {
            let (plain, reused) = try Decompression.cachedPlainFile(for: file, codec: codec)
            let inner = try MappedFile(path: plain)
            return Opened(dump: try parse(inner, displayPath: path), decompressedPath: plain, reusedCache: reused)
        }
        return Opened(dump: try parse(file, displayPath: path), decompressedPath: nil, reusedCache: false)
    }

    /// True when the file starts as something `open` reads: a minidump, an ELF core (e_type ET_CORE), or
    /// compressed data (whose contents are only known once decompressed). For picking dumps out of a folder.
    public static func looksLikeDump(path: String) -> Bool {
        guard let file = try? MappedFile(path: path) else { return false }
        if Decompression.detect(file) != nil { return true }
        guard let head = file.array(at: 0, count: min(18, Int(file.size))), head.count >= 4 else { return false }
        if head.starts(with: [0x4D, 0x44, 0x4D, 0x50]) { return true }
        guard head.starts(with: [0x7F, 0x45, 0x4C, 0x46]), head.count >= 18 else { return false }
        let type = head[5] == 2 ? UInt16(head[16]) << 8 | UInt16(head[17]) : UInt16(head[17]) << 8 | UInt16(head[16])
        return type == 4
    }

    static func parse(_ file: MappedFile, displayPath: String) throws(DumpError) -> any Dump {
        guard file.size >= 4, let magic = file.array(at: 0, count: 4) else {
            throw DumpError(path: displayPath, problem: "file is too small to be a dump (\(file.size) bytes)")
        }
        do {
            if magic == [0x4D, 0x44, 0x4D, 0x50] { return try Minidump(file: file, displayPath: displayPath) }
            if magic == [0x7F, 0x45, 0x4C, 0x46] { return try ElfCore(file: file, displayPath: displayPath) }
        } catch {
            throw DumpError(path: displayPath, problem: error.problem)
        }
        let hex = magic.map { String(format2: $0) }.joined(separator: " ")
        throw DumpError(path: displayPath, problem: "not a minidump or ELF core (starts with \(hex))")
    }
}

extension String {
    init(format2 byte: UInt8) {
        let s = String(byte, radix: 16)
        self = s.count == 1 ? "0" + s : s
    }
}
