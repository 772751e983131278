import DumpModel
import Native
import Unwind

/// One frame of a thread's stack as the runtime's own walk sees it: managed code, one of the runtime's
/// explicit Frames, or (when asked for) the native code between them.
public struct ClrStackFrame: Sendable {
    public enum Kind: Sendable {
        case managed(ClrCodeInfo)
        case explicit(ClrExplicitFrame)
        case native
    }
    public let kind: Kind
    /// The frame's SP; an explicit Frame's own address.
    public let stackPointer: UInt64
    /// The IP the runtime shows: below an active P/Invoke, the InlinedCallFrame's return address; for an explicit
    /// Frame, where the runtime's walk stands when it meets the Frame (the IP it last left managed code for).
    public let instructionPointer: UInt64
    /// x64 registers by name, as the runtime's walk carries them here: callee-saved ones as unwinding restored
    /// them, volatile ones as the thread left them.
    public let registers: [String: UInt64]
    /// The SP once this frame is unwound (its caller's SP), when the walk got that far; for an explicit Frame,
    /// the SP the runtime's walk has when it meets the Frame.
    public let callerStackPointer: UInt64?
    /// How the thread stands in this frame: executing in it (the leaf), interrupted by a fault in it (an
    /// exception unwinds through it), or at a call.
    public let isActive: Bool
    public let isFaulted: Bool
    /// The native frame it was unwound as; nil for an explicit Frame.
    public let native: NativeFrame?

    public var code: ClrCodeInfo? { if case .managed(let c) = kind { return c }; return nil }
}

extension ClrRuntime {
    /// The thread's stack from `context` (its registers): managed frames, and the explicit Frames where their
    /// addresses fall among the managed frames' SPs (where SOS prints them); native frames too when
    /// `includeNative`. Unwinding is the native walker's, with JIT'd and ReadyToRun code unwound through the
    /// code map.
    public func stackFrames(thread: DumpThread, context: RegisterContext, modules: NativeModules,
                            includeNative: Bool = false) -> [ClrStackFrame] {
        guard let sp = context.stackPointer,
              var walker = StackWalker(modules: modules, stack: StackWalker.stackRange(thread: thread, stackPointer: sp, memory: memory))
        else { return [] }
        let map = codeMap
        walker.codeUnwinder = { regs, pc in map.unwind(regs, pc: pc) }
        var explicit = threads().first { $0.osId == thread.id }.map { explicitFrames(thread: $0.address) } ?? []
        // Active InlinedCallFrames by their managed caller's SP.
        let inlinedCallers = Dictionary(explicit.compactMap { e in e.inlinedCaller.map { ($0.sp, e) } }, uniquingKeysWith: { a, _ in a })
        var registers: [String: UInt64] = [:]
        for name in Self.x64RegisterNames + ["rip"] { if let v = context[name] { registers[name] = v } }
        var out: [ClrStackFrame] = []
        // Where the runtime's walk stands when it meets an explicit Frame: where it last left managed code (the
        // managed frame's caller), or the thread's context before any managed frame.
        var walkSP = sp, walkIP = context["rip"] ?? 0
        func explicitFrame(_ e: ClrExplicitFrame, ip: UInt64) -> ClrStackFrame {
            ClrStackFrame(kind: .explicit(e), stackPointer: e.address, instructionPointer: ip, registers: registers,
                          callerStackPointer: walkSP, isActive: false, isFaulted: false, native: nil)
        }
        // The managed frame after a FaultingExceptionFrame was interrupted by a fault; after a ResumableFrame (a
        // thread redirected for a GC or a debugger), it resumes where it stopped (stackwalk.cpp's frame attributes).
        var faulted = false, resumable = false
        func flush(below sp: UInt64?) {
            while let e = explicit.first, sp.map({ e.address < $0 }) ?? true {
                explicit.removeFirst()
                out.append(explicitFrame(e, ip: walkIP))
                faulted = e.name == "FaultingExceptionFrame"
                resumable = e.name == "ResumableFrame" || e.name == "RedirectedThreadFrame"
            }
        }
        // The registers where the walk last left managed code (at first, the thread's context).
        var leftManagedCode = registers
        let native = walker.walk(context).frames
        for (k, f) in native.enumerated() {
            let callerSP = k + 1 < native.count ? native[k + 1].stackPointer : nil
            let inlined = inlinedCallers[f.stackPointer]
            if inlined != nil {
                // The runtime's walk does not unwind the native frames below an active P/Invoke: it resumes at the
                // InlinedCallFrame, which sets rsp, rbp and rip only; the other registers keep the values they had
                // where the walk left managed code (checked against the DAC's frame contexts).
                registers = leftManagedCode
                for (name, value) in f.registers where name == "rsp" || name == "rbp" { registers[name] = value }
            } else {
                for (name, value) in f.registers { registers[name] = value }
            }
            registers["rip"] = f.instructionPointer
            if let code = map.code(at: f.lookupAddress) {
                flush(below: f.stackPointer)
                var ip = f.instructionPointer
                if let icf = inlined, let caller = icf.inlinedCaller {
                    // The walk meets an active InlinedCallFrame twice, as SOS lists it: from the native code below
                    // it, then at its return address, where the managed caller resumes.
                    explicit.removeAll { $0.address == icf.address }
                    out.append(explicitFrame(icf, ip: walkIP))
                    walkSP = caller.sp
                    walkIP = caller.returnAddress
                    out.append(explicitFrame(icf, ip: walkIP))
                    ip = caller.returnAddress
                }
                registers["rip"] = ip
                out.append(ClrStackFrame(kind: .managed(code), stackPointer: f.stackPointer, instructionPointer: ip, registers: registers,
                                         callerStackPointer: callerSP, isActive: (k == 0 && f.interrupted) || resumable,
                                         isFaulted: faulted || (k > 0 && f.interrupted && inlined == nil), native: f))
                faulted = false
                resumable = false
                leftManagedCode = registers
                if k + 1 < native.count {
                    walkSP = native[k + 1].stackPointer
                    walkIP = native[k + 1].instructionPointer
                }
            } else if includeNative {
                // SOS lists an explicit Frame before the native frames above its address.
                flush(below: f.stackPointer)
                out.append(ClrStackFrame(kind: .native, stackPointer: f.stackPointer, instructionPointer: f.instructionPointer,
                                         registers: registers, callerStackPointer: callerSP, isActive: false, isFaulted: false, native: f))
            }
        }
        flush(below: nil)
        return out
    }

    /// x64 general-purpose registers in encoding order (GC info and debug info number them so).
    public static let x64RegisterNames = ["rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                                          "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"]
}

/// A reference to an object from a thread's stack, as the GC sees it: a live slot of a managed frame (from the
/// method's GC info at the frame's IP) or a slot an explicit Frame protects.
public struct ClrStackReference: Sendable, Equatable {
    public enum Location: Sendable, Equatable {
        case register(String)
        /// `base` is "rsp", the frame register ("rbp") or "caller.rsp" (the SP once the frame is unwound).
        case stack(base: String, offset: Int32)
        /// A slot an explicit Frame protects.
        case frame
    }
    /// The managed frame's IP, or the explicit Frame's address.
    public let source: UInt64
    public let fromExplicitFrame: Bool
    /// The SP the runtime's walk had there (for an explicit Frame, the SP below the last managed frame unwound).
    public let stackPointer: UInt64
    public let location: Location
    /// The stack slot; nil for a register.
    public let address: UInt64?
    /// The object referenced (0 for null; nil when the dump lacks the slot's memory). For an interior
    /// pointer, the object it points into when `stackReferences` was given the heap, as the DAC reports it.
    public let object: UInt64?
    public let interior: Bool
    public let pinned: Bool
}

public struct ClrStackReferences: Sendable {
    public var references: [ClrStackReference] = []
    /// Managed frames (by IP) whose GC info could not be read or decoded, and explicit Frames (by address) whose
    /// protected arguments could not be placed: their references are not listed.
    public var failedFrames: [UInt64] = []
}

extension ClrRuntime {
    /// What the GC would report from these frames (`GcStackCrawlCallBack`): each managed frame's live slots at
    /// its IP, each GCFrame's protected references. Only x64 GC info is decoded; `windowsABI` says which
    /// registers a call preserves (rsi and rdi too on Windows).
    public func stackReferences(_ frames: [ClrStackFrame], windowsABI: Bool, heap: ClrHeap? = nil) -> ClrStackReferences {
        var out = ClrStackReferences()
        var funcletParents = Set<UInt64>()
        let preserved: Set<Int> = windowsABI ? [3, 5, 6, 7, 12, 13, 14, 15] : [3, 5, 12, 13, 14, 15]
        for f in frames {
            switch f.kind {
            case .managed(let code):
                let isFunclet = code.function.map { code.unwindBase &+ UInt64($0.begin) != code.start } ?? false
                let isParent = !isFunclet && funcletParents.contains(code.start)
                if isFunclet { funcletParents.insert(code.start) }
                guard let refs = managedFrameReferences(f, code, parentOfFunclet: isParent, preserved: preserved, heap: heap) else {
                    out.failedFrames.append(f.instructionPointer)
                    continue
                }
                out.references += refs
            case .explicit(let e) where e.name == "GCFrame":
                out.references += gcFrameReferences(e, walkSP: f.callerStackPointer ?? f.stackPointer)
            case .explicit(let e) where e.name.map(ClrFrameClasses.argumentFrames.contains) == true:
                // A call being prepared: its arguments, by its method's signature. Only the prestub's Frame always
                // names its method; the others may need the call site's GCRefMap, which dumpdbg does not read.
                guard e.name == "PrestubMethodFrame",
                      let refs = callArgumentReferences(e, walkSP: f.callerStackPointer ?? f.stackPointer, windowsABI: windowsABI, heap: heap) else {
                    out.failedFrames.append(e.address)
                    continue
                }
                out.references += refs
            default:
                continue
            }
        }
        return out
    }

    /// A managed frame's live slots by its GC info at its IP; nil when the info cannot be read or decoded.
    private func managedFrameReferences(_ f: ClrStackFrame, _ code: ClrCodeInfo, parentOfFunclet: Bool, preserved: Set<Int>,
                                        heap: ClrHeap?) -> [ClrStackReference]? {
        guard f.instructionPointer >= code.start, f.instructionPointer - code.start < 1 << 31,
              let address = codeMap.gcInfoAddress(code) else { return nil }
        var offset = UInt32(f.instructionPointer - code.start)
        // At a call the runtime looks inside the call instruction, where the JIT puts the safe point.
        if !f.isActive && !f.isFaulted {
            guard offset > 0 else { return nil }
            offset -= 1
        }
        let sp = f.stackPointer
        let kind = GcInfo.FrameKind(active: f.isActive, executionAborted: f.isFaulted, parentOfFunclet: parentOfFunclet)
        func slotAddress(_ base: GcInfo.StackBase, _ offset: Int32, _ info: GcInfo) -> UInt64? {
            let b: UInt64?
            switch base {
            case .sp: b = sp
            case .callerSP: b = f.callerStackPointer
            case .frameRegister: b = info.stackBaseRegister.flatMap { f.registers[Self.x64RegisterNames[$0]] }
            }
            return b.map { $0 &+ UInt64(bitPattern: Int64(offset)) }
        }
        // Most GC info is a few hundred bytes: a page first, all of it only when that runs short.
        var decoded: (GcInfo, [GcInfo.Slot])?
        for size in [0x1000, 1 << 16] where decoded == nil {
            guard let info = try? GcInfo(bytes: gcInfoBytes(at: address, upTo: size)) else { continue }
            let slots = try? info.liveSlots(at: offset, frame: kind, isScratchRegister: { !preserved.contains($0) }, isOutgoingAreaSlot: { base, o in
                slotAddress(base, o, info).map { $0 < sp &+ UInt64(info.outgoingArgumentAreaSize) } ?? false
            })
            if let slots { decoded = (info, slots) }
        }
        guard let (info, slots) = decoded else { return nil }
        func object(_ value: UInt64?, _ s: GcInfo.Slot) -> UInt64? {
            guard s.interior, let value, let heap else { return value }
            return heap.object(containing: value) ?? value
        }
        return slots.map { s in
            switch s.place {
            case .register(let n):
                let name = Self.x64RegisterNames[n]
                return ClrStackReference(source: f.instructionPointer, fromExplicitFrame: false, stackPointer: sp, location: .register(name),
                                         address: nil, object: object(f.registers[name], s), interior: s.interior, pinned: s.pinned)
            case .stack(let base, let o):
                let a = slotAddress(base, o, info)
                let baseText = base == .sp ? "rsp" : base == .callerSP ? "caller.rsp" : info.stackBaseRegister.map { Self.x64RegisterNames[$0] } ?? "?"
                return ClrStackReference(source: f.instructionPointer, fromExplicitFrame: false, stackPointer: sp,
                                         location: .stack(base: baseText, offset: o), address: a, object: object(a.flatMap { target.u64($0) }, s),
                                         interior: s.interior, pinned: s.pinned)
            }
        }
    }

    /// GCFrame::GcScanRoots: m_numObjRefs references from m_pObjRefs, interior when m_MaybeInterior.
    private func gcFrameReferences(_ e: ClrExplicitFrame, walkSP: UInt64) -> [ClrStackReference] {
        let l = layout.codeLookup
        guard let refs = target.u64(e.address &+ l.gcFrameObjectRefs), let count = target.u32(e.address &+ l.gcFrameCount),
              count < 4096 else { return [] }
        let interior = (target.u32(e.address &+ l.gcFrameMaybeInterior) ?? 0) != 0
        return (0..<UInt64(count)).map { i in
            let a = refs &+ i * 8
            return ClrStackReference(source: e.address, fromExplicitFrame: true, stackPointer: walkSP, location: .frame, address: a,
                                     object: target.u64(a), interior: interior, pinned: false)
        }
    }

    /// TransitionFrame::PromoteCallerStack: the references among the arguments of the call a FramedMethodFrame
    /// stands in for, in its TransitionBlock; nil when they cannot all be placed (`callArgumentReferences`).
    private func callArgumentReferences(_ e: ClrExplicitFrame, walkSP: UInt64, windowsABI: Bool, heap: ClrHeap?) -> [ClrStackReference]? {
        let l = layout.codeLookup
        guard let md = e.methodDesc, let block = target.u64(e.address &+ l.framedMethodTransitionBlock), block != 0,
              let slots = callArgumentReferences(methodDesc: md, abi: windowsABI ? .windows : .systemV) else { return nil }
        return slots.map { slot in
            let a = block &+ UInt64(bitPattern: slot.offset)
            var object = target.u64(a)
            if slot.interior, let value = object, let heap { object = heap.object(containing: value) ?? value }
            return ClrStackReference(source: e.address, fromExplicitFrame: true, stackPointer: walkSP, location: .frame, address: a,
                                     object: object, interior: slot.interior, pinned: false)
        }
    }

    /// GC info bytes from `address`: whole pages while the dump (or the image file) has them, up to `limit`.
    func gcInfoBytes(at address: UInt64, upTo limit: Int) -> [UInt8] {
        var out: [UInt8] = []
        var a = address
        while out.count < limit {
            let n = Int(0x1000 - (a & 0xFFF))
            guard let b = target.read(a, count: n) else { break }
            out += b
            a &+= UInt64(n)
        }
        return out
    }
}

extension ClrCodeMap {
    /// Where a method's GC info starts: JIT'd code names it in its code header; ReadyToRun code keeps it right
    /// after the unwind info of the method's main RUNTIME_FUNCTION (UNWIND_INFO's 4 bytes and its unwind codes,
    /// rounded up to 4 bytes, and what its flags say follows).
    public func gcInfoAddress(_ c: ClrCodeInfo) -> UInt64? {
        let t = runtime.target
        switch c.kind {
        case .jit:
            guard let header = t.u64(c.start &- 8), header > 0xF, let info = t.u64(header &+ layout.rchGCInfo), info != 0 else { return nil }
            return info
        case .readyToRun:
            guard let index = readyToRunMethodIndex(c), let module = c.readyToRunModule,
                  let rti = t.u64(module &+ layout.moduleReadyToRunInfo), rti != 0, let table = t.u64(rti &+ layout.r2rRuntimeFunctions),
                  let unwindRVA = t.u32(table &+ UInt64(index) * 12 &+ 8) else { return nil }
            let unwind = c.unwindBase &+ UInt64(unwindRVA)
            guard let flags = t.u8(unwind).map({ $0 >> 3 }), let codes = t.u8(unwind &+ 2) else { return nil }
            // Then the exception handler's RVA (UNW_FLAG_EHANDLER / UHANDLER: crossgen names the runtime's
            // personality routine), or a chained RUNTIME_FUNCTION.
            let extra: UInt64 = flags & 3 != 0 ? 4 : flags & 4 != 0 ? 12 : 0
            return unwind &+ ((4 + 2 * UInt64(codes) + 3) & ~3) &+ extra
        }
    }
}
