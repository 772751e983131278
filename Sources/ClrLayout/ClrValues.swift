import DumpModel
import Metadata

/// A field's value as the runtime stores it, typed by the field's element type; commands only format it.
public enum ClrValue: Sendable, Equatable {
    /// The stored byte (SOS prints it as a number; anything but 0 is true).
    case boolean(UInt8)
    case char(UInt16)
    /// Signed integers (SByte ... Int64), widened.
    case signed(Int64)
    /// Unsigned integers (Byte ... UInt64), widened.
    case unsigned(UInt64)
    case single(Float)
    case double(Double)
    /// Native-sized integers and pointers (IntPtr, UIntPtr, T*, function pointers).
    case nativeInt(UInt64)
    /// An object reference (0 for null).
    case reference(UInt64)
    /// A struct stored inline at this address.
    case inlineStruct(UInt64)
    /// A static struct: the boxed object that holds it.
    case boxedStruct(UInt64)
    /// The field's bytes are not in the dump, or its type is unknown.
    case unreadable
}

extension ClrRuntime {
    /// The value of `field` stored at `address` (an instance field's slot, a struct's bytes, or a static's storage).
    public func value(of field: ClrField, at address: UInt64) -> ClrValue {
        let t = target
        guard let et = field.elementType else { return .unreadable }
        func or(_ v: ClrValue?) -> ClrValue { v ?? .unreadable }
        switch et {
        case .valueType:
            if field.isStatic { return or(t.u64(address).map { .boxedStruct($0) }) }
            return .inlineStruct(address)
        case .boolean: return or(t.u8(address).map { .boolean($0) })
        case .u1: return or(t.u8(address).map { .unsigned(UInt64($0)) })
        case .i1: return or(t.u8(address).map { .signed(Int64(Int8(bitPattern: $0))) })
        case .char: return or(t.u16(address).map { .char($0) })
        case .u2: return or(t.u16(address).map { .unsigned(UInt64($0)) })
        case .i2: return or(t.u16(address).map { .signed(Int64(Int16(bitPattern: $0))) })
        case .i4: return or(t.u32(address).map { .signed(Int64(Int32(bitPattern: $0))) })
        case .u4: return or(t.u32(address).map { .unsigned(UInt64($0)) })
        case .i8: return or(t.u64(address).map { .signed(Int64(bitPattern: $0)) })
        case .u8: return or(t.u64(address).map { .unsigned($0) })
        case .r4: return or(t.u32(address).map { .single(Float(bitPattern: $0)) })
        case .r8: return or(t.u64(address).map { .double(Double(bitPattern: $0)) })
        case .i, .u, .ptr, .fnptr: return or(t.u64(address).map { .nativeInt($0) })
        default: return or(t.u64(address).map { .reference($0) })
        }
    }

    /// Where an instance field of the object at `object` is stored.
    public func instanceFieldAddress(_ object: UInt64, _ field: ClrField) -> UInt64 {
        object &+ layout.objectFieldsOffset &+ UInt64(field.offset)
    }

    /// The value of the instance field `name` of the object at `object` (searching base classes too).
    public func fieldValue(_ object: UInt64, named name: String) -> ClrValue? {
        guard let t = objectType(object), let f = t.field(named: name) else { return nil }
        return value(of: f, at: instanceFieldAddress(object, f))
    }

    /// True when `t` is System.Exception or derives from it (bounded, for damaged parent chains).
    public func isException(_ t: ClrType) -> Bool {
        var cur: ClrType? = t
        var depth = 0
        while let c = cur, depth < 64 {
            if c.methodTable == exceptionMT { return true }
            cur = c.parent
            depth += 1
        }
        return false
    }

    /// The element count of the array at `object`.
    public func arrayLength(_ object: UInt64) -> UInt64? {
        target.u32(object &+ layout.arrayLength).map(UInt64.init)
    }

    /// Where element 0 of the array at `object` (of array type `t`) is stored.
    public func arrayData(_ object: UInt64, _ t: ClrType) -> UInt64 {
        // Multi-dimensional arrays keep a length and a lower bound (4 bytes each) per dimension first.
        object &+ layout.szArrayData &+ (t.isSzArray ? 0 : 8 &* UInt64(t.rank))
    }

    /// The type an EEClass describes: the EEClass points at its canonical MethodTable, which must point back.
    public func type(forEEClass ee: UInt64) -> ClrType? {
        guard ee != 0, ee & 7 == 0, let mt = target.u64(ee &+ layout.eeMethodTable), let t = type(mt), t.eeClass == ee else { return nil }
        return t
    }

    /// The entry point, native code and SOS's JIT state of a loaded method of `t` (`!Name2EE`'s method rows).
    public func codeState(of d: ClrMethodDesc, in t: ClrType?) -> (entry: UInt64?, code: UInt64, jit: ClrJitState) {
        let entry: UInt64?
        if let t, Int(d.slot) < numVtableSlots(t) { entry = methodTableSlot(t, Int(d.slot)) } else { entry = nonVtableEntry(d) }
        let code = nativeCode(d, entry: entry) ?? 0
        return (entry, code, methodJitState(entry: entry, md: d))
    }
}

extension ClrType {
    /// Statics kept in a per-type dynamic block rather than the module's (MethodTable flags).
    public var hasDynamicStatics: Bool { !hasComponentSize && flags & runtime.layout.flagStaticsMask != 0 }
    /// The EEClass's TypeAttributes (ECMA-335 II.23.1.15).
    public var classAttributes: UInt32? { runtime.target.u32(eeClass &+ runtime.layout.eeAttrClass) }
}

/// One of a Module's LookupMaps (token -> runtime structure), as `!DumpModule` lists them.
public struct ClrLookupMap: Sendable {
    public let name: String
    /// The map's table, or nil when the map's count does not match its metadata table (then the offset
    /// is not trusted and SOS's column says "not known").
    public let table: UInt64?
}

extension ClrRuntime {
    /// The Module's Assembly, PEFile and module index, as `!DumpModule` shows them.
    public func moduleFields(_ m: ClrModule) -> (assembly: UInt64?, peFile: UInt64?, index: UInt64?) {
        let l = layout
        return (target.u64(m.address &+ l.moduleAssembly), target.u64(m.address &+ l.moduleFile), target.u64(m.address &+ l.moduleIndex))
    }

    /// The LookupMaps follow one another from TypeDefToMethodTableMap; a map is shown only when its count
    /// equals its metadata table's rows + 1, so a wrong offset shows as "not known", never as data.
    public func lookupMaps(_ m: ClrModule) -> [ClrLookupMap] {
        let l = layout
        return l.moduleLookupMaps.map { map in
            let at = m.address &+ map.offset
            var table: UInt64?
            if let md = m.metadata, let count = target.u32(at &+ l.lookupMapCount), Int(count) == md.rowCount(map.table) + 1 {
                table = target.u64(at &+ l.lookupMapTable)
            }
            return ClrLookupMap(name: map.name, table: table)
        }
    }

    /// Where the module's metadata root is in the target: image base + RVA for a mapped layout, + file
    /// offset for a flat one (told apart by the layout's vtable). Nil when not known.
    public func metadataAddress(_ m: ClrModule) -> UInt64? {
        guard m.metadataSize > 0, m.imageBase != 0 else { return nil }
        let offset = m.isFlatLayout ? (m.metadataFileOffset ?? UInt64(m.metadataRVA)) : UInt64(m.metadataRVA)
        return m.imageBase &+ offset
    }
}

/// What a pointer to a supposed object leads to.
public enum ClrObjectLookup: Sendable {
    /// Its first word is not in the dump.
    case notInDump
    /// Its first word is not a valid MethodTable.
    case invalidMethodTable(UInt64)
    case object(ClrType)
}

/// A stack slot that holds a pointer to a valid heap object (`!dso`).
public struct ClrStackObject: Sendable {
    public let slot: UInt64
    public let object: UInt64
    public let type: ClrType
}

extension ClrRuntime {
    /// The object at `address`, or why it is not one.
    public func lookupObject(_ address: UInt64) -> ClrObjectLookup {
        guard let word = memory.readU64(address) else { return .notInDump }
        guard let t = type(word & ~7) else { return .invalidMethodTable(word & ~7) }
        return .object(t)
    }

    /// Element `index` of the array at `object` (its type `t`): a reference for arrays of classes, the
    /// element's address for arrays of structs and primitives.
    public func arrayElement(_ object: UInt64, _ t: ClrType, index: UInt64) -> ClrValue {
        let at = arrayData(object, t) &+ index &* UInt64(t.componentSize)
        guard t.arrayElementKind == .class else { return .inlineStruct(at) }
        return target.u64(at).map { .reference($0) } ?? .unreadable
    }

    /// The pointer-aligned slots in [top, bottom) of a stack the dump holds (at most `limit` bytes, within the
    /// memory range that holds `top`) that point at valid heap objects. `shouldStop` is polled (Ctrl-C).
    public func objectsOnStack(top: UInt64, bottom: UInt64?, heap: ClrHeap, limit: UInt64,
                               shouldStop: () throws -> Void) rethrows -> [ClrStackObject]? {
        let memory = self.memory
        guard let i = memory.rangeIndex(containing: top) else { return nil }
        let range = memory.ranges[i]
        var end = min(range.start &+ range.present, top &+ min(limit, UInt64.max - top))
        if let bottom { end = min(end, bottom) }
        var out: [ClrStackObject] = []
        let aligned = top & ~7
        let first = aligned >= range.start ? aligned : (range.start &+ 7) & ~7
        let words = end > first ? Int(clamping: (end - first) / 8) : 0
        // The scanned stack lies in one present range: borrowed from the mapping once, not searched for per word.
        guard words > 0, let stack = memory.contiguousBytes(first, count: words * 8) else { return out }
        for k in 0..<words {
            if k & 0x3FF == 0 { try shouldStop() }
            let raw = stack.loadUnaligned(fromByteOffset: k * 8, as: UInt64.self)
            let v = memory.bigEndian ? UInt64(bigEndian: raw) : UInt64(littleEndian: raw)
            if v != 0, heap.isValidObject(v), let t = objectType(v) {
                out.append(ClrStackObject(slot: first &+ UInt64(k) * 8, object: v, type: t))
            }
        }
        return out
    }
}

extension ClrRuntime {
    /// SOS's Offset column: instance fields count from the object (after the MethodTable pointer), and so do
    /// statics in the module's statics block (the DAC reports them 8 higher than the FieldDesc's offset);
    /// thread statics and a struct's own fields (`!DumpVC`) show the FieldDesc's offset as it is.
    public func displayedOffset(_ f: ClrField, inValueClass: Bool) -> UInt64 {
        if f.isThreadLocal || (inValueClass && !f.isStatic) { return UInt64(f.offset) }
        return UInt64(f.offset) &+ layout.objectFieldsOffset
    }
}

extension ClrType {
    /// The base size SOS shows: the DAC leaves out a string's terminating character.
    public var displayedBaseSize: UInt32 { isString ? baseSize &- 2 : baseSize }
}
