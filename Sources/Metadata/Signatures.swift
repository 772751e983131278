// Blob signatures (ECMA-335 II.23.2): field, method and type specs decoded into values
// that the name formatter (Names.swift) turns into text.

/// ELEMENT_TYPE_* primitive types that need no token.
public enum PrimitiveType: UInt8, Sendable, CaseIterable {
    case void = 0x01, boolean = 0x02, char = 0x03, int8 = 0x04, uint8 = 0x05, int16 = 0x06,
         uint16 = 0x07, int32 = 0x08, uint32 = 0x09, int64 = 0x0A, uint64 = 0x0B,
         float32 = 0x0C, float64 = 0x0D, string = 0x0E, typedReference = 0x16,
         intPtr = 0x18, uintPtr = 0x19, object = 0x1C

    /// The System type's simple name (`Int32`), which is what SOS prints in signatures.
    public var systemName: String {
        switch self {
        case .void: return "Void"
        case .boolean: return "Boolean"
        case .char: return "Char"
        case .int8: return "SByte"
        case .uint8: return "Byte"
        case .int16: return "Int16"
        case .uint16: return "UInt16"
        case .int32: return "Int32"
        case .uint32: return "UInt32"
        case .int64: return "Int64"
        case .uint64: return "UInt64"
        case .float32: return "Single"
        case .float64: return "Double"
        case .string: return "String"
        case .typedReference: return "TypedReference"
        case .intPtr: return "IntPtr"
        case .uintPtr: return "UIntPtr"
        case .object: return "Object"
        }
    }

    public var isValueType: Bool { self != .string && self != .object }
}

/// A decoded type from a signature.
public indirect enum TypeSignature: Sendable, Equatable {
    case primitive(PrimitiveType)
    /// CLASS or VALUETYPE followed by a TypeDef, TypeRef or TypeSpec token.
    case named(MetadataToken, isValueType: Bool)
    case szArray(TypeSignature)
    /// General array; sizes and lower bounds are decoded but only the rank matters for names.
    case array(TypeSignature, rank: Int)
    case genericInstance(TypeSignature, arguments: [TypeSignature])
    /// `!n`: a type parameter of the enclosing type.
    case typeParameter(Int)
    /// `!!n`: a type parameter of the method.
    case methodParameter(Int)
    case pointer(TypeSignature)
    case byRef(TypeSignature)
    case functionPointer(MethodSignature)
    /// modreq/modopt wrapping a type (kept so nothing is lost; formatters show the inner type).
    case modified(TypeSignature, modifier: MetadataToken, isRequired: Bool)
    case pinned(TypeSignature)
    /// ELEMENT_TYPE_INTERNAL: a runtime TypeHandle (a MethodTable or TypeDesc address) in place of a token. Only
    /// the runtime's own signatures hold one (IL stubs'); metadata never does.
    case runtimeHandle(UInt64)

    /// Whether a field of this type is stored inline (SOS's VT column).
    public var isValueType: Bool {
        switch self {
        case .primitive(let p): return p.isValueType
        case .named(_, let vt): return vt
        case .genericInstance(let g, _): return g.isValueType
        case .pointer, .functionPointer: return true
        case .modified(let t, _, _), .pinned(let t): return t.isValueType
        default: return false
        }
    }

    /// The type with custom modifiers and `pinned` removed.
    public var unmodified: TypeSignature {
        switch self {
        case .modified(let t, _, _), .pinned(let t): return t.unmodified
        default: return self
        }
    }
}

/// A MethodDefSig / MethodRefSig / StandAloneMethodSig.
public struct MethodSignature: Sendable, Equatable {
    /// The first byte: calling convention and HASTHIS/EXPLICITTHIS/GENERIC flags.
    public let callingConvention: UInt8
    public let genericParameterCount: Int
    public let returnType: TypeSignature
    public let parameters: [TypeSignature]
    /// Index into `parameters` where a vararg call site's SENTINEL appeared, if any.
    public let sentinelIndex: Int?

    public var hasThis: Bool { callingConvention & 0x20 != 0 }
    public var isVarArg: Bool { callingConvention & 0x0F == 0x05 }
}

/// Reads one signature blob. Small, single-use, bounded: every read checks the blob end and
/// nesting is capped so a hostile blob cannot recurse without bound.
struct SignatureDecoder {
    let blob: [UInt8]
    var position = 0
    var depth = 0
    /// Runtime-made signatures (a stored-signature MethodDesc's) may hold TypeHandles (64-bit targets).
    var allowsRuntimeHandles = false
    static let maxDepth = 64
    static let maxCount = 0x1_0000 // parameters, generic arguments, array dimensions

    init(_ blob: [UInt8]) { self.blob = blob }

    var atEnd: Bool { position >= blob.count }

    mutating func byte() throws(MetadataError) -> UInt8 {
        guard position < blob.count else {
            throw MetadataError(.badSignature, "signature ends early at byte \(position) of \(blob.count)")
        }
        defer { position += 1 }
        return blob[position]
    }

    mutating func peek() throws(MetadataError) -> UInt8 {
        guard position < blob.count else {
            throw MetadataError(.badSignature, "signature ends early at byte \(position) of \(blob.count)")
        }
        return blob[position]
    }

    mutating func compressed() throws(MetadataError) -> UInt32 {
        let b0 = UInt32(try byte())
        if b0 & 0x80 == 0 { return b0 }
        if b0 & 0xC0 == 0x80 { return (b0 & 0x3F) << 8 | UInt32(try byte()) }
        if b0 & 0xE0 == 0xC0 {
            let b1 = UInt32(try byte()), b2 = UInt32(try byte()), b3 = UInt32(try byte())
            return (b0 & 0x1F) << 24 | b1 << 16 | b2 << 8 | b3
        }
        throw MetadataError(.badSignature, "invalid compressed integer lead byte 0x\(String(b0, radix: 16))")
    }

    /// Signed compressed integer (II.23.2): rotated so the sign is the low bit.
    mutating func compressedSigned() throws(MetadataError) -> Int32 {
        let lead = try peek()
        let raw = try compressed()
        let negative = raw & 1 != 0
        let magnitudeBits: UInt32 = lead & 0x80 == 0 ? 6 : (lead & 0xC0 == 0x80 ? 13 : 28)
        var v = raw >> 1
        if negative { v |= ~UInt32(0) << magnitudeBits }
        return Int32(bitPattern: v)
    }

    mutating func count(_ what: String) throws(MetadataError) -> Int {
        let n = Int(try compressed())
        guard n <= Self.maxCount, n <= blob.count * 8 + 8 else {
            throw MetadataError(.badSignature, "signature claims \(n) \(what)")
        }
        return n
    }

    /// TypeDefOrRefOrSpecEncoded (II.23.2.8).
    mutating func typeToken() throws(MetadataError) -> MetadataToken {
        let v = try compressed()
        let row = Int(v >> 2)
        let table: TableID
        switch v & 3 {
        case 0: table = .typeDef
        case 1: table = .typeRef
        case 2: table = .typeSpec
        default: throw MetadataError(.badSignature, "invalid TypeDefOrRef tag 3 in signature")
        }
        guard row != 0 else { throw MetadataError(.badSignature, "nil type token in signature") }
        return MetadataToken(table, row: row)
    }

    mutating func type() throws(MetadataError) -> TypeSignature {
        depth += 1
        defer { depth -= 1 }
        guard depth <= Self.maxDepth else {
            throw MetadataError(.badSignature, "signature nests deeper than \(Self.maxDepth) levels")
        }
        let b = try byte()
        if let p = PrimitiveType(rawValue: b) { return .primitive(p) }
        switch b {
        case 0x0F: return .pointer(try type())
        case 0x10: return .byRef(try type())
        case 0x11: return .named(try typeToken(), isValueType: true)
        case 0x12: return .named(try typeToken(), isValueType: false)
        case 0x13: return .typeParameter(Int(try compressed()))
        case 0x1E: return .methodParameter(Int(try compressed()))
        case 0x1D: return .szArray(try type())
        case 0x14:
            let element = try type()
            let rank = try count("array dimensions")
            let sizes = try count("array sizes")
            for _ in 0..<sizes { _ = try compressed() }
            let bounds = try count("array lower bounds")
            for _ in 0..<bounds { _ = try compressedSigned() }
            return .array(element, rank: rank)
        case 0x15:
            let generic = try type()
            let n = try count("generic arguments")
            var args: [TypeSignature] = []
            for _ in 0..<n { args.append(try type()) }
            return .genericInstance(generic, arguments: args)
        case 0x1B: return .functionPointer(try method())
        case 0x1F, 0x20:
            let modifier = try typeToken()
            return .modified(try type(), modifier: modifier, isRequired: b == 0x1F)
        case 0x45: return .pinned(try type())
        case 0x21 where allowsRuntimeHandles:
            var handle: UInt64 = 0
            for i in 0..<8 { handle |= UInt64(try byte()) << (8 * UInt64(i)) }
            return .runtimeHandle(handle)
        default:
            throw MetadataError(.badSignature, "unknown element type 0x\(String(b, radix: 16)) at byte \(position - 1)")
        }
    }

    /// MethodDefSig/MethodRefSig (II.23.2.1-3), starting at the calling-convention byte.
    mutating func method() throws(MetadataError) -> MethodSignature {
        let conv = try byte()
        guard conv & 0x0F <= 0x05 else {
            throw MetadataError(.badSignature, "0x\(String(conv, radix: 16)) is not a method calling convention")
        }
        let generic = conv & 0x10 != 0 ? try count("generic parameters") : 0
        let n = try count("parameters")
        let ret = try type()
        var params: [TypeSignature] = []
        var sentinel: Int?
        while params.count < n {
            if try peek() == 0x41 { // SENTINEL: the vararg part of a call site follows
                position += 1
                sentinel = params.count
                continue
            }
            params.append(try type())
        }
        return MethodSignature(callingConvention: conv, genericParameterCount: generic,
                               returnType: ret, parameters: params, sentinelIndex: sentinel)
    }
}

extension MethodSignature {
    /// A method signature the runtime built and stored with a MethodDesc (IL stubs, dynamic methods): metadata's
    /// encoding, plus ELEMENT_TYPE_INTERNAL with an 8-byte TypeHandle.
    public static func decodeRuntimeSignature(_ bytes: [UInt8]) throws(MetadataError) -> MethodSignature {
        var d = SignatureDecoder(bytes)
        d.allowsRuntimeHandles = true
        return try d.method()
    }
}

extension MetadataReader {
    /// The type of a field, from its FieldSig blob (II.23.2.4).
    public func fieldSignature(blob index: UInt32) throws(MetadataError) -> TypeSignature {
        var d = SignatureDecoder(try blob(at: index))
        guard try d.byte() == 0x06 else {
            throw MetadataError(.badSignature, "field signature does not start with FIELD (0x06)")
        }
        return try d.type()
    }

    /// A method's signature from its MethodDefSig/MethodRefSig blob.
    public func methodSignature(blob index: UInt32) throws(MetadataError) -> MethodSignature {
        try methodSignature(bytes: blob(at: index))
    }

    /// A method signature from a blob's bytes.
    public func methodSignature(bytes: [UInt8]) throws(MetadataError) -> MethodSignature {
        var d = SignatureDecoder(bytes)
        return try d.method()
    }

    /// The type described by a TypeSpec blob (II.23.2.14).
    public func typeSpecSignature(blob index: UInt32) throws(MetadataError) -> TypeSignature {
        var d = SignatureDecoder(try blob(at: index))
        return try d.type()
    }
}

extension MetadataReader {
    /// The types of a method's locals, from the StandAloneSig row that holds its LocalVarSig (II.23.2.6).
    public func localVariableTypes(standAloneSig row: Int) throws(MetadataError) -> [TypeSignature] {
        var d = SignatureDecoder(try blob(at: try cell(.standAloneSig, row, 0)))
        guard try d.byte() == 0x07 else {
            throw MetadataError(.badSignature, "StandAloneSig \(row) is not a local variable signature (LOCAL_SIG 0x07)")
        }
        let n = try d.count("locals")
        var out: [TypeSignature] = []
        out.reserveCapacity(n)
        for _ in 0..<n { out.append(try d.type()) }
        return out
    }

    /// A method's Param rows: from its ParamList to the next method's (or the table's end).
    public func parameters(ofMethod row: Int) throws(MetadataError) -> [ParamRow] {
        let first = try methodDef(row).paramList
        let end = row < rowCount(.methodDef) ? try methodDef(row + 1).paramList : rowCount(.param) + 1
        guard first >= 1, end >= first, end - first <= 0x1_0000 else { return [] }
        var out: [ParamRow] = []
        for r in first..<min(end, rowCount(.param) + 1) { out.append(try param(r)) }
        return out
    }
}
