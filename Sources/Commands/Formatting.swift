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
