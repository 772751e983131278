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
    func leftPad(_ n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
    func rightPad(_ n: Int) -> String { count >= n ? self : self + String(repeating: " ", count: n - count) }
}

/// Builds many output lines as bytes and hands them to the output in large pieces: for commands that print
/// a line per object (`!dumpheap` on millions of objects), where building a String per line costs more than
/// the walk itself.
struct TextChunk {
    private(set) var bytes: [UInt8] = []
    private let output: Output
    private static let digits = Array("0123456789abcdef".utf8)

    init(_ output: Output) {
        self.output = output
        bytes.reserveCapacity(1 << 16)
    }

    /// `v` in lowercase hex, zero-padded to `width` digits (SOS's `%p` is 16).
    mutating func hex(_ v: UInt64, width: Int = 16) {
        var n = 16
        while n > width, (v >> UInt64(4 * (n - 1))) & 0xF == 0 { n -= 1 }
        for i in stride(from: n - 1, through: 0, by: -1) { bytes.append(Self.digits[Int((v >> UInt64(4 * i)) & 0xF)]) }
    }

    /// `v` in decimal, right-aligned in `width` columns.
    mutating func decimal(_ v: UInt64, width: Int) {
        var tmp: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                  UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        var x = v
        withUnsafeMutableBytes(of: &tmp) { buf in
            repeat { buf[19 - count] = 48 + UInt8(x % 10); x /= 10; count += 1 } while x > 0
            for _ in count..<max(count, width) { bytes.append(32) }
            for i in (20 - count)..<20 { bytes.append(buf[i]) }
        }
    }

    mutating func text(_ s: String) { bytes.append(contentsOf: s.utf8) }
    mutating func byte(_ b: UInt8) { bytes.append(b) }

    /// Ends a line; passes the chunk on once it is large.
    mutating func newline() {
        bytes.append(10)
        if bytes.count >= 1 << 16 { flush() }
    }

    mutating func flush() {
        guard !bytes.isEmpty else { return }
        output.write(String(decoding: bytes, as: UTF8.self))
        bytes.removeAll(keepingCapacity: true)
    }
}
