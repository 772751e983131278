import DumpModel
import Native

/// x64 Windows unwinding from a module's exception directory (.pdata RUNTIME_FUNCTIONs and their
/// UNWIND_INFO), read from the image in the dump's memory: what RtlVirtualUnwind does, including chained
/// unwind info, frame registers, machine frames, and epilogues for the interrupted frame.
public struct WindowsX64Unwinder: Sendable {
    let image: PEImageInMemory
    private let table: (rva: UInt32, count: Int)?

    init(image: PEImageInMemory) {
        self.image = image
        if let dir = image.directory(3) {
            table = (dir.rva, Int(min(dir.size / 12, 2_000_000)))
        } else {
            table = nil
        }
    }

    var hasTable: Bool { table != nil }

    /// Windows register numbers in UNWIND_CODEs -> DWARF numbers the walker uses.
    static let dwarf: [Int] = [0, 2, 1, 3, 7, 6, 4, 5, 8, 9, 10, 11, 12, 13, 14, 15]

    /// The RUNTIME_FUNCTION holding an RVA: (begin, end, unwind info RVA).
    func function(containing rva: UInt32) -> (begin: UInt32, end: UInt32, unwind: UInt32)? {
        guard let table else { return nil }
        let b = UInt64(table.rva)
        return SortedSearch.runtimeFunction(containing: rva, count: table.count, entrySize: 12) { image.u32(rva: b &+ $0) }
    }

    /// The caller's registers, or nil when this module cannot unwind the frame. `interrupted` is true for
    /// the frame that was executing (it may be in a prolog or an epilogue), false for return addresses.
    func unwind(_ regs: [Int: UInt64], pc: UInt64, interrupted: Bool) -> [Int: UInt64]? {
        guard table != nil, pc >= image.base, pc - image.base < UInt64(image.sizeOfImage), let rsp = regs[7] else { return nil }
        let m = image.memory
        let rva = UInt32(pc - image.base)
        var out = regs
        guard let fn = function(containing: rva) else {
            // A leaf function has no entry: its return address is on top of the stack.
            guard let ra = m.readPointer(rsp) else { return nil }
            out[16] = ra; out[7] = rsp &+ 8
            return out
        }
        if interrupted, let r = epilogue(regs, pc: pc) { return r }
        let image = self.image
        return Self.virtualUnwind(regs, pc: pc, function: fn, base: image.base, memory: m,
                                  readCode: { a, n in a >= image.base ? image.read(rva: a - image.base, count: n) : nil })
    }

    /// RtlVirtualUnwind over one RUNTIME_FUNCTION whose RVAs count from `base` (a PE image's base, or a CoreCLR
    /// code range's low address for JIT code), reading unwind codes and the stack from `memory`.
    public static func virtualUnwind(_ regs: [Int: UInt64], pc: UInt64, function: (begin: UInt32, end: UInt32, unwind: UInt32),
                                     base: UInt64, memory m: AddressSpace,
                                     readCode: ((UInt64, Int) -> [UInt8]?)? = nil) -> [Int: UInt64]? {
        // Unwind codes may come from an image file; the stack always comes from the dump.
        let code: (UInt64, Int) -> [UInt8]? = readCode ?? { a, n in m.readExact(a, count: n) }
        guard let rsp = regs[7], pc >= base, pc - base < 1 << 32 else { return nil }
        var fn = function
        let rva = UInt32(pc - base)
        var out = regs
        var offset = rva &- fn.begin
        var chained = false
        var machineFrame = false
        for _ in 0..<32 {  // chains are short; the bound stops a cycle
            let info = base &+ UInt64(fn.unwind & ~1)
            guard let head = code(info, 4) else { return nil }
            let flags = head[0] >> 3, count = Int(head[2])
            let frameRegister = Int(head[3] & 0x0F), frameOffset = UInt64(head[3] >> 4) * 16
            guard let codes = count == 0 ? [] : code(info &+ 4, count * 2) else { return nil }
            // The establisher frame: the frame register (minus its offset) once the prolog has set it.
            var frame = out[7] ?? rsp
            if frameRegister != 0 {
                var setAt: Int?
                var i = 0
                while i < count {
                    if codes[2 * i + 1] & 0x0F == 3 { setAt = Int(codes[2 * i]) }
                    i += Self.slots(codes[2 * i + 1])
                }
                if chained || (setAt.map { Int(offset) >= $0 } ?? false), let fp = out[Self.dwarf[frameRegister]] { frame = fp &- frameOffset }
            }
            var i = 0
            while i < count {
                let codeOffset = Int(codes[2 * i]), op = codes[2 * i + 1] & 0x0F, opInfo = Int(codes[2 * i + 1] >> 4)
                let size = Self.slots(codes[2 * i + 1])
                guard i + size <= count else { return nil }
                defer { i += size }
                if !chained && Int(offset) < codeOffset { continue }
                func u16(_ k: Int) -> UInt64 { UInt64(codes[2 * k]) | UInt64(codes[2 * k + 1]) << 8 }
                guard var sp = out[7] else { return nil }
                switch op {
                case 0:  // UWOP_PUSH_NONVOL
                    guard let v = m.readPointer(sp) else { return nil }
                    out[Self.dwarf[opInfo]] = v; sp &+= 8
                case 1:  // UWOP_ALLOC_LARGE
                    sp &+= opInfo == 0 ? u16(i + 1) * 8 : (u16(i + 1) | u16(i + 2) << 16)
                case 2: sp &+= UInt64(opInfo) * 8 + 8                  // UWOP_ALLOC_SMALL
                case 3: sp = frame                                      // UWOP_SET_FPREG
                case 4:                                                 // UWOP_SAVE_NONVOL
                    guard let v = m.readPointer(frame &+ u16(i + 1) * 8) else { return nil }
                    out[Self.dwarf[opInfo]] = v
                case 5:                                                 // UWOP_SAVE_NONVOL_FAR
                    guard let v = m.readPointer(frame &+ (u16(i + 1) | u16(i + 2) << 16)) else { return nil }
                    out[Self.dwarf[opInfo]] = v
                case 6, 8, 9: break                                     // EPILOG (v2), SAVE_XMM128(_FAR): no GPR
                case 10:                                                // UWOP_PUSH_MACHFRAME
                    let base = sp &+ (opInfo == 1 ? 8 : 0)
                    guard let ip = m.readPointer(base), let newSp = m.readPointer(base &+ 24) else { return nil }
                    out[16] = ip; sp = newSp; machineFrame = true
                default: return nil
                }
                out[7] = sp
            }
            guard flags & 4 != 0 else { break }  // UNW_FLAG_CHAININFO: the parent function's codes apply too
            let next = info &+ 4 &+ UInt64((count + 1) & ~1) * 2
            guard let c = code(next, 12) else { return nil }
            func le(_ o: Int) -> UInt32 { UInt32(c[o]) | UInt32(c[o + 1]) << 8 | UInt32(c[o + 2]) << 16 | UInt32(c[o + 3]) << 24 }
            let b = le(0), e = le(4), u = le(8)
            fn = (b, e, u)
            offset = .max
            chained = true
        }
        if !machineFrame {
            guard let sp = out[7], let ra = m.readPointer(sp) else { return nil }
            out[16] = ra; out[7] = sp &+ 8
        }
        return out
    }

    /// How many 2-byte slots an unwind code takes.
    static func slots(_ opByte: UInt8) -> Int {
        switch opByte & 0x0F {
        case 1: return opByte >> 4 == 0 ? 2 : 3
        case 4, 8: return 2
        case 5, 9: return 3
        default: return 1
        }
    }

    /// When `pc` sits in an epilogue (`add rsp, N` / `lea rsp, [reg+N]`, then pops, then `ret`), the state the
    /// epilogue would leave: nil when the bytes there are not an epilogue.
    func epilogue(_ regs: [Int: UInt64], pc: UInt64) -> [Int: UInt64]? {
        guard let code = image.memory.readExact(pc, count: 32) ?? image.memory.readExact(pc, count: 16) else { return nil }
        var out = regs
        guard var sp = regs[7] else { return nil }
        var i = 0
        // add rsp, imm8 / imm32
        if code.count >= 4, code[0] == 0x48, code[1] == 0x83, code[2] == 0xC4 { sp &+= UInt64(code[3]); i = 4 }
        else if code.count >= 7, code[0] == 0x48, code[1] == 0x81, code[2] == 0xC4 {
            sp &+= UInt64(code[3]) | UInt64(code[4]) << 8 | UInt64(code[5]) << 16 | UInt64(code[6]) << 24; i = 7
        }
        var pops: [(Int, UInt64)] = []
        while i < code.count {
            let b = code[i]
            if b >= 0x58 && b <= 0x5F { pops.append((Int(b - 0x58), sp)); sp &+= 8; i += 1; continue }
            if b == 0x41, i + 1 < code.count, code[i + 1] >= 0x58, code[i + 1] <= 0x5F {
                pops.append((Int(code[i + 1] - 0x58) + 8, sp)); sp &+= 8; i += 2; continue
            }
            break
        }
        guard i < code.count, code[i] == 0xC3 || (code[i] == 0xF3 && i + 1 < code.count && code[i + 1] == 0xC3) else { return nil }
        guard i > 0 else { return nil }  // a bare `ret` is a leaf's; the table handles it
        for (reg, at) in pops {
            guard let v = image.memory.readPointer(at) else { return nil }
            out[Self.dwarf[reg]] = v
        }
        guard let ra = image.memory.readPointer(sp) else { return nil }
        out[16] = ra; out[7] = sp &+ 8
        return out
    }
}
