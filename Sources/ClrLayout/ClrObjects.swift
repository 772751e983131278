import DumpModel
import Metadata

/// A managed thread from the ThreadStore.
public struct ClrThread: Sendable {
    public let address: UInt64
    public let managedId: UInt32
    public let osId: UInt64
    public let state: UInt32
    public let preemptiveGCDisabled: Bool
    public let frame: UInt64
    public let domain: UInt64
    /// Monitors the thread holds; -1 where the runtime no longer counts them (8.0), as the DAC reports it.
    public let lockCount: Int32
    public let allocPtr: UInt64
    public let allocLimit: UInt64
    public let exposedObjectHandle: UInt64
    public let lastThrownHandle: UInt64
    public let isFinalizer: Bool
    public let isBackground: Bool
    public let isDead: Bool
    public let isThreadPoolWorker: Bool
    public let isCompletionPort: Bool
}

public struct ClrThreadStoreCounts: Sendable {
    public let threads, unstarted, background, pending, dead: Int32
}

/// One frame of an exception's `_stackTrace`.
public struct ClrStackTraceFrame: Sendable {
    public let ip: UInt64
    public let sp: UInt64
    public let methodDesc: UInt64
    public let isLastOfForeignTrace: Bool
}

extension ClrRuntime {
    public func threadStoreCounts() -> ClrThreadStoreCounts? {
        let l = layout
        guard let ts = globalPointer(.threadStore), ts != 0 else { return nil }
        func c(_ o: UInt64) -> Int32 { Int32(bitPattern: target.u32(ts &+ o) ?? 0) }
        return ClrThreadStoreCounts(threads: c(l.tsThreadCount), unstarted: c(l.tsUnstartedCount), background: c(l.tsBackgroundCount),
                                    pending: c(l.tsPendingCount), dead: c(l.tsDeadCount))
    }

    /// Managed threads in ThreadStore order, bounded and cycle-safe. Read once per runtime: commands ask per row
    /// (`!syncblk` names each owner), and a damaged list runs to `maxThreads` nodes.
    public func threads() -> [ClrThread] {
        threadListRequests += 1
        if let threadsCache { return threadsCache }
        let list = readThreads()
        threadsCache = list
        return list
    }

    private func readThreads() -> [ClrThread] {
        threadListWalks += 1
        let l = layout
        guard let ts = globalPointer(.threadStore), ts != 0 else { return [] }
        let finalizer = globalPointer(.finalizerThread) ?? 0
        var out: [ClrThread] = []
        var seen: Set<UInt64> = []
        var link = target.u64(ts &+ l.tsThreadList) ?? 0
        while link != 0, out.count < l.maxThreads, seen.insert(link).inserted {
            let th = link &- l.threadLink
            func q(_ o: UInt64) -> UInt64 { target.u64(th &+ o) ?? 0 }
            func d(_ o: UInt64) -> UInt32 { target.u32(th &+ o) ?? 0 }
            let state = d(l.threadState)
            out.append(ClrThread(address: th, managedId: d(l.threadManagedId), osId: q(l.threadOSId), state: state,
                                 preemptiveGCDisabled: d(l.threadPreemptiveDisabled) != 0, frame: q(l.threadFrame),
                                 domain: q(l.threadDomain), lockCount: l.threadLockCount.map { Int32(bitPattern: d($0)) } ?? -1,
                                 allocPtr: q(l.threadAllocContext), allocLimit: q(l.threadAllocContext + 8),
                                 exposedObjectHandle: q(l.threadExposedObject), lastThrownHandle: q(l.threadLastThrown),
                                 isFinalizer: th == finalizer, isBackground: state & l.tsBackground != 0,
                                 isDead: state & l.tsDead != 0, isThreadPoolWorker: state & l.tsThreadPoolWorker != 0,
                                 isCompletionPort: state & l.tsCompletionPort != 0))
            guard let next = target.u64(link) else { break }
            link = next
        }
        return out
    }

    /// The exception record (and context) the runtime raised for the exception in flight on `thread`, as its
    /// exception tracker keeps them: Windows dumps written without an exception stream still hold them.
    public func raisedException(of thread: ClrThread) -> (record: ExceptionInfo, contextAddress: UInt64?)? {
        guard let trackerOffset = layout.threadExceptionTracker, let pointers = layout.trackerExceptionPointers,
              let tracker = target.u64(thread.address &+ trackerOffset), tracker != 0,
              let recordAddress = target.u64(tracker &+ pointers), recordAddress != 0,
              let code = target.u32(recordAddress), let flags = target.u32(recordAddress &+ 4),
              let address = target.u64(recordAddress &+ 0x10), let count = target.u32(recordAddress &+ 0x18), count <= 15 else { return nil }
        var e = ExceptionInfo(threadId: thread.osId, code: code, address: address)
        e.flags = flags
        e.record = target.u64(recordAddress &+ 8) ?? 0
        e.parameters = (0..<UInt64(count)).compactMap { target.u64(recordAddress &+ 0x20 &+ $0 &* 8) }
        let context = target.u64(tracker &+ pointers &+ 8).flatMap { $0 == 0 ? nil : $0 }
        return (e, context)
    }

    /// The object an OBJECTHANDLE refers to (0 when none).
    public func objectFromHandle(_ h: UInt64) -> UInt64 { h == 0 ? 0 : (target.u64(h) ?? 0) }

    // MARK: Objects

    /// The type of the object at `a`, nil when its MethodTable is not valid.
    public func objectType(_ a: UInt64) -> ClrType? {
        guard a != 0, let w = memory.readU64(a) else { return nil }
        return type(w & ~7)
    }

    /// A String object's text (at most `limit` characters), nil if it is not readable.
    public func stringValue(_ a: UInt64, limit: Int = 1 << 20) -> String? {
        guard let n = target.u32(a &+ layout.stringLength) else { return nil }
        let count = min(Int(n), limit)
        guard let b = memory.readExact(a &+ layout.stringChars, count: count * 2) else { return nil }
        return String(decodingUTF16LittleEndian: b)
    }

    /// The value of an instance field of the object at `object` read as a pointer (references).
    public func referenceField(_ object: UInt64, _ name: String) -> UInt64? {
        guard case .reference(let p)? = fieldValue(object, named: name) else { return nil }
        return p
    }

    public func int32Field(_ object: UInt64, _ name: String) -> Int32? {
        guard case .signed(let n)? = fieldValue(object, named: name), let v = Int32(exactly: n) else { return nil }
        return v
    }

    /// Address of a static field's storage, for non-generic types whose statics live in the module's block.
    public func staticFieldAddress(_ f: ClrField, of type: ClrType) -> UInt64? {
        let dynamicStatics = !type.hasComponentSize && type.flags & layout.flagStaticsMask != 0
        guard f.isStatic, !f.isThreadLocal, !f.isRVA, !dynamicStatics, type.genericsKind == 0,
              let m = type.module, m.domainLocalModule != 0 else { return nil }
        if f.elementType == .valueType || (f.elementType?.isReference ?? false) {
            guard let gc = target.u64(m.domainLocalModule &+ layout.dlmGCStatics), gc != 0 else { return nil }
            return gc + UInt64(f.offset)
        }
        return m.domainLocalModule + UInt64(f.offset)
    }

    /// An exception's `_stackTrace` frames.
    public func stackTrace(ofException e: UInt64) -> [ClrStackTraceFrame] {
        guard let arr = referenceField(e, "_stackTrace"), arr != 0, let len = target.u32(arr &+ layout.arrayLength) else { return [] }
        let data = arr &+ layout.szArrayData
        guard let count = target.u64(data) else { return [] }
        let room = (UInt64(len) > layout.stackTraceHeader) ? (UInt64(len) - layout.stackTraceHeader) / layout.stackTraceElement : 0
        var out: [ClrStackTraceFrame] = []
        for i in 0..<min(count, room, 10_000) {
            let e = data &+ layout.stackTraceHeader &+ i &* layout.stackTraceElement
            guard let ip = target.u64(e), let sp = target.u64(e &+ 8), let md = target.u64(e &+ 16) else { break }
            // 3.1 keeps a BOOL here, 8.0 a flags word whose bit 0 has the same meaning.
            out.append(ClrStackTraceFrame(ip: ip, sp: sp, methodDesc: md, isLastOfForeignTrace: (target.u32(e &+ 24) ?? 0) & 1 != 0))
        }
        return out
    }

    /// The MethodDesc's type and token.
    public func methodDescInfo(_ md: UInt64) -> (type: ClrType, token: UInt32)? {
        let l = layout
        guard let f3 = target.u16(md &+ l.mdTokenRemainder), let idx = target.u8(md &+ l.mdChunkIndex) else { return nil }
        let chunk = md &- l.mdChunkHeader &- UInt64(idx) * l.mdAlignment
        guard let mt = target.u64(chunk), let range = target.u16(chunk &+ l.mdChunkTokenRange), let t = type(mt) else { return nil }
        let remainderMask = UInt32(1) << l.mdTokenRemainderBits - 1
        let token = 0x0600_0000 | UInt32(range & l.mdChunkTokenRangeMask) << l.mdTokenRemainderBits | (UInt32(f3) & remainderMask)
        return (t, token)
    }

    /// `Module!Type.Method(Args)` as SOS prints a frame; nil parts become `<unknown>`.
    public func methodName(_ md: UInt64, withModule: Bool = true) -> String {
        guard let (t, token) = methodDescInfo(md) else { return "<unknown method \(Hex16.s(md))>" }
        let prefix = withModule ? (t.module?.fileName ?? "<unknown>") + "!" : ""
        if let dynamic = dynamicMethodName(md) { return prefix + dynamic }
        guard let mdr = t.module?.metadata, let info = try? mdr.methodInfo(MetadataToken(rawValue: token)) else {
            return prefix + t.name + ".<method 0x\(String(token, radix: 16))>"
        }
        let params = info.displayName.firstIndex(of: "(").map { String(info.displayName[$0...]) } ?? "()"
        return prefix + t.name + "." + info.name + params
    }

    /// A dynamic MethodDesc (an IL stub or a DynamicMethod) has no metadata row: its name and signature are stored
    /// with it. The runtime names the type `ILStubClass` for IL stubs (whose names it makes: `IL_STUB_PInvoke`,
    /// `IL_STUB_ReversePInvoke`, ...) and `DynamicClass` for the others. Nil for any other MethodDesc.
    func dynamicMethodName(_ md: UInt64) -> String? {
        let l = layout
        guard let flags = target.u16(md &+ l.mdFlags), flags & 7 == 7, let namePointer = target.u64(md &+ l.dynamicMethodName),
              let name = memory.readCString(namePointer, limit: 512), !name.isEmpty else { return nil }
        let owner = name.hasPrefix("IL_STUB") ? "ILStubClass" : "DynamicClass"
        var params = "()"
        if let sig = target.u64(md &+ l.dynamicMethodSignature), let length = target.u32(md &+ l.dynamicMethodSignatureLength),
           length > 0, length < 4096, let bytes = target.read(sig, count: Int(length)),
           let signature = try? MethodSignature.decodeRuntimeSignature(bytes) {
            let module = methodDescInfo(md)?.type.module?.metadata
            params = "(" + signature.parameters.map { signatureTypeName($0, module) }.joined(separator: ", ") + ")"
        }
        return owner + "." + name + params
    }

    /// A parameter type as SOS prints it in a method name: metadata's signature style, with a runtime TypeHandle
    /// named from its own module's metadata.
    func signatureTypeName(_ t: TypeSignature, _ module: MetadataReader?, depth: Int = 0) -> String {
        guard depth < 16 else { return "<type>" }
        switch t {
        case .runtimeHandle(let h):
            guard let type = typeForHandle(h) else { return "<TypeHandle \(Hex16.s(h))>" }
            if let m = type.module?.metadata, !type.isArray, type.genericsKind == 0, type.token & 0xFFFFFF != 0,
               let text = try? m.format(.named(MetadataToken(rawValue: type.token), isValueType: type.isValueType), style: .signature) {
                return text
            }
            return type.name
        case .szArray(let e): return signatureTypeName(e, module, depth: depth + 1) + "[]"
        case .byRef(let e): return signatureTypeName(e, module, depth: depth + 1) + " ByRef"
        case .pointer(let e): return signatureTypeName(e, module, depth: depth + 1) + "*"
        case .modified(let e, _, _), .pinned(let e): return signatureTypeName(e, module, depth: depth + 1)
        default:
            if case .primitive(let p) = t { return p == .string || p == .object ? "System." + p.systemName : p.systemName }
            return module.flatMap { try? $0.format(t, style: .signature) } ?? "<type>"
        }
    }
}
