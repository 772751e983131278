@testable import ClrLayout
import Foundation
import Testing

/// The GC info decoder on real GC info (Samples/fuzz/seeds/gcinfo: a 4-byte code offset, then the bytes of a
/// method's GC info, taken from the 3.1 async-crash dump), against the slots the DAC reports for those frames
/// (Expected/linux-3.1.dac-stackrefs.txt), and cut short at every length: an error, never a trap.
@Suite("GC info decoder")
struct GcInfoTests {
    static let seeds = ClrFixtures.projectRoot.appendingPathComponent("Samples/fuzz/seeds/gcinfo")

    static func seed(_ name: String) throws -> (offset: UInt32, bytes: [UInt8]) {
        let d = try [UInt8](Data(contentsOf: seeds.appendingPathComponent(name)))
        return (UInt32(d[0]) | UInt32(d[1]) << 8 | UInt32(d[2]) << 16 | UInt32(d[3]) << 24, Array(d.dropFirst(4)))
    }

    static func live(_ name: String) throws -> [GcInfo.Slot] {
        let (offset, bytes) = try seed(name)
        let info = try GcInfo(bytes: bytes)
        return try info.liveSlots(at: offset, frame: .init(), isScratchRegister: { ![3, 5, 12, 13, 14, 15].contains($0) },
                                  isOutgoingAreaSlot: { _, _ in false })
    }

    static func frameSlots(_ offsets: [Int32]) -> [GcInfo.Slot] {
        offsets.map { GcInfo.Slot(place: .stack(.frameRegister, offset: $0), interior: false, pinned: false) }
    }

    @Test func jitFrameAtASafePoint() throws {
        // CrashLab.Program.ExecuteStep: the DAC reports rbp-0x18, rbp-0x10, rbp-0x8.
        #expect(try Self.live("jit-executestep") == Self.frameSlots([-0x18, -0x10, -0x8]))
    }

    @Test func readyToRunFrames() throws {
        // WaitHandle.WaitOneNoCheck: rbp-0x20. ExecutionContext.RunInternal: r14, r15 and four frame slots.
        #expect(try Self.live("r2r-waitonenocheck") == Self.frameSlots([-0x20]))
        let run = try Self.live("r2r-runinternal")
        #expect(run.prefix(2) == [GcInfo.Slot(place: .register(14), interior: false, pinned: false),
                                  GcInfo.Slot(place: .register(15), interior: false, pinned: false)])
        #expect(Array(run.dropFirst(2)) == Self.frameSlots([-0x38, -0x30, -0x28, -0x20]))
        // WaitHandle.WaitOne holds no reference across its call.
        #expect(try Self.live("r2r-waitone").isEmpty)
    }

    @Test func truncatedInfoThrows() throws {
        for name in ["jit-executestep", "r2r-waitonenocheck", "r2r-runinternal", "r2r-waitone"] {
            let (offset, bytes) = try Self.seed(name)
            for n in 0..<bytes.count {
                guard let info = try? GcInfo(bytes: Array(bytes.prefix(n))) else { continue }
                _ = try? info.liveSlots(at: offset, frame: .init(active: true), isScratchRegister: { _ in false }, isOutgoingAreaSlot: { _, _ in false })
            }
        }
    }

    /// Inputs the fuzz target (Samples/fuzz/gcinfo.swift) trapped on, kept in Tests/Fixtures/fuzz-crashers: each
    /// must decode to an error or to slots, at every offset and kind of frame the target tries.
    @Test(arguments: ["gcinfo-live-state-offset-width"])
    func fuzzCrashers(_ name: String) throws {
        let d = try [UInt8](Data(contentsOf: ClrFixtures.projectRoot.appendingPathComponent("Tests/Fixtures/fuzz-crashers/" + name)))
        let offset = UInt32(d[0]) | UInt32(d[1]) << 8 | UInt32(d[2]) << 16 | UInt32(d[3]) << 24
        for version in [1, 2] {
            guard let info = try? GcInfo(bytes: Array(d.dropFirst(4)), version: version) else { continue }
            for kind in [GcInfo.FrameKind(), .init(active: true), .init(executionAborted: true), .init(parentOfFunclet: true)] {
                for at in [offset, offset % max(info.codeLength, 1), info.codeLength &- 1] {
                    _ = try? info.liveSlots(at: at, frame: kind, isScratchRegister: { $0 < 3 }, isOutgoingAreaSlot: { _, _ in false })
                }
            }
        }
    }

    @Test func bitReaderVariableLengthNumbers() throws {
        // Base 2: the chunks (01, more) then (11, end), read from the byte's lowest bit: 0b1101 = 13 unsigned,
        // and -3 signed (sign-extended from the last chunk's top bit).
        var r = GcInfoBitReader([0b0001_1101])
        #expect(try r.varUnsigned(2) == 13)
        r.position = 0
        #expect(try r.varSigned(2) == -3)
        #expect(throws: GcInfoError.self) { var e = GcInfoBitReader([0xFF]); _ = try e.varUnsigned(3) }
    }
}
