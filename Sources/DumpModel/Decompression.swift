import CCompression
import Foundation

/// Dumps travel compressed (.xz, .gz, .bz2). Rather than inflate into memory, we decompress once into
/// a cache file and map that, so a second open is as cheap as opening a plain dump.
public enum Decompression {
    public enum Codec: String, Sendable { case xz, gzip, bzip2 }

    public static func detect(_ file: MappedFile) -> Codec? {
        guard let b = file.bytes(at: 0, count: min(6, Int(file.size))) else { return nil }
        let m = Array(b)
        if m.count >= 6, m == [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00] { return .xz }
        if m.count >= 2, m[0] == 0x1F, m[1] == 0x8B { return .gzip }
        if m.count >= 3, m[0] == 0x42, m[1] == 0x5A, m[2] == 0x68 { return .bzip2 }
        return nil
    }

    /// The cache folder: $DUMPDBG_CACHE, else $XDG_CACHE_HOME/dumpdbg, else ~/.cache/dumpdbg.
    public static func cacheDirectory() -> String {
        if let d = ProcessEnvironment.value("DUMPDBG_CACHE"), !d.isEmpty { return d }
        if let x = ProcessEnvironment.value("XDG_CACHE_HOME"), !x.isEmpty { return x + "/dumpdbg" }
        return UserFolders.home + "/.cache/dumpdbg"
    }

    /// Decompresses `file` into the cache unless an entry for the same path, size and mtime exists.
    /// Returns the path of the plain file.
    public static func cachedPlainFile(for file: MappedFile, codec: Codec) throws(DumpError) -> (path: String, reused: Bool) {
        let path = file.path
        let attrs = try? FileManager.default.attributesOfItem(atPath: path)
        let mtime = (attrs?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        let real = URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
        let key = fnv1a("\(real)|\(file.size)|\(mtime)")
        var base = URL(fileURLWithPath: path).lastPathComponent
        for ext in [".xz", ".gz", ".bz2"] where base.hasSuffix(ext) { base = String(base.dropLast(ext.count)) }
        let dir = cacheDirectory()
        let target = "\(dir)/\(String(key, radix: 16))-\(base)"
        if FileManager.default.fileExists(atPath: target) { return (target, true) }
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        } catch {
            throw DumpError(path: path, problem: "cannot create cache folder \(dir): \(error.localizedDescription)")
        }
        // Unique per call: two opens of one dump in one process (or two processes) must not share a temp file.
        let temp = "\(target).partial-\(getpid())-\(UUID().uuidString)"
        guard let out = fopen(temp, "wb") else {
            throw DumpError(path: path, problem: "cannot write cache file \(temp)")
        }
        let result: String?
        switch codec {
        case .xz: result = inflateXZ(file, into: out)
        case .gzip: result = inflateGzip(file, into: out)
        case .bzip2: result = inflateBzip2(file, into: out)
        }
        fclose(out)
        if let problem = result {
            unlink(temp)
            throw DumpError(path: path, problem: "\(codec.rawValue) data is damaged: \(problem)")
        }
        guard rename(temp, target) == 0 else {
            unlink(temp)
            // Another open finished the same decompression first: its copy is as good as ours.
            if FileManager.default.fileExists(atPath: target) { return (target, true) }
            throw DumpError(path: path, problem: "cannot move cache file into place at \(target)")
        }
        return (target, false)
    }

    private static func fnv1a(_ s: String) -> UInt64 {
        var h: UInt64 = 0xcbf29ce484222325
        for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x100000001b3 }
        return h
    }

    private static let chunk = 1 << 20

    private static func inflateXZ(_ file: MappedFile, into out: UnsafeMutablePointer<FILE>) -> String? {
        var strm = lzma_stream()
        guard lzma_stream_decoder(&strm, UInt64.max, 0x08 /* LZMA_CONCATENATED */) == LZMA_OK else { return "cannot start the xz decoder" }
        defer { lzma_end(&strm) }
        guard let input = file.bytes(at: 0, count: Int(file.size)) else { return "unreadable" }
        var buffer = [UInt8](repeating: 0, count: chunk)
        strm.next_in = input.baseAddress?.assumingMemoryBound(to: UInt8.self)
        strm.avail_in = input.count
        while true {
            let ret: lzma_ret = buffer.withUnsafeMutableBufferPointer { buf in
                strm.next_out = buf.baseAddress
                strm.avail_out = buf.count
                let r = lzma_code(&strm, strm.avail_in == 0 ? LZMA_FINISH : LZMA_RUN)
                let produced = buf.count - strm.avail_out
                if produced > 0 { fwrite(buf.baseAddress, 1, produced, out) }
                return r
            }
            if ret == LZMA_STREAM_END { return nil }
            if ret != LZMA_OK { return "lzma error \(ret.rawValue) after \(strm.total_out) bytes" }
        }
    }

    private static func inflateGzip(_ file: MappedFile, into out: UnsafeMutablePointer<FILE>) -> String? {
        var strm = z_stream()
        guard inflateInit2_(&strm, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return "cannot start the gzip decoder" }
        defer { inflateEnd(&strm) }
        guard let input = file.bytes(at: 0, count: Int(file.size)) else { return "unreadable" }
        var consumed = 0
        var buffer = [UInt8](repeating: 0, count: chunk)
        while true {
            let step = min(input.count - consumed, Int(UInt32.max))
            strm.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.advanced(by: consumed).assumingMemoryBound(to: UInt8.self))
            strm.avail_in = UInt32(step)
            let ret: Int32 = buffer.withUnsafeMutableBufferPointer { buf in
                strm.next_out = buf.baseAddress
                strm.avail_out = UInt32(buf.count)
                let r = inflate(&strm, Z_NO_FLUSH)
                let produced = buf.count - Int(strm.avail_out)
                if produced > 0 { fwrite(buf.baseAddress, 1, produced, out) }
                return r
            }
            consumed += step - Int(strm.avail_in)
            if ret == Z_STREAM_END { return nil }
            if ret != Z_OK { return "zlib error \(ret)" }
            if consumed >= input.count && strm.avail_out != 0 { return "unexpected end of data" }
        }
    }

    private static func inflateBzip2(_ file: MappedFile, into out: UnsafeMutablePointer<FILE>) -> String? {
        var strm = bz_stream()
        guard BZ2_bzDecompressInit(&strm, 0, 0) == BZ_OK else { return "cannot start the bzip2 decoder" }
        defer { BZ2_bzDecompressEnd(&strm) }
        guard let input = file.bytes(at: 0, count: Int(file.size)) else { return "unreadable" }
        var consumed = 0
        var buffer = [Int8](repeating: 0, count: chunk)
        while true {
            let step = min(input.count - consumed, Int(UInt32.max))
            strm.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.advanced(by: consumed).assumingMemoryBound(to: Int8.self))
            strm.avail_in = UInt32(step)
            let ret: Int32 = buffer.withUnsafeMutableBufferPointer { buf in
                strm.next_out = buf.baseAddress
                strm.avail_out = UInt32(buf.count)
                let r = BZ2_bzDecompress(&strm)
                let produced = buf.count - Int(strm.avail_out)
                if produced > 0 { fwrite(buf.baseAddress, 1, produced, out) }
                return r
            }
            consumed += step - Int(strm.avail_in)
            if ret == BZ_STREAM_END { return nil }
            if ret != BZ_OK { return "bzip2 error \(ret)" }
            if consumed >= input.count && strm.avail_out != 0 { return "unexpected end of data" }
        }
    }
}

/// One variable of the process's environment. `ProcessInfo.environment` copies the whole environment into a
/// dictionary for each lookup; start-up and each triage worker need a few variables.
public enum ProcessEnvironment {
    public static func value(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }
}

/// The user's folders as the environment names them: `$HOME` first (what a user sets for a sandbox or a CI job),
/// the password database's home only when it is unset.
public enum UserFolders {
    public static var home: String {
        if let h = ProcessEnvironment.value("HOME"), !h.isEmpty { return h }
        return NSHomeDirectory()
    }
}
