/// Register contexts as the minidump format stores them (winnt.h CONTEXT and Breakpad/Crashpad's
/// equivalents). Offsets are those of the documented structures.
enum ContextDecoder {
    static func decode(_ v: ByteView, architecture: CPUArchitecture) -> RegisterContext? {
        switch architecture {
        case .amd64: return amd64(v)
        case .x86: return x86(v)
        case .arm64: return arm64(v)
        case .arm: return arm(v)
        default: return nil
        }
    }

    /// CONTEXT_AMD64: 0x4D0 bytes (longer with XSTATE; the base part is the same).
    static func amd64(_ v: ByteView) -> RegisterContext? {
        guard v.count >= 0x100 else { return nil }
        var regs: [RegisterContext.Register] = []
        func q(_ name: String, _ off: UInt64) { regs.append(.init(name: name, value: v.u64(off) ?? 0, bits: 64)) }
        func w(_ name: String, _ off: UInt64) { regs.append(.init(name: name, value: UInt64(v.u16(off) ?? 0), bits: 16)) }
        let names = ["rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"]
        for (i, n) in names.enumerated() { q(n, 0x78 + UInt64(i) * 8) }
        q("rip", 0xF8)
        regs.append(.init(name: "efl", value: UInt64(v.u32(0x44) ?? 0), bits: 32))
        w("cs", 0x38); w("ds", 0x3A); w("es", 0x3C); w("fs", 0x3E); w("gs", 0x40); w("ss", 0x42)
        q("dr0", 0x48); q("dr1", 0x50); q("dr2", 0x58); q("dr3", 0x60); q("dr6", 0x68); q("dr7", 0x70)
        regs.append(.init(name: "mxcsr", value: UInt64(v.u32(0x34) ?? 0), bits: 32))
        return RegisterContext(architecture: .amd64, registers: regs)
    }

    /// CONTEXT (x86): 0x2CC bytes.
    static func x86(_ v: ByteView) -> RegisterContext? {
        guard v.count >= 0xCC else { return nil }
        var regs: [RegisterContext.Register] = []
        func d(_ name: String, _ off: UInt64, _ bits: Int = 32) {
            let raw = UInt64(v.u32(off) ?? 0)
            regs.append(.init(name: name, value: bits == 16 ? raw & 0xFFFF : raw, bits: bits))
        }
        d("eax", 0xB0); d("ebx", 0xA4); d("ecx", 0xAC); d("edx", 0xA8); d("esi", 0xA0); d("edi", 0x9C)
        d("eip", 0xB8); d("esp", 0xC4); d("ebp", 0xB4); d("efl", 0xC0)
        d("cs", 0xBC, 16); d("ss", 0xC8, 16); d("ds", 0x98, 16); d("es", 0x94, 16); d("fs", 0x90, 16); d("gs", 0x8C, 16)
        d("dr0", 0x04); d("dr1", 0x08); d("dr2", 0x0C); d("dr3", 0x10); d("dr6", 0x14); d("dr7", 0x18)
        return RegisterContext(architecture: .x86, registers: regs)
    }

    /// CONTEXT_ARM64 (Windows, Crashpad): flags, cpsr, x0..x30, sp, pc.
    static func arm64(_ v: ByteView) -> RegisterContext? {
        guard v.count >= 0x110 else { return nil }
        var regs: [RegisterContext.Register] = []
        for i in 0..<29 { regs.append(.init(name: "x\(i)", value: v.u64(8 + UInt64(i) * 8) ?? 0, bits: 64)) }
        regs.append(.init(name: "fp", value: v.u64(0xF0) ?? 0, bits: 64))
        regs.append(.init(name: "lr", value: v.u64(0xF8) ?? 0, bits: 64))
        regs.append(.init(name: "sp", value: v.u64(0x100) ?? 0, bits: 64))
        regs.append(.init(name: "pc", value: v.u64(0x108) ?? 0, bits: 64))
        regs.append(.init(name: "cpsr", value: UInt64(v.u32(4) ?? 0), bits: 32))
        return RegisterContext(architecture: .arm64, registers: regs)
    }

    /// CONTEXT_ARM: flags, r0..r15, cpsr.
    static func arm(_ v: ByteView) -> RegisterContext? {
        guard v.count >= 0x48 else { return nil }
        var regs: [RegisterContext.Register] = []
        let names = ["r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11", "r12", "sp", "lr", "pc"]
        for (i, n) in names.enumerated() { regs.append(.init(name: n, value: UInt64(v.u32(4 + UInt64(i) * 4) ?? 0), bits: 32)) }
        regs.append(.init(name: "cpsr", value: UInt64(v.u32(0x44) ?? 0), bits: 32))
        return RegisterContext(architecture: .arm, registers: regs)
    }
}

extension AddressSpace {
    /// A Windows CONTEXT record kept in the target's memory (an exception's context), decoded as the dump's
    /// architecture lays it out; nil unless the dump holds all of it in one range.
    public func windowsContext(at address: UInt64, architecture: CPUArchitecture) -> RegisterContext? {
        let size: UInt64 = architecture == .amd64 ? 0x4D0 : architecture == .x86 ? 0x2CC : architecture == .arm64 ? 0x390 : 0x1A0
        guard let file, let i = rangeIndex(containing: address) else { return nil }
        let r = ranges[i]
        let rel = address - r.start
        guard rel <= r.present, size <= r.present - rel else { return nil }
        return ContextDecoder.decode(ByteView(file: file, offset: r.fileOffset + rel, count: size, bigEndian: bigEndian), architecture: architecture)
    }
}
