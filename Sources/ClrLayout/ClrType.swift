import DumpModel
import Metadata

/// CorElementType values the field and array code needs.
public enum CorElementType: UInt8, Sendable {
    case end = 0, void = 1, boolean = 2, char = 3, i1 = 4, u1 = 5, i2 = 6, u2 = 7, i4 = 8, u4 = 9, i8 = 0xa, u8 = 0xb
    case r4 = 0xc, r8 = 0xd, string = 0xe, ptr = 0xf, byref = 0x10, valueType = 0x11, `class` = 0x12, `var` = 0x13
    case array = 0x14, genericInst = 0x15, typedByRef = 0x16, i = 0x18, u = 0x19, fnptr = 0x1b, object = 0x1c, szArray = 0x1d

    public var isReference: Bool { [.class, .string, .object, .szArray, .array, .var, .genericInst].contains(self) }
    public var isPrimitive: Bool { size != nil && self != .valueType }

    /// Bytes an instance field of this type takes (nil for value types of other sizes).
    public var size: Int? {
        switch self {
        case .boolean, .i1, .u1: return 1
        case .char, .i2, .u2: return 2
        case .i4, .u4, .r4: return 4
        case .i8, .u8, .r8, .i, .u, .ptr, .fnptr: return 8
        default: return nil
        }
    }

    /// The CoreLib type SOS names for a primitive.
    public var systemTypeName: String? {
        switch self {
        case .boolean: return "System.Boolean"
        case .char: return "System.Char"
        case .i1: return "System.SByte"
        case .u1: return "System.Byte"
        case .i2: return "System.Int16"
        case .u2: return "System.UInt16"
        case .i4: return "System.Int32"
        case .u4: return "System.UInt32"
        case .i8: return "System.Int64"
        case .u8: return "System.UInt64"
        case .r4: return "System.Single"
        case .r8: return "System.Double"
        case .i: return "System.IntPtr"
        case .u: return "System.UIntPtr"
        default: return nil
        }
    }

    /// SOS's element-type word (`!DumpArray`'s "Type").
    public var sosName: String {
        switch self {
        case .boolean: return "Boolean"
        case .char: return "Char"
        case .i1: return "SByte"
        case .u1: return "Byte"
        case .i2: return "Int16"
        case .u2: return "UInt16"
        case .i4: return "Int32"
        case .u4: return "UInt32"
        case .i8: return "Int64"
        case .u8: return "UInt64"
        case .r4: return "Single"
        case .r8: return "Double"
        case .i: return "IntPtr"
        case .u: return "UIntPtr"
        case .valueType: return "VALUETYPE"
        case .ptr: return "PTR"
        case .fnptr: return "FNPTR"
        default: return "CLASS"
        }
    }
}

/// A field of a type, decoded from its FieldDesc, named from metadata.
public struct ClrField: Sendable {
    public let fieldDesc: UInt64
    /// The MethodTable the FieldDesc belongs to (the canonical one for generics).
    public let enclosingMT: UInt64
    public let token: UInt32
    /// Offset from the end of the MethodTable pointer (instance) or within the statics block (static).
    public let offset: UInt32
    public let elementType: CorElementType?
    public let rawElementType: UInt8
    public let isStatic: Bool
    public let isThreadLocal: Bool
    public let isRVA: Bool
    public let name: String
    /// The declared type's name from metadata (`System.String`), or "" when unknown.
    public let typeName: String
    /// The declared type's token when it is a class or struct (TypeDef/TypeRef/TypeSpec), for finding its MT.
    public let typeToken: MetadataToken?
    /// The declared type as the field's signature states it (nil when the metadata was not readable).
    public let signature: TypeSignature?
    public var isValueType: Bool { elementType == .valueType || (elementType?.isPrimitive ?? false) }
}

/// A managed type, decoded from its MethodTable.
public final class ClrType: @unchecked Sendable {
    // @unchecked: built once by the runtime, lazily completed on the session thread.
    public let methodTable: UInt64
    public let flags: UInt32
    public let flags2: UInt16
    public let baseSize: UInt32
    public let typeDefRid: UInt16
    public let numVirtuals: UInt16
    public let numInterfaces: UInt16
    public let parentMT: UInt64
    public let loaderModule: UInt64
    public let canonicalMT: UInt64
    public let eeClass: UInt64
    /// PerInstInfo for generics, the element TypeHandle for arrays.
    public let slot1: UInt64
    public let isFree: Bool
    unowned let runtime: ClrRuntime

    public var componentSize: UInt32 { flags & runtime.layout.flagHasComponentSize != 0 ? flags & 0xFFFF : 0 }
    public var hasComponentSize: Bool { flags & runtime.layout.flagHasComponentSize != 0 }
    public var isArray: Bool { flags & runtime.layout.flagArrayMask == runtime.layout.flagArray }
    public var isSzArray: Bool { isArray && flags & runtime.layout.flagSzArray != 0 }
    public var isString: Bool { methodTable == runtime.stringMT }
    public var isValueType: Bool { flags & runtime.layout.flagValueTypeMask == runtime.layout.flagValueType }
    public var containsPointers: Bool { flags & runtime.layout.flagContainsPointers != 0 }
    public var genericsKind: UInt32 { hasComponentSize ? 0 : flags & runtime.layout.flagGenericsMask }
    public var rank: Int { isSzArray ? 1 : max(1, (Int(baseSize) - 0x18) / 8) }
    public var token: UInt32 { 0x0200_0000 | UInt32(typeDefRid) }

    init(runtime: ClrRuntime, mt: UInt64, raw: [UInt8], eeClass: UInt64, canonicalMT: UInt64, isFree: Bool) {
        self.runtime = runtime
        methodTable = mt
        func u16(_ o: Int) -> UInt16 { UInt16(raw[o]) | UInt16(raw[o + 1]) << 8 }
        func u32(_ o: Int) -> UInt32 { UInt32(u16(o)) | UInt32(u16(o + 2)) << 16 }
        func u64(_ o: Int) -> UInt64 { UInt64(u32(o)) | UInt64(u32(o + 4)) << 32 }
        let l = runtime.layout
        flags = u32(Int(l.mtFlags))
        baseSize = u32(Int(l.mtBaseSize))
        flags2 = u16(Int(l.mtFlags2))
        typeDefRid = u16(Int(l.mtToken))
        numVirtuals = u16(Int(l.mtNumVirtuals))
        numInterfaces = u16(Int(l.mtNumInterfaces))
        parentMT = u64(Int(l.mtParent))
        loaderModule = u64(Int(l.mtLoaderModule))
        slot1 = u64(Int(l.mtPerInstOrElement))
        self.eeClass = eeClass
        self.canonicalMT = canonicalMT
        self.isFree = isFree
    }

    /// The module that defines the type (MethodTable::GetModule).
    public lazy var module: ClrModule? = {
        let l = runtime.layout
        if l.mtModuleIsDirect || flags & (l.flagHasComponentSize | l.flagGenericsMask) == 0 { return runtime.module(at: loaderModule) }
        let owner: ClrType? = isArray ? self : (canonicalMT == methodTable ? self : runtime.type(canonicalMT))
        guard let owner else { return nil }
        guard let slot = runtime.multipurposeSlotAddress(owner, flag: l.flag2HasModuleOverride) else {
            return runtime.module(at: owner.loaderModule)
        }
        return runtime.target.u64(slot).flatMap { runtime.module(at: $0) }
    }()

    public var parent: ClrType? { parentMT == 0 ? nil : runtime.type(parentMT) }

    /// The element TypeHandle of an array.
    public var elementTypeHandle: UInt64? { isArray ? slot1 : nil }
    public var elementType: ClrType? { elementTypeHandle.flatMap { runtime.typeForHandle($0) } }

    /// CorElementType of the array's elements, from the element type's EEClass.
    public var arrayElementKind: CorElementType {
        guard let e = elementType else { return .class }
        if e.isValueType, let et = runtime.target.u8(e.eeClass &+ runtime.layout.eeNormType),
           let k = CorElementType(rawValue: et) { return k }
        return e.isValueType ? .valueType : .class
    }

    /// The runtime's name for the type (as SOS prints it), or `<invalid>`-style text on damaged data.
    public lazy var name: String = runtime.typeName(self, depth: 0)

    /// The generic arguments (TypeHandles), from the last dictionary of PerInstInfo.
    public var genericArguments: [UInt64] {
        guard genericsKind != 0, flags2 & runtime.layout.flag2HasPerInstInfo != 0, slot1 != 0 else { return [] }
        let t = runtime.target
        guard let counts = t.u32(slot1 - 4) else { return [] }
        let numDicts = UInt64(counts & 0xFFFF), numTyPars = Int(counts >> 16)
        guard numDicts > 0, numDicts < 64, numTyPars > 0, numTyPars < 64, let dict = t.u64(slot1 &+ 8 * (numDicts - 1)) else { return [] }
        var out: [UInt64] = []
        for i in 0..<numTyPars {
            guard let th = t.u64(dict &+ UInt64(i) * 8) else { return [] }
            out.append(th)
        }
        return out
    }

    // MARK: EEClass counts

    func eeClassCounts() -> [UInt32]? {
        let l = runtime.layout, t = runtime.target
        guard eeClass != 0, let fixed = t.u8(eeClass &+ l.eeFixedFieldsSize), let packed = t.u8(eeClass &+ l.eeFieldsArePacked) else { return nil }
        let at = eeClass + UInt64(fixed)
        if packed == 0 {
            var out: [UInt32] = []
            for i in 0..<l.packedFieldCount {
                guard let v = t.u32(at &+ UInt64(i) * 4) else { return nil }
                out.append(v)
            }
            return out
        }
        // Packed: a bit stream, per field 5 bits (length-1) then the value, LSB first in each DWORD.
        var words: [UInt32] = []
        for i in 0..<(l.packedFieldCount + 1) { words.append(t.u32(at &+ UInt64(i) * 4) ?? 0) }
        var bit = 0
        func bits(_ n: Int) -> UInt32 {
            var v: UInt32 = 0
            for i in 0..<n {
                let b = bit + i
                guard b / 32 < words.count else { return v }
                v |= ((words[b / 32] >> UInt32(b % 32)) & 1) << UInt32(i)
            }
            bit += n
            return v
        }
        var out: [UInt32] = []
        for _ in 0..<l.packedFieldCount {
            let len = Int(bits(5)) + 1
            out.append(bits(len))
        }
        return out
    }

    public var numInstanceFields: Int { Int(eeClassCounts()?[runtime.layout.packedNumInstanceFields] ?? 0) }
    public var numStaticFields: Int { Int(eeClassCounts()?[runtime.layout.packedNumStaticFields] ?? 0) }
    public var numMethods: Int { Int(eeClassCounts()?[runtime.layout.packedNumMethods] ?? 0) }

    /// Fields this class introduces (instance, then static), in FieldDesc order.
    public lazy var introducedFields: [ClrField] = runtime.introducedFields(of: self)

    /// Every instance field, base class first, as `!do` lists them, then this class's statics.
    public lazy var allFields: [ClrField] = {
        var chain: [ClrType] = []
        var cur: ClrType? = self
        var seen: Set<UInt64> = []
        while let c = cur, chain.count < 64, seen.insert(c.methodTable).inserted {
            chain.append(c)
            cur = c.parent
        }
        // SOS's order: each class from the base down, its fields in FieldDesc order (instance, then statics).
        var out: [ClrField] = []
        for c in chain.reversed() { out += c.introducedFields }
        return out
    }()

    public var instanceFields: [ClrField] { allFields.filter { !$0.isStatic } }
    public var staticFields: [ClrField] { allFields.filter { $0.isStatic } }

    public func field(named n: String) -> ClrField? { instanceFields.first { $0.name == n } }

    /// Size of an instance at `object` (SOS's count: at least the minimum object size).
    public func objectSize(_ object: UInt64) -> UInt64? {
        var size = UInt64(baseSize)
        if hasComponentSize {
            guard let n = runtime.target.u32(object &+ runtime.layout.arrayLength) else { return nil }
            size += UInt64(componentSize) * UInt64(n)
        }
        return max(size, runtime.layout.minObjectSize)
    }
}

extension ClrRuntime {
    /// The type for a MethodTable, or nil when the bytes there are not a plausible MethodTable.
    public func type(_ mt: UInt64) -> ClrType? {
        if let t = typeCache[mt] { return t }
        if badTypes.contains(mt) { return nil }
        let t = decodeType(mt)
        if let t { typeCache[mt] = t } else { badTypes.insert(mt) }
        return t
    }

    private func decodeType(_ mt: UInt64) -> ClrType? {
        let l = layout
        guard mt != 0, mt & 7 == 0, let raw = target.read(mt, count: Int(l.mtSize)) else { return nil }
        func u32(_ o: UInt64) -> UInt32 { raw.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: Int(o), as: UInt32.self) } }
        func u64(_ o: UInt64) -> UInt64 { raw.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: Int(o), as: UInt64.self) } }
        let baseSize = u32(l.mtBaseSize)
        let isInterface = u32(l.mtFlags) & l.flagCategoryMask == l.flagInterface
        guard baseSize >= 0x10 || (isInterface && baseSize == 0), baseSize < 0x1000_0000 else { return nil }
        if mt == freeMT {
            return ClrType(runtime: self, mt: mt, raw: raw, eeClass: 0, canonicalMT: mt, isFree: true)
        }
        let union = u64(l.mtEEClassOrCanon)
        var eeClass: UInt64, canon: UInt64
        switch union & l.mtCanonTagMask {
        case 0: eeClass = union; canon = mt
        case l.mtCanonTag:
            canon = union & ~l.mtCanonTagMask
            guard let e = target.u64(canon &+ l.mtEEClassOrCanon), e & l.mtCanonTagMask == 0 else { return nil }
            eeClass = e
        default: return nil
        }
        // The EEClass points back at the canonical MethodTable: the check SOS's IsMethodTable makes.
        guard eeClass != 0, eeClass & 7 == 0, let back = target.u64(eeClass &+ l.eeMethodTable), back == canon else { return nil }
        return ClrType(runtime: self, mt: mt, raw: raw, eeClass: eeClass, canonicalMT: canon, isFree: false)
    }

    /// A TypeHandle (MethodTable, or TypeDesc when bit 1 is set) to a type; array TypeDescs resolve to their MT.
    public func typeForHandle(_ th: UInt64) -> ClrType? {
        if th & 2 == 0 { return type(th) }
        let td = th & ~3
        guard let tf = target.u32(td) else { return nil }
        let et = UInt8(tf & 0xFF)
        if et == CorElementType.array.rawValue || et == CorElementType.szArray.rawValue,
           let mt = target.u64(td &+ layout.typeDescTemplateMT) { return type(mt) }
        return nil
    }

    /// The declared name of a generic variable's TypeVarTypeDesc (`TResult`), from its module's GenericParam
    /// table; nil for other handles. The runtime's TypeString prints such an argument bare, with no brackets
    /// and no assembly: `System.Threading.Tasks.Task`1[TResult]`.
    func genericVariableName(_ th: UInt64) -> String? {
        guard th & 2 != 0, let flags = target.u32(th & ~3) else { return nil }
        let et = flags & 0xFF
        guard et == UInt32(CorElementType.var.rawValue) || et == 0x1e else { return nil }
        let td = th & ~3, l = layout
        guard let moduleAddress = target.u64(td &+ l.typeVarModule), let token = target.u32(td &+ l.typeVarToken),
              token >> 24 == 0x2a, let md = module(at: moduleAddress)?.metadata,
              let name = try? md.genericParameterName(row: Int(token & 0xFF_FFFF)) else { return nil }
        return name
    }

    func nameForHandle(_ th: UInt64, depth: Int) -> String {
        if let name = genericVariableName(th) { return name }
        if th & 2 != 0, typeForHandle(th) == nil {
            let et = target.u32(th & ~3).map { String($0 & 0xFF, radix: 16) } ?? "?"
            return "<TypeDesc \(Hex16.s(th)) et 0x\(et)>"
        }
        guard let t = typeForHandle(th) else { return "<invalid type \(Hex16.s(th))>" }
        return typeName(t, depth: depth + 1)
    }

    func typeName(_ t: ClrType, depth: Int) -> String {
        guard depth < 16 else { return "<nesting too deep>" }
        if t.isFree { return "Free" }
        if t.isArray {
            let element = t.elementTypeHandle.map { nameForHandle($0, depth: depth) } ?? "<invalid>"
            return element + (t.isSzArray ? "[]" : "[" + String(repeating: ",", count: max(0, t.rank - 1)) + "]")
        }
        guard let m = t.module else { return "<unknown module for MT \(Hex16.s(t.methodTable))>" }
        guard let md = m.metadata else { return "<\(m.problem ?? "no metadata") (token 0x\(String(t.token, radix: 16)))>" }
        var name: String
        do { name = try md.fullName(ofTypeDef: Int(t.typeDefRid)) } catch {
            return "<invalid token 0x\(String(t.token, radix: 16)) in \(m.fileName)>"
        }
        let args = t.genericArguments
        // The typical instantiation (`ImmutableArray<T>` over its own parameter) is the generic definition, which
        // TypeString names without arguments (MethodTable GenericsMask 0x30, TypicalInst).
        if !args.isEmpty, t.genericsKind != 0x30 {
            name += "[" + args.map { a in
                genericVariableName(a) ?? "[" + nameForHandle(a, depth: depth) + ", " + assemblyLabel(a, depth: depth) + "]"
            }.joined(separator: ",") + "]"
        }
        return name
    }

    func assemblyLabel(_ th: UInt64, depth: Int) -> String {
        guard depth < 16, let t = typeForHandle(th) else { return "?" }
        if t.isArray, let e = t.elementTypeHandle { return assemblyLabel(e, depth: depth + 1) }
        return t.module?.simpleName ?? "?"
    }

    func introducedFields(of t: ClrType) -> [ClrField] {
        guard !t.isFree, let counts = t.eeClassCounts() else { return [] }
        let l = layout
        var nInst = Int(counts[l.packedNumInstanceFields])
        if let p = t.parent, let pc = p.eeClassCounts() { nInst -= Int(pc[l.packedNumInstanceFields]) }
        let n = max(0, nInst) + Int(counts[l.packedNumStaticFields])
        guard n > 0, n < 10_000, let list = target.u64(t.eeClass &+ l.eeFieldDescList), list != 0 else { return [] }
        var out: [ClrField] = []
        for i in 0..<n {
            let fd = list + UInt64(i) * l.fieldDescSize
            guard let enclosing = target.u64(fd &+ l.fieldDescEnclosingMT), let dw1 = target.u32(fd &+ l.fieldDescWord1),
                  let dw2 = target.u32(fd &+ l.fieldDescWord2) else { break }
            func bit(_ n: UInt32) -> Bool { (dw1 >> n) & 1 == 1 }
            let mb = dw1 & l.fdMemberDefMask
            let rid = bit(l.fdRequiresFullMemberDefBit) ? mb : mb & l.fdShortMemberDefMask
            let token = 0x0400_0000 | rid
            let raw = UInt8(truncatingIfNeeded: dw2 >> l.fdTypeShift)
            var name = "<field 0x\(String(token, radix: 16))>"
            var typeName = ""
            var typeToken: MetadataToken?
            var signature: TypeSignature?
            let owner = enclosing == t.methodTable ? t : type(enclosing)
            if let md = owner?.module?.metadata, let info = try? md.fieldInfo(MetadataToken(rawValue: token)) {
                name = info.name
                typeName = info.typeName
                signature = info.type.unmodified
                var sig = info.type.unmodified
                if case .genericInstance(let g, _) = sig { sig = g }
                if case .named(let tok, _) = sig { typeToken = tok }
            }
            out.append(ClrField(fieldDesc: fd, enclosingMT: enclosing, token: token, offset: dw2 & l.fdOffsetMask,
                                elementType: CorElementType(rawValue: raw), rawElementType: raw,
                                isStatic: bit(l.fdStaticBit), isThreadLocal: bit(l.fdThreadLocalBit), isRVA: bit(l.fdRVABit),
                                name: name, typeName: typeName, typeToken: typeToken, signature: signature))
        }
        return out
    }

    /// The loaded MethodTable of a field's declared type, when the runtime has loaded it (SOS's MT column):
    /// the signature read in the context of the enclosing type's instantiation (`!0` is its first generic
    /// argument), and arrays and generic instantiations matched against the types the runtime has built.
    public func fieldTypeMT(_ f: ClrField) -> UInt64 {
        if let sig = f.signature, let owner = type(f.enclosingMT), let m = owner.module {
            return resolveType(sig, context: owner.genericArguments, module: m, depth: 0).flatMap { typeForHandle($0)?.methodTable } ?? 0
        }
        if let et = f.elementType, let n = et.systemTypeName { return methodTable(named: n) ?? 0 }
        guard let tok = f.typeToken, let owner = type(f.enclosingMT), let m = owner.module, let md = m.metadata else {
            // System.String / System.Object and other token-less types: by name.
            if !f.typeName.isEmpty, !f.typeName.contains("[") { return methodTable(named: f.typeName) ?? 0 }
            return 0
        }
        switch tok.table {
        case .typeDef?: return methodTable(module: m, typeDefRow: tok.row) ?? 0
        case .typeRef?:
            guard let n = try? md.fullName(ofTypeRef: tok.row) else { return 0 }
            return methodTable(named: n) ?? 0
        default: return 0
        }
    }
}

extension ClrRuntime {
    /// The Type column SOS prints for a field (util.cpp DisplayFields over the DAC's GetFieldDescData): the
    /// loaded type's own name when the FieldDesc holds a class or struct whose MethodTable is known; else the
    /// name of the class token the signature names; else the element type's name. That last case is the
    /// FieldDesc's type, or the signature's when the signature names no token and no MethodTable is known,
    /// so an unloaded array prints "SZARRAY" and an unloaded generic instance prints nothing (SOS's table has
    /// no name for GENERICINST). Enum fields print their underlying primitive, which is what the FieldDesc holds.
    public func fieldTypeColumnName(_ f: ClrField, typeMT mt: UInt64) -> String {
        let fdType = f.rawElementType
        let isClassOrStruct = fdType == CorElementType.class.rawValue || fdType == CorElementType.valueType.rawValue
        if mt != 0, isClassOrStruct, let t = type(mt) { return t.name }
        var sig = f.signature
        while case .modified(let inner, _, _)? = sig { sig = inner }
        if fdType == CorElementType.class.rawValue, case .named(let token, _)? = sig, let md = type(f.enclosingMT)?.module?.metadata {
            // SOS reads the token's row as a TypeDef even when it is a TypeRef; the name the token really has is printed here.
            switch token.table {
            case .typeDef?: if let n = try? md.fullName(ofTypeDef: token.row) { return n }
            case .typeRef?: if let n = try? md.fullName(ofTypeRef: token.row) { return n }
            default: break
            }
        }
        var shown = fdType
        if mt == 0, let sig, let sigType = Self.elementType(of: sig), sigType != CorElementType.class.rawValue,
           sigType != CorElementType.valueType.rawValue { shown = sigType }
        return Self.composedName(shown)
    }

    /// The first element type of a signature, as the runtime's SigParser reads it.
    static func elementType(of sig: TypeSignature) -> UInt8? {
        switch sig {
        case .primitive(let p): return p.rawValue
        case .named(_, let isValueType): return isValueType ? CorElementType.valueType.rawValue : CorElementType.class.rawValue
        case .szArray: return CorElementType.szArray.rawValue
        case .array: return CorElementType.array.rawValue
        case .genericInstance: return CorElementType.genericInst.rawValue
        case .typeParameter: return CorElementType.var.rawValue
        case .methodParameter: return 0x1e
        case .pointer: return CorElementType.ptr.rawValue
        case .byRef: return CorElementType.byref.rawValue
        case .functionPointer: return CorElementType.fnptr.rawValue
        case .modified(let inner, _, _), .pinned(let inner): return elementType(of: inner)
        case .runtimeHandle: return 0x21
        }
    }

    /// SOS's ComposeName: "System.Int32" for primitives (cortypeinfo.h), its own words for the others, "" where
    /// neither names the element type.
    static func composedName(_ et: UInt8) -> String {
        if let e = CorElementType(rawValue: et), let n = e.systemTypeName { return n }
        switch et {
        case 0x01: return "System.Void"
        case 0x0e: return "System.String"
        case 0x16: return "System.TypedReference"
        case 0x1c: return "System.Object"
        case 0x0f: return "PTR"
        case 0x10: return "BYREF"
        case 0x11: return "VALUETYPE"
        case 0x12: return "CLASS"
        case 0x13: return "VAR"
        case 0x14: return "ARRAY"
        case 0x1b: return "FNPTR"
        case 0x1d: return "SZARRAY"
        case 0x1e: return "MVAR"
        default: return ""
        }
    }

    /// The TypeHandle of the type `sig` names, read in `module` with `context` as the enclosing type's generic
    /// arguments; nil when the runtime has not built that type (arrays and instantiations are only found among
    /// the types the runtime has built, never made up).
    func resolveType(_ sig: TypeSignature, context: [UInt64], module: ClrModule, depth: Int) -> UInt64? {
        guard depth < 16 else { return nil }
        switch sig {
        case .primitive(let p):
            return methodTable(named: "System." + p.systemName)
        case .named(let token, _):
            guard let md = module.metadata else { return nil }
            switch token.table {
            case .typeDef?: return methodTable(module: module, typeDefRow: token.row)
            case .typeRef?: return (try? md.fullName(ofTypeRef: token.row)).flatMap { methodTable(named: $0) }
            default: return nil
            }
        case .typeParameter(let i):
            return i < context.count ? context[i] : nil
        // 3.1 names an array by a TypeDesc where 8.0 uses its MethodTable (an element type `Byte[]` of `Byte[][]`,
        // a generic argument `Byte[][]`): handles are compared by the MethodTable they stand for.
        case .szArray(let element):
            guard let e = resolveType(element, context: context, module: module, depth: depth + 1).map(sameType) else { return nil }
            return builtTypes().first { $0.isSzArray && $0.elementTypeHandle.map(sameType) == e }?.methodTable
        case .array(let element, let rank):
            guard let e = resolveType(element, context: context, module: module, depth: depth + 1).map(sameType) else { return nil }
            return builtTypes().first { $0.isArray && !$0.isSzArray && $0.rank == rank && $0.elementTypeHandle.map(sameType) == e }?.methodTable
        case .genericInstance(let definition, let arguments):
            guard let defMT = resolveType(definition, context: context, module: module, depth: depth + 1),
                  let def = type(defMT), let defModule = def.module else { return nil }
            var args: [UInt64] = []
            for a in arguments {
                guard let h = resolveType(a, context: context, module: module, depth: depth + 1) else { return nil }
                args.append(sameType(h))
            }
            return builtTypes().first {
                $0.typeDefRid == def.typeDefRid && $0.module === defModule && !$0.isArray && $0.genericArguments.map(sameType) == args
            }?.methodTable
        default:
            return nil
        }
    }

    /// A TypeHandle reduced to the MethodTable it stands for (an array TypeDesc's template), else itself.
    func sameType(_ th: UInt64) -> UInt64 {
        th & 2 == 0 ? th : typeForHandle(th)?.methodTable ?? th
    }

    /// The types the runtime has built that dumpdbg can reach: every type on the heap and every constructed
    /// type in the modules' tables, with their parents, interfaces, generic arguments and element types
    /// (found once, by a heap walk and a walk of the tables).
    func builtTypes() -> [ClrType] {
        if let builtTypesCache { return builtTypesCache }
        var pending = constructedTypeHandles().reversed() + Array(heapMethodTables())
        var seen: Set<UInt64> = []
        var out: [ClrType] = []
        while let th = pending.popLast(), out.count < 200_000 {
            guard seen.insert(th).inserted, let t = typeForHandle(th) else { continue }
            out.append(t)
            if t.parentMT != 0 { pending.append(t.parentMT) }
            if let e = t.elementTypeHandle { pending.append(e) }
            pending += t.genericArguments
            pending += t.interfaceMethodTables
        }
        builtTypesCache = out
        return out
    }

    /// The MethodTables of the objects on the heap, found by one walk and kept (`allModules` and
    /// `builtTypes` both start from them).
    func heapMethodTables() -> Set<UInt64> {
        if let heapMethodTablesCache { return heapMethodTablesCache }
        var mts: Set<UInt64> = []
        if let h = try? heap() { h.enumerateObjects { o in mts.insert(o.methodTable); return true } }
        heapMethodTablesCache = mts
        return mts
    }
}

extension ClrType {
    /// The MethodTables of the interfaces in the type's interface map.
    public var interfaceMethodTables: [UInt64] {
        let l = runtime.layout, t = runtime.target
        guard numInterfaces > 0, let map = t.u64(methodTable &+ l.mtInterfaceMap), map != 0 else { return [] }
        var out: [UInt64] = []
        for i in 0..<UInt64(numInterfaces) {
            guard let mt = t.u64(map &+ i &* l.interfaceEntrySize), mt != 0 else { break }
            out.append(mt)
        }
        return out
    }
}
