import DumpModel
import Native

/// `.debug_frame`: DWARF call frame information that the loader never maps. Compilers put a function's rules
/// there instead of `.eh_frame` when it is built without unwind tables (`-fno-asynchronous-unwind-tables`,
/// most 32-bit ARM code, many embedded and kernel builds), so only the image file has them.
///
/// The format is `.eh_frame`'s with three differences: a CIE's id is 0xffffffff, an FDE points at its CIE by
/// offset from the section's start, and addresses are absolute, of the CIE's address size.
final class DebugFrameInfo: @unchecked Sendable {
    // @unchecked: the index is built in init and never changes.
    private let bytes: [UInt8]
    private let pointerSize: Int
    /// Every FDE: its code range and where it starts in the section, sorted by start.
    private let index: [(start: UInt64, end: UInt64, fde: Int)]

    init?(image: ElfImage) {
        guard let b = image.debugFrame, b.count >= 8 else { return nil }
        bytes = b
        pointerSize = image.is64 ? 8 : 4
        var out: [(start: UInt64, end: UInt64, fde: Int)] = []
        var cies: [Int: CommonInformationEntry?] = [:]
        var off = 0
        while off + 8 <= b.count, out.count < 2_000_000 {
            var r = DwarfReader(b, baseAddress: 0, offset: off)
            let length = Int(r.fixed(4))
            // 64-bit DWARF (length 0xffffffff) is not produced for these images; stop rather than misread it.
            guard length >= 4, length != 0xFFFF_FFFF, length <= b.count - off - 4 else { break }
            let next = off + 4 + length
            let id = r.fixed(4)
            if id != 0xFFFF_FFFF, let cie = Self.cie(at: Int(id), in: b, cache: &cies, pointerSize: pointerSize) {
                let size = cie.addressSize ?? pointerSize
                let start = r.fixed(size), range = r.fixed(size)
                if !r.failed, r.offset <= next, range > 0, start &+ range > start { out.append((start, start &+ range, off)) }
            }
            off = next
        }
        guard !out.isEmpty else { return nil }
        index = out.sorted { $0.start < $1.start }
    }

    private static func cie(at offset: Int, in b: [UInt8], cache: inout [Int: CommonInformationEntry?], pointerSize: Int) -> CommonInformationEntry? {
        if let c = cache[offset] { return c }
        let c = offset < b.count ? CommonInformationEntry(b, address: 0, offset: offset, pointerSize: pointerSize, cieId: 0xFFFF_FFFF) : nil
        cache[offset] = c
        return c
    }

    /// The rules at link-time address `pc`.
    func row(at pc: UInt64) -> UnwindRow? {
        guard let i = SortedSearch.lastIndex(index.count, atOrBelow: pc, { index[$0].start }),
              pc < index[i].end, let fde = entry(at: index[i].fde) else { return nil }
        return CfaProgram.run(cie: fde.cie, fde: fde, until: pc)
    }

    private func entry(at off: Int) -> FrameDescriptionEntry? {
        var r = DwarfReader(bytes, baseAddress: 0, offset: off)
        let length = Int(r.fixed(4))
        guard length >= 4, length <= EhFrameInfo.maxRecordLength, length <= bytes.count - off - 4 else { return nil }
        let end = off + 4 + length
        let cieOffset = Int(r.fixed(4))
        guard cieOffset < bytes.count,
              let cie = CommonInformationEntry(bytes, address: 0, offset: cieOffset, pointerSize: pointerSize, cieId: 0xFFFF_FFFF) else { return nil }
        let size = cie.addressSize ?? pointerSize
        let start = r.fixed(size), range = r.fixed(size)
        // An augmentation with "z" adds a length-prefixed block here (rare in .debug_frame, but allowed).
        if cie.hasAugmentationData { r.offset += Int(min(r.uleb(), UInt64(bytes.count))) }
        guard !r.failed, r.offset <= end else { return nil }
        return FrameDescriptionEntry(start: start, end: start &+ range, cie: cie, instructions: Array(bytes[r.offset..<end]))
    }
}
