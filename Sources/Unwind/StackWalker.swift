import DumpModel

/// Why a walk produced what it did, beside its frames.
public struct NativeStack: Sendable {
    public let frames: [NativeFrame]
    /// Set when the walk could not start or stopped early for a reason worth saying.
    public let note: String?
}

/// Walks a thread's native stack the way rust-minidump does without symbol files, plus call frame
/// information from images it can find: for each frame, CFI (`.eh_frame`), then the frame pointer chain,
/// then scanning the stack for a return address. Hard limits on frames and scanned words keep a corrupt
/// stack from running away.
public struct StackWalker {
    public static let maxFrames = 1024
    let arch: UnwindArchitecture
    let modules: NativeModules
    let memory: AddressSpace
    let isWindows: Bool
    /// The thread's stack, as the dump describes it; frame-pointer and scan reads stay inside it.
    let stack: ClosedRange<UInt64>?
    /// Unwinds code no module holds (a runtime's JIT-compiled code): the caller's registers, or nil.
    public var codeUnwinder: (@Sendable (_ registers: [Int: UInt64], _ pc: UInt64) -> [Int: UInt64]?)?

    public init?(modules: NativeModules, stack: ClosedRange<UInt64>?) {
        guard let arch = UnwindArchitecture.of(modules.dump.system.architecture) else { return nil }
        self.arch = arch
        self.modules = modules
        memory = modules.dump.memory
        isWindows = modules.dump.system.os == .windows
        self.stack = stack
    }

    /// The stack memory of a thread: the minidump's stack descriptor when it covers the stack pointer, else
    /// the dump's contiguous memory around the stack pointer.
    public static func stackRange(thread: DumpThread, stackPointer: UInt64, memory: AddressSpace) -> ClosedRange<UInt64>? {
        if thread.stackSize > 0, stackPointer >= thread.stackStart, stackPointer - thread.stackStart < thread.stackSize {
            return thread.stackStart...(thread.stackStart &+ thread.stackSize &- 1)
        }
        guard let i = memory.rangeIndex(containing: stackPointer) else { return nil }
        var lo = i, hi = i
        let rs = memory.ranges
        guard rs[i].present > 0 else { return nil }
        while lo > 0, rs[lo - 1].end == rs[lo].start, rs[lo - 1].present == rs[lo - 1].size { lo -= 1 }
        while hi + 1 < rs.count, rs[hi].end == rs[hi + 1].start, rs[hi].present == rs[hi].size, rs[hi + 1].present > 0 { hi += 1 }
        let end = rs[hi].start &+ rs[hi].present
        return rs[lo].start...(end &- 1)
    }

    public func walk(_ context: RegisterContext, limit: Int = StackWalker.maxFrames) -> NativeStack {
        let regs = arch.registers(from: context)
        guard regs[arch.instructionPointer] != nil, regs[arch.stackPointer] != nil else {
            return NativeStack(frames: [], note: "the context has no instruction or stack pointer")
        }
        var frames = [frame(regs, trust: .context, interrupted: true)]
        while frames.count < min(limit, StackWalker.maxFrames) {
            guard let next = caller(of: frames[frames.count - 1], calleeOfCallee: frames.count > 1 ? frames[frames.count - 2] : nil) else { break }
            frames.append(next)
        }
        return NativeStack(frames: frames, note: nil)
    }

    private func frame(_ regs: [Int: UInt64], trust: FrameTrust, interrupted: Bool) -> NativeFrame {
        let named = regs.keys.sorted().compactMap { k in regs[k].map { (arch.name(k), $0) } }
        return NativeFrame(instructionPointer: regs[arch.instructionPointer] ?? 0, stackPointer: regs[arch.stackPointer] ?? 0,
                           framePointer: regs[arch.framePointer], trust: trust, registers: named, interrupted: interrupted,
                           dwarfRegisters: regs)
    }

    private func caller(of callee: NativeFrame, calleeOfCallee: NativeFrame?) -> NativeFrame? {
        func plausible(_ found: ([Int: UInt64], FrameTrust, Bool)?) -> ([Int: UInt64], FrameTrust, Bool)? {
            guard let f = found, let ip = f.0[arch.instructionPointer], let sp = f.0[arch.stackPointer],
                  ip >= 4096, sp > callee.stackPointer else { return nil }
            return f
        }
        // A null return address from call frame information or an x86/x64 frame pointer chain is the outermost
        // frame. On ARM64 a frame record that leads nowhere (zeroed, or outside any module) hands over to
        // scanning, as rust-minidump's arm64 walker does.
        let found: ([Int: UInt64], FrameTrust, Bool)?
        if let cfi = byCallFrameInfo(callee, calleeOfCallee: calleeOfCallee) {
            found = plausible(cfi)
        } else if arch.architecture == .arm64 {
            found = plausible(byFramePointer(callee)) ?? plausible(byScan(callee))
        } else {
            found = plausible(byFramePointer(callee) ?? byScan(callee))
        }
        guard let (regs, trust, interrupted) = found else { return nil }
        return frame(regs, trust: trust, interrupted: interrupted)
    }

    // MARK: Call frame information

    private func byCallFrameInfo(_ callee: NativeFrame, calleeOfCallee: NativeFrame?) -> ([Int: UInt64], FrameTrust, Bool)? {
        let regs = callee.dwarfRegisters
        if modules.module(containing: callee.lookupAddress) == nil, let codeUnwinder,
           let out = codeUnwinder(regs, callee.lookupAddress) {
            return (Self.preservedByCallee(out), .callFrameInfo, false)
        }
        // Code outside every module that registered unwind data with the OS (a JIT's): the dump's function tables.
        if arch.architecture == .amd64, isWindows, modules.module(containing: callee.lookupAddress) == nil,
           let (table, function) = functionTableEntry(containing: callee.lookupAddress) {
            guard let out = WindowsX64Unwinder.virtualUnwind(regs, pc: callee.lookupAddress, function: function, base: table.baseAddress,
                                                             memory: memory) else { return nil }
            return (Self.preservedByCallee(out), .callFrameInfo, false)
        }
        if arch.architecture == .amd64, let m = modules.module(containing: callee.lookupAddress),
           let pe = modules.windowsUnwinder(for: m) {
            guard let out = pe.unwind(regs, pc: callee.lookupAddress, interrupted: callee.interrupted) else { return nil }
            return (Self.preservedByCallee(out), .callFrameInfo, false)
        }
        guard regs[arch.stackPointer] != nil, let m = modules.module(containing: callee.lookupAddress) else { return nil }
        guard let (row, _) = modules.unwindRow(at: callee.lookupAddress, in: m) else {
            // The image has no rules here (or is not in the dump): the symbol file's, where there is one.
            // Breakpad's order: x86 frame data (STACK WIN) first, then STACK CFI.
            guard let symbols = modules.breakpad(for: m) else { return nil }
            return byWindowsFrameInfo(callee, calleeOfCallee: calleeOfCallee, symbols, module: m)
                ?? byBreakpadCallFrameInfo(callee, symbols, module: m)
        }
        let ps = arch.pointerSize
        func reg(_ n: Int) -> UInt64? { regs[n] }
        func read(_ a: UInt64) -> UInt64? { memory.readPointer(a) }
        let cfa: UInt64
        switch row.cfa {
        case .registerOffset(let r, let off):
            guard let v = reg(r) else { return nil }
            cfa = v &+ UInt64(bitPattern: off)
        case .expression(let e):
            guard let v = DwarfExpression.evaluate(e, pointerSize: ps, register: reg, readPointer: read) else { return nil }
            cfa = v
        }
        var out: [Int: UInt64] = [:]
        for n in arch.calleeSaved { if let v = regs[n] { out[n] = v } }
        for (n, rule) in row.registers {
            switch rule {
            case .undefined: out[n] = nil
            case .sameValue: out[n] = regs[n]
            case .offset(let off): out[n] = read(cfa &+ UInt64(bitPattern: off))
            case .valueOffset(let off): out[n] = cfa &+ UInt64(bitPattern: off)
            case .register(let other): out[n] = regs[other]
            case .expression(let e):
                out[n] = DwarfExpression.evaluate(e, initialStack: [cfa], pointerSize: ps, register: reg, readPointer: read).flatMap(read)
            case .valueExpression(let e):
                out[n] = DwarfExpression.evaluate(e, initialStack: [cfa], pointerSize: ps, register: reg, readPointer: read)
            }
        }
        if ps == 4 { for (k, v) in out { out[k] = v & 0xFFFF_FFFF } }
        // The return address column is the caller's instruction pointer; undefined means the outermost frame.
        let ra = row.returnAddressRegister
        guard row.registers[ra] != .undefined, let returnAddress = out[ra] else { return nil }
        if ra != arch.instructionPointer { out[ra] = nil }
        out[arch.instructionPointer] = returnAddress
        out[arch.stackPointer] = cfa
        return (out, .callFrameInfo, row.isSignalFrame)
    }

    private func functionTableEntry(containing address: UInt64) -> (MinidumpFunctionTable, (begin: UInt32, end: UInt32, unwind: UInt32))? {
        for t in modules.dump.functionTables { if let f = t.entry(containing: address) { return (t, f) } }
        return nil
    }

    /// After x64 unwind info ran: only the registers a callee preserves (and rsp, rip) are known in the caller.
    private static func preservedByCallee(_ out: [Int: UInt64]) -> [Int: UInt64] {
        var caller: [Int: UInt64] = [:]
        for n in [3, 4, 5, 6, 7, 12, 13, 14, 15, 16] { caller[n] = out[n] }
        return caller
    }

    // MARK: Frame pointer

    private func stackWord(_ address: UInt64) -> UInt64? {
        let ps = UInt64(arch.pointerSize)
        if let stack { guard address >= stack.lowerBound, address <= stack.upperBound, stack.upperBound - address >= ps - 1 else { return nil } }
        return memory.readPointer(address)
    }

    private func byFramePointer(_ callee: NativeFrame) -> ([Int: UInt64], FrameTrust, Bool)? {
        // On Windows x64 the frame register may point into the middle of a frame: only UNWIND_INFO unwinds it.
        if isWindows && arch.architecture == .amd64 { return nil }
        let ps = UInt64(arch.pointerSize)
        guard let bp = callee.dwarfRegisters[arch.framePointer], callee.dwarfRegisters[arch.stackPointer] != nil,
              bp < (arch.pointerSize == 8 ? UInt64.max : 0xFFFF_FFFF) - 2 * ps else { return nil }
        guard var ip = stackWord(bp + ps), let callerBp = stackWord(bp) else { return nil }
        let callerSp = bp + 2 * ps
        if arch.architecture == .arm64 {
            // rust-minidump's arm64 rules: the saved lr may carry a pointer authentication code.
            ip = stripPointerAuthentication(ip)
            // A frame record must lead back into code: a module's, 4-byte aligned.
            guard bp != 0, callerSp > callee.stackPointer, ip & 3 == 0, modules.module(containing: ip) != nil else { return nil }
            return ([arch.instructionPointer: ip, arch.stackPointer: callerSp, arch.framePointer: callerBp], .framePointer, false)
        }
        if arch.architecture == .amd64 {
            // rust-minidump's x64 checks: well-ordered, in the stack, canonical, and the stack grows up.
            guard callerSp > bp, callerBp >= callerSp, stackWord(callerBp) != nil, !isNonCanonical(ip),
                  callerSp > callee.stackPointer, stackWord(callerSp) != nil else { return nil }
        }
        return ([arch.instructionPointer: ip, arch.stackPointer: callerSp, arch.framePointer: callerBp], .framePointer, false)
    }

    private func isNonCanonical(_ p: UInt64) -> Bool { p > 0x7FFF_FFFF_FFFF && p < 0xFFFF_8000_0000_0000 }

    /// ARM64 pointer authentication puts a signature in a return address's unused high bits: keep the bits a
    /// module address needs (rust-minidump masks to the highest module's address width the same way).
    func stripPointerAuthentication(_ p: UInt64) -> UInt64 {
        guard p >> 48 != 0 || modules.module(containing: p) == nil else { return p }
        let highest = modules.highestAddress
        guard highest > 0 else { return p }
        let bits = 64 - highest.leadingZeroBitCount
        // A module ending in the top half of the address space leaves no bits to strip (and 1 << 64 is 0).
        guard bits < 64 else { return p }
        let stripped = p & ((UInt64(1) << UInt64(bits)) - 1)
        return modules.module(containing: stripped) != nil ? stripped : p
    }

    // MARK: Scanning

    private func byScan(_ callee: NativeFrame) -> ([Int: UInt64], FrameTrust, Bool)? {
        guard let sp = callee.dwarfRegisters[arch.stackPointer] else { return nil }
        let ps = UInt64(arch.pointerSize)
        let lastBp = callee.dwarfRegisters[arch.framePointer]
        // The first frame can be messy (and CFI can hand over to code it cannot see): scan further after those.
        let range: UInt64 = callee.trust == .context || callee.trust == .callFrameInfo ? 160 : 40
        for i in 0..<range {
            let (slot, overflow) = sp.addingReportingOverflow(i * ps)
            guard !overflow, var candidate = stackWord(slot) else { return nil }
            if arch.architecture == .arm64 { candidate = stripPointerAuthentication(candidate) }
            guard looksLikeReturnAddress(candidate) else { continue }
            let callerSp = slot + ps
            var callerBp: UInt64?
            if i > 0, let bpSlotValue = stackWord(slot - ps) {
                let maxGap: UInt64 = 128 * 1024
                if arch.architecture == .arm64 {
                    // A scanned frame gets no frame pointer: the word below a return address is rarely the caller's
                    // frame record, and a wrong one would send the next step down a bad chain.
                } else if arch.architecture == .amd64 {
                    if let lastBp {
                        if lastBp == slot - ps, bpSlotValue > slot, bpSlotValue - (slot - ps) <= maxGap {
                            if stackWord(bpSlotValue) != nil { callerBp = bpSlotValue }
                        } else if lastBp >= callerSp {
                            callerBp = lastBp
                        }
                    }
                } else {
                    if bpSlotValue > slot, bpSlotValue - (slot - ps) <= maxGap {
                        if stackWord(bpSlotValue) != nil { callerBp = bpSlotValue }
                    } else if let lastBp, lastBp >= callerSp, stackWord(lastBp) != nil {
                        callerBp = lastBp
                    }
                }
            }
            var regs: [Int: UInt64] = [arch.instructionPointer: candidate, arch.stackPointer: callerSp]
            if let callerBp { regs[arch.framePointer] = callerBp }
            return (regs, .scan, false)
        }
        return nil
    }

    /// rust-minidump's test: inside a module (and inside a function, when the module has symbols). When the
    /// code before it is readable, it must also end in a call instruction.
    func looksLikeReturnAddress(_ address: UInt64) -> Bool {
        if address == 0 || (arch.architecture == .amd64 && isNonCanonical(address)) { return false }
        // ARM64 instructions are 4 bytes, so a return address is 4-byte aligned.
        if arch.architecture == .arm64 && address & 3 != 0 { return false }
        let inside = address &- 1
        guard inside != 0, let m = modules.module(containing: inside) else { return false }
        if modules.hasSymbols(m), modules.symbol(at: inside, in: m) == nil { return false }
        if let code = modules.codeBytes(endingAt: address, count: 7) { return Self.endsWithCall(code) }
        return true
    }

    /// x86/x64 call encodings that end where a return address points: `call rel32` (E8), and `call r/m`
    /// (FF /2) with the common ModRM forms (register, [reg], [reg+disp8], [reg+disp32], [rip+disp32], SIB).
    public static func endsWithCall(_ c: [UInt8]) -> Bool {
        let n = c.count
        guard n >= 7 else { return false }
        if c[n - 5] == 0xE8 { return true }
        // FF /2: ModRM reg field 2.
        func isCallModRM(_ i: Int, length: Int) -> Bool {
            guard i >= 1, c[i - 1] == 0xFF else { return false }
            let modrm = c[i]
            guard (modrm >> 3) & 7 == 2 else { return false }
            let mod = modrm >> 6, rm = modrm & 7
            var expected = 2
            switch mod {
            case 3: expected = 2
            case 0: expected = rm == 5 ? 6 : (rm == 4 ? 3 : 2)
            case 1: expected = rm == 4 ? 4 : 3
            default: expected = rm == 4 ? 7 : 6
            }
            return expected == length
        }
        for length in 2...7 where isCallModRM(n - length + 1, length: length) { return true }
        // With a REX prefix before FF (call r/m64 with r8..r15): one more byte.
        for length in 3...7 where c[n - length] & 0xF0 == 0x40 && isCallModRM(n - length + 2, length: length - 1) { return true }
        return false
    }
}
