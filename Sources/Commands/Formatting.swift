/// Number formatting in the shapes WinDbg and SOS print.
public enum Hex {
    /// Zero-padded lowercase hex of exactly `width` digits (more if the value needs them).
    public static func pad(_ v: UInt64, _ width: Int) -> String {
        let s = String(v, radix: 16)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }

    /// A 64-bit value as WinDbg's native commands print it: `00007ff6`127dc480`.
    public static func tick(_ v: UInt64) -> String {
        pad(v >> 32, 8) + "`" + pad(v & 0xFFFF_FFFF, 8)
    }

    /// An address for the target's pointer size: backtick-split on 64-bit, 8 digits on 32-bit.
    public static func address(_ v: UInt64, pointerSize: Int) -> String {
        pointerSize == 8 ? tick(v) : pad(v & 0xFFFF_FFFF, 8)
    }

    /// `!address`'s compact style: `0`7ffe0000` (high part unpadded).
    public static func compactTick(_ v: UInt64) -> String {
        String(v >> 32, radix: 16) + "`" + pad(v & 0xFFFF_FFFF, 8)
    }
}

extension String {
    /// Padded on the left to `n` characters: with spaces, or with zeros for a decimal (`%03d` without Foundation's
    /// `String(format:)`, whose first use in a process costs more than the rest of a short session's formatting).
    func leftPad(_ n: Int, with pad: Character = " ") -> String { count >= n ? self : String(repeating: pad, count: n - count) + self }
    func rightPad(_ n: Int) -> String { count >= n ? self : self + String(repeating: " ", count: n - count) }
}

/// Builds many output lines as bytes and hands them to the output in large pieces: for commands that print
/// a line per object (`!dumpheap` on millions of objects), where building a String per line costs more than
/// the walk itself.
struct TextChunk {
    /// The bytes, in memory of our own: an Array would cost a uniqueness check on every append.
    private final class Storage {
        static let capacity = 1 << 16
        /// Room past `capacity` for one more line of any of the fixed-width fields.
        static let slack = 256
        let base = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity + slack)
        var count = 0
        deinit { base.deallocate() }
    }
    private let storage = Storage()
    private let output: Output
    /// "00".."ff" as 512 bytes, looked up once here: a global read in the loop costs a lazy-init check each time.
    private let hexPairs = TextChunk.pairs

    // Written once by its initializer, only read after: safe to share.
    nonisolated(unsafe) private static let pairs: UnsafePointer<UInt8> = {
        let digits = Array("0123456789abcdef".utf8)
        let p = UnsafeMutablePointer<UInt8>.allocate(capacity: 512)
        for i in 0..<256 { p[2 * i] = digits[i >> 4]; p[2 * i + 1] = digits[i & 15] }
        return UnsafePointer(p)
    }()

    init(_ output: Output) {
        self.output = output
    }

    /// `v` in lowercase hex, zero-padded to `width` digits (SOS's `%p` is 16).
    mutating func hex(_ v: UInt64, width: Int = 16) {
        makeRoom()
        let out = storage.base + storage.count
        if width >= 16 {
            for i in 0..<8 {
                let b = Int(truncatingIfNeeded: v >> UInt64(56 - 8 * i)) & 0xFF
                out[2 * i] = hexPairs[2 * b]
                out[2 * i + 1] = hexPairs[2 * b + 1]
            }
            storage.count += 16
            return
        }
        var n = 16
        while n > max(width, 1), (v >> UInt64(4 * (n - 1))) & 0xF == 0 { n -= 1 }
        for i in 0..<n {
            let d = Int(truncatingIfNeeded: v >> UInt64(4 * (n - 1 - i))) & 0xF
            out[i] = hexPairs[2 * d + 1]
        }
        storage.count += n
    }

    /// `v` in decimal, right-aligned in `width` columns (at most 64).
    mutating func decimal(_ v: UInt64, width: Int) {
        var digits = 0
        var x = v
        repeat { digits += 1; x /= 10 } while x > 0
        let pad = max(0, min(width, 64) - digits)
        makeRoom()
        let out = storage.base + storage.count
        for i in 0..<pad { out[i] = 32 }
        x = v
        var i = pad + digits - 1
        repeat { out[i] = 48 + UInt8(x % 10); x /= 10; i -= 1 } while x > 0
        storage.count += pad + digits
    }

    mutating func text(_ s: String) {
        for b in s.utf8 {
            if storage.count >= Storage.capacity + Storage.slack - 1 { flush() }
            storage.base[storage.count] = b
            storage.count += 1
        }
    }

    mutating func byte(_ b: UInt8) {
        makeRoom()
        storage.base[storage.count] = b
        storage.count += 1
    }

    /// Every field writes at most 84 bytes; past the slack's start the chunk is passed on first, so no field
    /// can run off the end whatever a caller writes between newlines.
    @inline(__always)
    private mutating func makeRoom() {
        if storage.count > Storage.capacity + Storage.slack - 96 { flush() }
    }

    /// Ends a line; passes the chunk on once it is large.
    mutating func newline() {
        byte(10)
        if storage.count >= Storage.capacity { flush() }
    }

    mutating func flush() {
        guard storage.count > 0 else { return }
        output.write(String(decoding: UnsafeBufferPointer(start: storage.base, count: storage.count), as: UTF8.self))
        storage.count = 0
    }
}

