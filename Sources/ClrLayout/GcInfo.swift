/// The JIT's GC info for one method on x64 (the runtime's gcinfodecoder.cpp, GCINFO versions 1 and 2: .NET Core
/// 2.1 to .NET 8): which registers and stack slots hold object references at a code offset. Docs/clr/stack-roots.md.
///
/// The info is a bit stream: a header, the safe points (call return sites) of partially interruptible code, the
/// interruptible ranges of fully interruptible code, the slot table, then the live slots at each safe point (a bit
/// vector, or run-length encoded behind an offset table) and the lifetime transitions of each 64-byte chunk of
/// interruptible code. Every read is bounded: damaged info throws `GcInfoError`, never traps or runs away.
public struct GcInfo: Sendable {
    public enum StackBase: UInt8, Sendable { case callerSP = 0, sp = 1, frameRegister = 2 }
    public enum Place: Sendable, Equatable {
        /// x64 register number (0 rax, 1 rcx, 2 rdx, 3 rbx, 4 rsp, 5 rbp, 6 rsi, 7 rdi, 8-15 r8-r15).
        case register(Int)
        case stack(StackBase, offset: Int32)
    }
    public struct Slot: Sendable, Equatable {
        public let place: Place
        public let interior: Bool
        public let pinned: Bool
    }

    public let codeLength: UInt32
    /// The register GC_FRAMEREG_REL slots count from (rbp unless the header names another).
    public let stackBaseRegister: Int?
    /// The outgoing argument area at the bottom of the frame: its slots are dead in a frame that made a call.
    public let outgoingArgumentAreaSize: UInt32
    /// RyuJIT reports a method with funclets only from its innermost frame on the stack.
    public let wantsReportOnlyLeaf: Bool
    public let safePointCount: UInt32
    public let interruptibleRangeCount: UInt32

    private let bytes: [UInt8]
    /// Bit positions of the parts after the header.
    private let safePointsStart: Int

    static let maxSlots = 1 << 16

    /// Decodes the header of the info in `bytes` (which may run past its end; a read past `bytes` throws).
    public init(bytes: [UInt8], version: Int = 2) throws {
        self.bytes = bytes
        var r = GcInfoBitReader(bytes)
        let slim = try r.read(1) == 0
        // A slim header has one flag: a stack base register (rbp). Version 1 had no reverse P/Invoke flag.
        let flags: UInt64 = slim ? (try r.read(1) != 0 ? 0x40 : 0) : try r.read(version == 1 ? 9 : 10)
        _ = try r.read(slim ? 2 : 4)   // the return kind
        codeLength = try r.varU32(8)
        let hasSecurityObject = flags & 0x2 != 0, hasGSCookie = flags & 0x4 != 0, hasPSPSym = flags & 0x8 != 0
        let hasGenericsContext = flags & 0x30 != 0
        wantsReportOnlyLeaf = flags & 0x80 != 0
        if hasGSCookie {
            _ = try r.varUnsigned(5); _ = try r.varUnsigned(3)   // prolog and epilog sizes
        } else if hasSecurityObject || hasGenericsContext {
            _ = try r.varUnsigned(5)
        }
        if hasSecurityObject { _ = try r.varSigned(6) }
        if hasGSCookie { _ = try r.varSigned(6) }
        if hasPSPSym { _ = try r.varSigned(6) }
        if hasGenericsContext { _ = try r.varSigned(6) }
        if flags & 0x40 != 0 {
            // RBP is encoded as 0.
            stackBaseRegister = slim ? 5 : Int(truncatingIfNeeded: try r.varUnsigned(3) ^ 5) & 0xF
        } else {
            stackBaseRegister = nil
        }
        if flags & 0x100 != 0 { _ = try r.varUnsigned(4) }   // edit-and-continue preserved area
        if flags & 0x200 != 0 { _ = try r.varSigned(6) }     // reverse P/Invoke frame
        outgoingArgumentAreaSize = slim ? 0 : try r.varU32(3).multipliedChecked(8)
        safePointCount = try r.varU32(2)
        interruptibleRangeCount = slim ? 0 : try r.varU32(1)
        guard safePointCount < 1 << 20, interruptibleRangeCount < 1 << 20 else { throw GcInfoError() }
        safePointsStart = r.position
    }

    /// Bits per safe-point offset: enough for any offset in the method.
    private var bitsPerCodeOffset: Int { codeLength <= 1 ? 0 : Int(64 - UInt64(codeLength - 1).leadingZeroBitCount) }

    /// How the stack walk reached the frame.
    public struct FrameKind: Sendable {
        /// The frame the thread is executing in (interrupted, not at a call): scratch registers and the outgoing
        /// argument area may hold live references.
        public var active = false
        /// Execution will not resume at this IP (an exception unwound through it): only fully interruptible code reports.
        public var executionAborted = false
        /// A funclet of this method is on the stack above: it reported the method's slots already.
        public var parentOfFunclet = false
        public init(active: Bool = false, executionAborted: Bool = false, parentOfFunclet: Bool = false) {
            self.active = active
            self.executionAborted = executionAborted
            self.parentOfFunclet = parentOfFunclet
        }
    }

    /// The slots that hold live references at `offset` (from the method's start). For a frame that made a call
    /// the caller passes the return address's offset minus one: the runtime assumes an offset inside the call
    /// instruction, which is where the JIT records safe points. Scratch registers and outgoing-area slots of
    /// non-active frames are left out, as the runtime leaves them out (`isScratchRegister` names them).
    public func liveSlots(at offset: UInt32, frame: FrameKind, isScratchRegister: (Int) -> Bool,
                          isOutgoingAreaSlot: (StackBase, Int32) -> Bool) throws -> [Slot] {
        if wantsReportOnlyLeaf && frame.parentOfFunclet { return [] }
        var r = GcInfoBitReader(bytes)
        r.position = safePointsStart
        let safePoint = try findSafePoint(offset, &r)
        var pseudoOffset: UInt32 = 0, interruptibleLength: UInt32 = 0
        let atSafePoint = safePoint < safePointCount && !frame.executionAborted
        if atSafePoint {
            for _ in 0..<interruptibleRangeCount { _ = try r.varUnsigned(6); _ = try r.varUnsigned(6) }
        } else if interruptibleRangeCount > 0 {
            var found = false, lastStop: UInt32 = 0
            for _ in 0..<interruptibleRangeCount {
                let start = try lastStop.addingChecked(r.varU32(6))
                let length = try r.varU32(6).addingChecked(1)
                let stop = try start.addingChecked(length)
                if offset >= start, offset < stop {
                    found = true
                    pseudoOffset = interruptibleLength &+ offset &- start
                }
                interruptibleLength = try interruptibleLength.addingChecked(length)
                lastStop = stop
            }
            // Not a safe point and not interruptible: the runtime reports nothing for the frame, not even untracked slots.
            if !found { return [] }
        }
        let table = try SlotTable(&r)
        var live: [Int] = []
        let tracked = table.trackedCount
        if tracked > 0 {
            var bitsPerLiveStateOffset = 0
            if safePointCount > 0, try r.read(1) != 0 { bitsPerLiveStateOffset = try r.bitWidth(3, plusOne: true) }
            if atSafePoint {
                try liveAtSafePoint(safePoint, tracked: tracked, bitsPerOffset: bitsPerLiveStateOffset, &r, into: &live)
            } else {
                try r.skip(Int(safePointCount) * tracked)
                if interruptibleRangeCount > 0 {
                    try liveInInterruptibleCode(pseudoOffset, length: interruptibleLength, tracked: tracked, &r, into: &live)
                }
            }
        }
        var out: [Slot] = []
        for i in live {
            let s = table.slots[i]
            if !frame.active {
                switch s.place {
                case .register(let n) where isScratchRegister(n): continue
                case .stack(let base, let offset) where isOutgoingAreaSlot(base, offset): continue
                default: break
                }
            }
            out.append(s)
        }
        // Untracked slots live through the whole method, reported by its innermost frame only.
        if !frame.parentOfFunclet { out += table.slots[tracked...] }
        return out
    }

    /// The index of the safe point at `offset`, or the count when there is none; leaves the reader after the table.
    private func findSafePoint(_ offset: UInt32, _ r: inout GcInfoBitReader) throws -> UInt32 {
        let bits = bitsPerCodeOffset, start = r.position
        var result = safePointCount
        if safePointCount > 0 {
            var low = 0, high = Int(safePointCount)
            while low < high {
                let mid = (low + high) / 2
                r.position = start + mid * bits
                let v = try r.read(bits)
                if v == offset { result = UInt32(mid); break }
                if v < offset { low = mid + 1 } else { high = mid }
            }
        }
        r.position = start + Int(safePointCount) * bits
        return result
    }

    private func liveAtSafePoint(_ index: UInt32, tracked: Int, bitsPerOffset: Int, _ r: inout GcInfoBitReader, into live: inout [Int]) throws {
        if bitsPerOffset > 0 {
            let tableStart = r.position
            r.position = tableStart + Int(index) * bitsPerOffset
            let liveStateOffset = try Int(r.read(bitsPerOffset))
            r.position = ((tableStart + Int(safePointCount) * bitsPerOffset + 7) & ~7) + liveStateOffset
            if try r.read(1) != 0 {
                for run in try r.slotRuns(tracked) { live += run }
                return
            }
        } else {
            try r.skip(Int(index) * tracked)
        }
        for i in 0..<tracked where try r.read(1) != 0 { live.append(i) }
    }

    /// Fully interruptible code: per 64-byte chunk of interruptible code, the slots that could be live in it,
    /// their state at the chunk's end, and the offsets in the chunk where each one flips. A chunk with no
    /// lifetimes has no entry: the last chunk before it that has one holds the state.
    private func liveInInterruptibleCode(_ pseudoOffset: UInt32, length: UInt32, tracked: Int, _ r: inout GcInfoBitReader,
                                         into live: inout [Int]) throws {
        let chunkSize: UInt32 = 64
        let chunkCount = Int((length + chunkSize - 1) / chunkSize)
        let breakChunk = Int(pseudoOffset / chunkSize)
        guard breakChunk < chunkCount else { throw GcInfoError() }
        let bitsPerPointer = try r.bitWidth(3, plusOne: false)
        guard bitsPerPointer > 0 else { return }
        let pointerTable = r.position
        var chunk = breakChunk
        var chunkPointer = 0
        while true {
            r.position = pointerTable + chunk * bitsPerPointer
            chunkPointer = try Int(r.read(bitsPerPointer))
            if chunkPointer != 0 { break }
            if chunk == 0 { return }
            chunk -= 1
        }
        r.position = ((pointerTable + chunkCount * bitsPerPointer + 7) & ~7) + chunkPointer - 1

        // Which slots have lifetimes in the chunk: a bit vector, or run-length encoded.
        var couldBeLive = r
        var couldBeLiveCount = 0
        if try r.read(1) != 0 {
            couldBeLiveCount = try r.slotRuns(tracked).reduce(0) { $0 + $1.count }
        } else {
            for _ in 0..<tracked where try r.read(1) != 0 { couldBeLiveCount += 1 }
        }
        guard couldBeLiveCount <= tracked else { throw GcInfoError() }
        var finalState = r
        try r.skip(couldBeLiveCount)

        var slot = 0
        let simple = try couldBeLive.read(1) == 0
        var skipFirst = false
        var run = 0
        if !simple {
            skipFirst = try couldBeLive.read(1) == 0
            slot = -1
        }
        let chunkOffset = pseudoOffset % chunkSize
        for _ in 0..<couldBeLiveCount {
            if simple {
                while try couldBeLive.read(1) == 0 {
                    slot += 1
                    guard slot < tracked else { throw GcInfoError() }
                }
            } else if run > 0 {
                run -= 1
            } else if skipFirst {
                slot += try couldBeLive.varCount(4) + 1
                run = try couldBeLive.varCount(2)
            } else {
                slot += try couldBeLive.varCount(2) + 1
                run = try couldBeLive.varCount(4)
            }
            var isLive = try finalState.read(1) != 0
            if chunk == breakChunk {
                // Transitions in the chunk: each flips the state at its offset; those past the IP undo it.
                var transitions = 0
                while try r.read(1) != 0 {
                    let at = try r.read(6)
                    if at > chunkOffset { isLive.toggle() }
                    transitions += 1
                    guard transitions <= 64 else { throw GcInfoError() }
                }
            }
            guard slot >= 0, slot < tracked else { throw GcInfoError() }
            if isLive { live.append(slot) }
            slot += 1
        }
    }

    /// The slot table: registers, then tracked stack slots, then untracked ones. A slot's flags carry to the
    /// next slot, whose offset is then a delta from the last.
    private struct SlotTable {
        var slots: [Slot] = []
        var trackedCount = 0

        init(_ r: inout GcInfoBitReader) throws {
            let registers = try r.read(1) != 0 ? r.varCount(2) : 0
            var stack = 0, untracked = 0
            if try r.read(1) != 0 {
                stack = try r.varCount(2)
                untracked = try r.varCount(1)
            }
            guard registers + stack + untracked <= GcInfo.maxSlots else { throw GcInfoError() }
            trackedCount = registers + stack
            var register = 0, flags: UInt64 = 0
            for i in 0..<registers {
                if i == 0 || flags != 0 {
                    register = try r.varCount(3)
                    flags = try r.read(2)
                } else {
                    register += try r.varCount(2) + 1
                }
                guard register < 16 else { throw GcInfoError() }
                slots.append(Slot(place: .register(register), interior: flags & 1 != 0, pinned: flags & 2 != 0))
            }
            for count in [stack, untracked] {
                var normalized: Int64 = 0
                for i in 0..<count {
                    guard let base = StackBase(rawValue: UInt8(try r.read(2))) else { throw GcInfoError() }
                    if i == 0 || flags != 0 {
                        normalized = try r.varSigned(6)
                        flags = try r.read(2)
                    } else {
                        normalized = try normalized.addingChecked(Int64(r.varCount(4)))
                    }
                    guard let offset = Int32(exactly: normalized << 3), abs(normalized) < 1 << 28 else { throw GcInfoError() }
                    slots.append(Slot(place: .stack(base, offset: offset), interior: flags & 1 != 0, pinned: flags & 2 != 0))
                }
            }
        }
    }
}

/// GC info that ends early or holds values no JIT writes.
public struct GcInfoError: Error, Sendable {}

/// The GC info bit stream: bits in order from each byte's lowest, as the runtime's BitStreamReader reads its
/// little-endian words.
struct GcInfoBitReader {
    let bytes: [UInt8]
    var position = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func read(_ n: Int) throws -> UInt64 {
        guard n >= 0, n <= 64, position >= 0, position + n <= bytes.count * 8 else { throw GcInfoError() }
        var value: UInt64 = 0, got = 0
        while got < n {
            let bit = position & 7
            let take = min(8 - bit, n - got)
            let chunk = (UInt64(bytes[position >> 3]) >> UInt64(bit)) & ((1 << UInt64(take)) - 1)
            value |= chunk << UInt64(got)
            got += take
            position += take
        }
        return value
    }

    mutating func skip(_ n: Int) throws {
        guard n >= 0, position + n <= bytes.count * 8 else { throw GcInfoError() }
        position += n
    }

    /// DecodeVarLengthUnsigned: chunks of `base` bits, each followed by a bit saying another chunk follows.
    mutating func varUnsigned(_ base: Int) throws -> UInt64 { try varChunks(base).value }

    /// DecodeVarLengthSigned: as unsigned, then sign-extended from the last chunk's top bit.
    mutating func varSigned(_ base: Int) throws -> Int64 {
        let (value, bits) = try varChunks(base)
        let unused = 64 - bits
        return unused > 0 ? Int64(bitPattern: value << UInt64(unused)) >> Int64(unused) : Int64(bitPattern: value)
    }

    /// The chunks' value and how many bits of it they gave.
    private mutating func varChunks(_ base: Int) throws -> (value: UInt64, bits: Int) {
        var result: UInt64 = 0, shift = 0
        while true {
            let chunk = try read(base + 1)
            guard shift < 64 else { throw GcInfoError() }
            result |= (chunk & ((1 << UInt64(base)) - 1)) << UInt64(shift)
            shift += base
            if chunk & (1 << UInt64(base)) == 0 { return (result, shift) }
        }
    }

    /// A run-length encoded set of slots (LIVESTATE_RLE): a bit saying whether a skipped run comes first, that
    /// run's length, then alternating runs of included and skipped slots up to `tracked`; the included runs.
    mutating func slotRuns(_ tracked: Int) throws -> [Range<Int>] {
        var skip = try read(1) == 0
        var include = true
        var slot = try varCount(skip ? 4 : 2)
        skip.toggle()
        var out: [Range<Int>] = []
        while slot < tracked {
            let n = try varCount(skip ? 4 : 2) + 1
            if include { out.append(slot..<min(slot + n, tracked)) }
            slot += n
            skip.toggle()
            include.toggle()
        }
        return out
    }

    /// A count or index, bounded so sums of them cannot overflow.
    mutating func varCount(_ base: Int) throws -> Int {
        let v = try varUnsigned(base)
        guard v < 1 << 24 else { throw GcInfoError() }
        return Int(v)
    }

    /// The width of a table's entries, in bits: an offset into the info itself, so never over 32.
    mutating func bitWidth(_ base: Int, plusOne: Bool) throws -> Int {
        let v = try varUnsigned(base)
        guard v <= 32 else { throw GcInfoError() }
        return Int(v) + (plusOne ? 1 : 0)
    }

    mutating func varU32(_ base: Int) throws -> UInt32 {
        guard let x = UInt32(exactly: try varUnsigned(base)) else { throw GcInfoError() }
        return x
    }
}

extension FixedWidthInteger {
    func addingChecked(_ other: Self) throws -> Self {
        let (v, overflow) = addingReportingOverflow(other)
        if overflow { throw GcInfoError() }
        return v
    }
    func multipliedChecked(_ other: Self) throws -> Self {
        let (v, overflow) = multipliedReportingOverflow(by: other)
        if overflow { throw GcInfoError() }
        return v
    }
}
