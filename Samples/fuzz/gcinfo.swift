// Fuzz target: the JIT's GC info (x64): the header, then the live slots at a code offset for each kind of frame.
// Input: a 4-byte little-endian code offset, then the GC info bytes (seeds: Samples/fuzz/seeds/gcinfo, real
// GC info of JIT'd and ReadyToRun methods from the 3.1 async-crash dump).
import ClrLayout

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGcInfo(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 4 else { return 0 }
    let offset = UInt32(data[0]) | UInt32(data[1]) << 8 | UInt32(data[2]) << 16 | UInt32(data[3]) << 24
    let bytes = Array(UnsafeBufferPointer(start: data + 4, count: size - 4))
    let kinds = [GcInfo.FrameKind(), GcInfo.FrameKind(active: true), GcInfo.FrameKind(executionAborted: true),
                 GcInfo.FrameKind(parentOfFunclet: true)]
    for version in [1, 2] {
        guard let info = try? GcInfo(bytes: bytes, version: version) else { continue }
        for kind in kinds {
            for at in [offset, offset % max(info.codeLength, 1), info.codeLength &- 1] {
                _ = try? info.liveSlots(at: at, frame: kind, isScratchRegister: { $0 < 3 || ($0 > 5 && $0 < 12) },
                                        isOutgoingAreaSlot: { base, o in base == .sp && o < 32 })
            }
        }
    }
    return 0
}
