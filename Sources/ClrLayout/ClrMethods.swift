import DumpModel
import Metadata

/// A MethodDesc found in a MethodDescChunk (vm/method.hpp), decoded without the DAC.
public struct ClrMethodDesc: Sendable {
    public let address: UInt64
    public let chunk: UInt64
    /// The chunk's MethodTable (the canonical one for shared generics).
    public let methodTable: UInt64
    public let token: UInt32
    public let slot: UInt16
    public let flags: UInt16
    public let flags2: UInt8
    public var classification: Int { Int(flags & 7) }
}

/// How SOS's JIT column classifies an entry point.
public enum ClrJitState: String, Sendable {
    case jit = "JIT", preJit = "PreJIT", none = "NONE", fcall = "FCALL", unknown = "?"
}

/// One row of `!DumpMT -md`: a vtable or method slot.
public struct ClrMethodSlot: Sendable {
    public let slot: Int
    /// The slot's value (code or a precode), nil when it could not be read.
    public let entry: UInt64?
    /// The MethodDesc owning the slot (the most derived override), nil when none was found.
    public let methodDesc: ClrMethodDesc?
    public let jit: ClrJitState
}

extension ClrRuntime {
    /// The MethodDescs a type introduces, in chunk order (EEClass.m_pChunks → m_next). Bounded and cycle-safe.
    public func introducedMethods(of t: ClrType) -> [ClrMethodDesc] {
        guard !t.isFree, t.eeClass != 0 else { return [] }
        if let hit = introducedMethodsCache[t.eeClass] { return hit }
        let l = layout
        var out: [ClrMethodDesc] = []
        var seen: Set<UInt64> = []
        var chunk = target.u64(t.eeClass &+ l.eeChunks) ?? 0
        while chunk != 0, chunk & 7 == 0, seen.insert(chunk).inserted, seen.count < 4096, out.count < 65_536 {
            guard let mt = target.u64(chunk), let sizeM1 = target.u8(chunk &+ l.mdChunkSize),
                  let countM1 = target.u8(chunk &+ l.mdChunkCount), let range = target.u16(chunk &+ l.mdChunkTokenRange) else { break }
            let first = chunk &+ l.mdChunkHeader
            let end = first &+ (UInt64(sizeM1) + 1) * l.mdAlignment
            var md = first
            var found = 0
            while found < Int(countM1) + 1, md >= first, md &+ 8 <= end, md &+ 8 > md {
                let index = (md - first) / l.mdAlignment
                // Each MethodDesc records its own index in the chunk: skip positions that do not (an unknown size).
                guard let f3 = target.u16(md &+ l.mdTokenRemainder), let idx = target.u8(md &+ l.mdChunkIndex), UInt64(idx) == index,
                      let fl2 = target.u8(md &+ l.mdFlags2), let slot = target.u16(md &+ l.mdSlotNumber),
                      let fl = target.u16(md &+ l.mdFlags) else { md &+= l.mdAlignment; continue }
                let remainderMask = UInt32(1) << l.mdTokenRemainderBits - 1
                let token = 0x0600_0000 | UInt32(range & l.mdChunkTokenRangeMask) << l.mdTokenRemainderBits | (UInt32(f3) & remainderMask)
                let d = ClrMethodDesc(address: md, chunk: chunk, methodTable: mt, token: token, slot: slot, flags: fl, flags2: fl2)
                out.append(d)
                found += 1
                md &+= methodDescSize(d)
            }
            chunk = target.u64(chunk &+ l.mdChunkNext) ?? 0
        }
        introducedMethodsCache[t.eeClass] = out
        return out
    }

    func methodDescBaseSize(_ d: ClrMethodDesc) -> UInt64 {
        let sizes = layout.mdClassificationSizes
        return d.classification < sizes.count ? sizes[d.classification] : 8
    }

    /// MethodDesc::SizeOf: the classification's size plus the optional non-vtable slot, MethodImpl and native code slot.
    func methodDescSize(_ d: ClrMethodDesc) -> UInt64 {
        let l = layout
        var size = methodDescBaseSize(d)
        if d.flags & l.mdcHasNonVtableSlot != 0 { size += 8 }
        if d.flags & l.mdcMethodImpl != 0 { size += 16 }
        if hasNativeCodeSlot(d) { size += 8 }
        return (size &+ l.mdAlignment - 1) & ~(l.mdAlignment - 1)
    }

    /// Whether the MethodDesc carries a native code slot (a flag of m_bFlags2 in 3.1, of m_wFlags in 8.0).
    func hasNativeCodeSlot(_ d: ClrMethodDesc) -> Bool {
        d.flags2 & layout.md2HasNativeCodeSlot != 0 || d.flags & layout.mdcHasNativeCodeSlot != 0
    }

    /// The entry point stored for a MethodDesc that has its own slot (HasNonVtableSlot), else nil.
    public func nonVtableEntry(_ d: ClrMethodDesc) -> UInt64? {
        guard d.flags & layout.mdcHasNonVtableSlot != 0 else { return nil }
        return target.u64(d.address &+ methodDescBaseSize(d))
    }

    /// EEClass NumMethods (every slot: inherited virtuals and the type's own methods).
    public func numMethods(_ t: ClrType) -> Int { t.numMethods }

    /// MethodTable::GetNumVtableSlots: virtuals plus the non-virtual slots the MethodTable carries.
    public func numVtableSlots(_ t: ClrType) -> Int {
        var n = Int(t.numVirtuals)
        if t.flags2 & layout.flag2HasNonVirtualSlots != 0, let c = t.eeClassCounts(), layout.packedNumNonVirtualSlots < c.count {
            n += Int(c[layout.packedNumNonVirtualSlots])
        }
        return n
    }

    /// Address of a multipurpose slot (MethodTable::GetMultipurposeSlotPtr): PerInstInfo and InterfaceMap keep
    /// their fixed places; the others take free places first come, first served, then go after the vtable.
    func multipurposeSlotAddress(_ t: ClrType, flag: UInt16) -> UInt64? {
        let l = layout
        let mask = t.flags2 & l.flag2MultipurposeMask
        guard mask & flag != 0 else { return nil }
        let indirections = (UInt64(t.numVirtuals) &+ l.vtableSlotsPerChunk - 1) / l.vtableSlotsPerChunk
        func offset(_ pos: Int) -> UInt64 {
            pos == 0 ? l.mtPerInstOrElement : pos == 1 ? l.mtInterfaceMap : l.mtSize + indirections * 8 + UInt64(pos - 2) * 8
        }
        if flag == 1 { return t.methodTable &+ l.mtPerInstOrElement }
        if flag == 2 { return t.methodTable &+ l.mtInterfaceMap }
        var used: Set<Int> = []
        if mask & 1 != 0 { used.insert(0) }
        if mask & 2 != 0 { used.insert(1) }
        var pos = 0
        for f in [4, 8, 0x10] as [UInt16] where mask & f != 0 {
            while used.contains(pos) { pos += 1 }
            if f == flag { return t.methodTable + offset(pos) }
            used.insert(pos)
        }
        return nil
    }

    /// The value of MethodTable slot `n` (ClrDataAccess::GetMethodTableSlot): vtable, non-virtual slots, or
    /// the introduced MethodDesc's own slot.
    public func methodTableSlot(_ t: ClrType, _ n: Int) -> UInt64? {
        let l = layout
        if n < Int(t.numVirtuals) {
            let k = UInt64(n)
            guard let chunk = target.u64(t.methodTable &+ l.mtSize &+ (k / l.vtableSlotsPerChunk) * 8), chunk != 0 else { return nil }
            return target.u64(chunk &+ (k % l.vtableSlotsPerChunk) * 8)
        }
        if n < numVtableSlots(t), let at = multipurposeSlotAddress(t, flag: l.flag2HasNonVirtualSlots) {
            if t.flags2 & l.flag2HasSingleNonVirtualSlot != 0 { return target.u64(at) }
            guard let arr = target.u64(at), arr != 0 else { return nil }
            return target.u64(arr &+ UInt64(n - Int(t.numVirtuals)) &* 8)
        }
        let canon = t.canonicalMT == t.methodTable ? t : (type(t.canonicalMT) ?? t)
        guard let md = introducedMethods(of: canon).first(where: { Int($0.slot) == n }) else { return nil }
        return nonVtableEntry(md)
    }

    /// The MethodDesc that fills slot `n` of `t`: the most derived class in the parent chain introducing one.
    public func methodDescForSlot(_ t: ClrType, _ n: Int) -> ClrMethodDesc? {
        var cur: ClrType? = t
        var depth = 0
        while let c = cur, depth < 64 {
            let canon = c.canonicalMT == c.methodTable ? c : (type(c.canonicalMT) ?? c)
            if let md = introducedMethods(of: canon).first(where: { Int($0.slot) == n }) { return md }
            // Non-virtual slots belong to the type itself; only virtual ones are inherited.
            if n >= Int(c.numVirtuals) { return nil }
            cur = c.parent
            depth += 1
        }
        return nil
    }

    /// Every slot as `!DumpMT -md` lists it (NumMethods rows).
    public func methodSlots(_ t: ClrType) -> [ClrMethodSlot] {
        let n = min(numMethods(t), 65_536)
        var out: [ClrMethodSlot] = []
        for i in 0..<max(0, n) {
            let entry = methodTableSlot(t, i)
            let md = methodDescForSlot(t, i)
            out.append(ClrMethodSlot(slot: i, entry: entry, methodDesc: md, jit: methodJitState(entry: entry, md: md)))
        }
        return out
    }

    /// The MethodDesc's native code (MethodDesc::GetNativeCode): its native code slot, or the stable entry point
    /// when that is not a precode. 0 when not compiled yet, nil when unreadable.
    public func nativeCode(_ d: ClrMethodDesc, entry: UInt64?) -> UInt64? {
        let l = layout
        if hasNativeCodeSlot(d) {
            var at = d.address + methodDescBaseSize(d)
            if d.flags & l.mdcHasNonVtableSlot != 0 { at += 8 }
            if d.flags & l.mdcMethodImpl != 0 { at += 16 }
            return target.u64(at)
        }
        if d.flags2 & l.md2HasStableEntryPoint != 0, d.flags2 & l.md2HasPrecode == 0 { return entry }
        return 0
    }

    /// SOS's JIT column: from the method's native code when it has some (ReadyToRun code in an image is
    /// PreJIT, code with a header naming the method is JIT), else from the entry (a precode: NONE).
    public func methodJitState(entry: UInt64?, md: ClrMethodDesc?) -> ClrJitState {
        if let md, let code = nativeCode(md, entry: entry), code != 0 {
            let s = jitState(entry: code, md: md)
            if s != .unknown { return s }
        }
        return jitState(entry: entry, md: md)
    }

    /// SOS's JIT column from the entry point alone: code inside a module's image is ReadyToRun (PreJIT), a
    /// precode still calling the prestub is NONE, JIT-compiled code has a code header naming the MethodDesc.
    public func jitState(entry: UInt64?, md: ClrMethodDesc?, depth: Int = 0) -> ClrJitState {
        guard let entry, entry != 0, depth < 3 else { return entry == 0 ? .none : .unknown }
        let core = info.module
        if entry >= core.base && entry < core.end { return md?.classification == 1 ? .fcall : .none }
        if let md, let t = type(md.methodTable), let m = t.module, m.imageBase != 0, entry >= m.imageBase, entry < m.imageBase + m.imageSize {
            return .preJit
        }
        if let m = knownModules.first(where: { $0.imageBase != 0 && entry >= $0.imageBase && entry < $0.imageBase + $0.imageSize }), m.imageSize > 0 {
            return .preJit
        }
        guard let b = target.read(entry, count: 16) else { return .unknown }
        switch precode(at: entry, bytes: b) {
        case .notCompiled: return .none
        case .jumpsTo(let next): return jitState(entry: next, md: md, depth: depth + 1)
        case .notAPrecode: break
        }
        // JIT-compiled code: the word before it points at the RealCodeHeader, whose phdrMDesc is the method.
        if let md, let hdr = target.u64(entry &- 8), hdr != 0, let owner = target.u64(hdr &+ layout.realCodeHeaderMethodDesc), owner == md.address {
            return .jit
        }
        return .unknown
    }

    enum PrecodeOutcome { case notCompiled, jumpsTo(UInt64), notAPrecode }

    /// The two precodes the runtime puts in front of a method until it is compiled.
    enum PrecodeShape { case fixup, stub }

    /// Which precode starts at `entry` (its first 16 bytes `b`), in this build's precode shapes; nil for code.
    func precodeShape(bytes b: [UInt8]) -> PrecodeShape? {
        guard b.count >= 16 else { return nil }
        switch layout.precodes {
        case .relativeBranches(let fixupTypeBytes, let stubJumpOffset)?:
            // FixupPrecode: call (E8) the prestub until patched to a jmp (E9) to the code, then the type byte.
            if b[0] == 0xE8 || b[0] == 0xE9, fixupTypeBytes.contains(b[5]) { return .fixup }
            // StubPrecode: mov r10, MethodDesc; jmp rel32.
            if b[0] == 0x49, b[1] == 0xBA, stubJumpOffset + 5 <= b.count, b[stubJumpOffset] == 0xE9 { return .stub }
        case .dataPages?:
            // FixupPrecode: jmp [Target]; mov r10, [MethodDesc]; jmp [PrecodeFixupThunk].
            if b[0] == 0xFF, b[1] == 0x25, b[6] == 0x4C, b[7] == 0x8B, b[8] == 0x15 { return .fixup }
            // StubPrecode: mov r10, [MethodDesc]; jmp [Target].
            if b[0] == 0x4C, b[1] == 0x8B, b[2] == 0x15, b[7] == 0xFF, b[8] == 0x25 { return .stub }
        case nil:
            break
        }
        return nil
    }

    /// What the precode at `entry` (its first 16 bytes `b`) does, in this build's precode shapes.
    func precode(at entry: UInt64, bytes b: [UInt8]) -> PrecodeOutcome {
        func rel32(_ o: Int) -> UInt64 {
            let v = Int32(bitPattern: UInt32(b[o]) | UInt32(b[o + 1]) << 8 | UInt32(b[o + 2]) << 16 | UInt32(b[o + 3]) << 24)
            return UInt64(bitPattern: Int64(bitPattern: entry) &+ Int64(o + 4) &+ Int64(v))
        }
        guard let shape = precodeShape(bytes: b) else { return .notAPrecode }
        switch (layout.precodes, shape) {
        case (.relativeBranches?, .fixup):
            return b[0] == 0xE8 ? .notCompiled : .jumpsTo(rel32(1))
        case (.relativeBranches(_, let stubJumpOffset)?, .stub):
            return .jumpsTo(rel32(stubJumpOffset + 1))
        case (.dataPages(let distance)?, .fixup):
            // Target is the precode's own second instruction until compiled.
            guard let t = target.u64(entry &+ distance) else { return .notAPrecode }
            return t == entry &+ 6 ? .notCompiled : .jumpsTo(t)
        case (.dataPages(let distance)?, .stub):
            // Target is ThePreStub until compiled.
            guard let t = target.u64(entry &+ distance &+ 8) else { return .notAPrecode }
            return t == global(.thePreStub) ? .notCompiled : .jumpsTo(t)
        case (nil, _):
            return .notAPrecode
        }
    }

    /// The MethodDesc a precode at `entry` (its first 16 bytes `b`) stands for (Docs/clr/work-items.md).
    func precodeMethodDesc(at entry: UInt64, bytes b: [UInt8]) -> UInt64? {
        guard let shape = precodeShape(bytes: b) else { return nil }
        switch (layout.precodes, shape) {
        case (.relativeBranches?, .stub):
            // mov r10, imm64: the MethodDesc.
            return target.u64(entry &+ 2)
        case (.relativeBranches?, .fixup):
            // 8 bytes: call/jmp rel32, type, MethodDesc chunk index, precode chunk index; the chunk's base
            // MethodDesc follows its last precode.
            let mdIndex = UInt64(b[6]), precodeIndex = UInt64(b[7])
            return target.u64(entry &+ (precodeIndex &+ 1) &* 8).map { $0 &+ mdIndex &* layout.mdAlignment }
        case (.dataPages(let distance)?, .fixup):
            // Data one page on: Target, MethodDesc, PrecodeFixupThunk.
            return target.u64(entry &+ distance &+ 8)
        case (.dataPages(let distance)?, .stub):
            // Data one page on: MethodDesc, Target, Type.
            return target.u64(entry &+ distance)
        case (nil, _):
            return nil
        }
    }

    /// Every managed module the heap's types lead to (each object's type, its parents, its generic arguments'
    /// and element types' modules), CoreLib first. Found once, by a heap walk.
    public func allModules() -> [ClrModule] {
        if let allModulesCache { return allModulesCache }
        var seen: Set<UInt64> = []
        for mt in heapMethodTables() {
            var cur = type(mt)
            var depth = 0
            while let c = cur, depth < 64, seen.insert(c.methodTable).inserted {
                _ = c.module
                if let e = c.elementType { _ = e.module }
                for a in c.genericArguments { _ = typeForHandle(a)?.module }
                cur = c.parent
                depth += 1
            }
        }
        var mods = knownModules
        if let core = coreLib { mods.removeAll { $0 === core }; mods.insert(core, at: 0) }
        allModulesCache = mods
        return mods
    }

    /// The MethodTable of a TypeDef row whether or not the type is on the heap (Module's TypeDef map).
    public func type(module m: ClrModule, typeDefRow row: Int) -> ClrType? {
        methodTable(module: m, typeDefRow: row).flatMap { type($0) }
    }
}

extension ClrRuntime {
    /// The MethodDesc at `address`, found among its type's chunks (so its flags and slot are known).
    public func methodDesc(at address: UInt64) -> ClrMethodDesc? {
        guard let (t, _) = methodDescInfo(address) else { return nil }
        return introducedMethods(of: t).first { $0.address == address }
    }

    /// How far `ip` is into its method's native code, as SOS prints `Method()+0x1d`. Nil when the method's
    /// current code does not contain `ip` (not compiled, re-JITted at another tier, or unreadable): then
    /// no offset is shown rather than a wrong one.
    public func codeOffset(ip: UInt64, methodDesc address: UInt64) -> UInt64? {
        guard let d = methodDesc(at: address), let code = nativeCode(d, entry: nil), code != 0, ip >= code,
              ip - code < 0x10_0000 else { return nil }
        return ip - code
    }
}
