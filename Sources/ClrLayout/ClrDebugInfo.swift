import DumpModel
import Metadata

/// Where the JIT said one argument or local lives over a range of a method's native code
/// (ICorDebugInfo::NativeVarInfo; Docs/clr/debug-info.md §2.5).
public struct ClrNativeVarInfo: Sendable, Equatable {
    public enum Location: Sendable, Equatable {
        case register(Int)
        /// The register holds the variable's address.
        case registerByRef(Int)
        case registerFP(Int)
        case stack(base: Int, offset: Int32)
        /// The stack slot holds the variable's address.
        case stackByRef(base: Int, offset: Int32)
        /// Two parts: two registers, a register and a slot, a slot and a register, two consecutive slots.
        case registerRegister(Int, Int)
        case registerStack(Int, base: Int, offset: Int32)
        case stackRegister(base: Int, offset: Int32, Int)
        case stack2(base: Int, offset: Int32)
        case unsupported
    }
    /// Native offsets from the method's code start; the end is inclusive, as the runtime compares it.
    public let start: UInt32
    public let end: UInt32
    /// IL variable number: arguments 0 ..< argCount (`this` first), then locals; negative for special ones.
    public let varNumber: Int32
    public let location: Location
}

/// Nibble-encoded integers (nibblestream.h): low nibble of each byte first; 3 value bits per nibble, most
/// significant first, the 4th bit saying another nibble follows.
struct NibbleReader {
    let bytes: [UInt8]
    private(set) var nibbles = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func nibble() -> UInt8? {
        let i = nibbles / 2
        guard i < bytes.count else { return nil }
        defer { nibbles += 1 }
        return nibbles % 2 == 0 ? bytes[i] & 0xF : bytes[i] >> 4
    }

    mutating func u32() -> UInt32? {
        var v: UInt64 = 0
        for _ in 0..<12 {
            guard let n = nibble() else { return nil }
            v = (v << 3) | UInt64(n & 7)
            if n & 8 == 0 { return v <= UInt64(UInt32.max) ? UInt32(v) : nil }
        }
        return nil
    }

    mutating func i32() -> Int32? {
        guard let v = u32() else { return nil }
        let magnitude = Int64(v >> 1)
        return Int32(truncatingIfNeeded: v & 1 != 0 ? -magnitude : magnitude)
    }

    /// The byte after the last nibble read (the next stream starts on a byte).
    var nextByte: Int { (nibbles + 1) / 2 }
}

/// One row of the JIT's native-to-IL map (the debug info's bounds stream; the DAC's GetILAddressMap).
public struct ClrILMapEntry: Sendable, Equatable {
    /// Offset of the native code this row starts, from the method's start.
    public let nativeOffset: UInt32
    /// The IL offset, or one of the runtime's markers: 0xFFFFFFFF no mapping, 0xFFFFFFFE prolog, 0xFFFFFFFD epilog.
    public let ilOffset: UInt32
    /// SourceTypes bits: 1 sequence point, 2 stack empty, 4 call site, 0x10 call instruction.
    public let source: UInt32

    public var isMapped: Bool { ilOffset < 0xFFFF_FFFD }
}

extension ClrRuntime {
    /// Where the runtime keeps a method's debug info: behind a JIT'd method's code header, or in a ReadyToRun
    /// image's DEBUG_INFO section (read from the image file). Nil for IL stubs, which have none.
    func debugInfoBlob(_ code: ClrCodeInfo) -> (flagByte: Bool, read: (Int, Int) -> [UInt8]?)? {
        switch code.kind {
        case .jit:
            let l = layout.codeLookup
            guard let header = target.u64(code.start &- 8), header > 0xF, let blob = target.u64(header &+ l.rchDebugInfo), blob != 0
            else { return nil }
            return (l.jitDebugInfoFlagByte, { offset, count in self.memory.readExact(blob &+ UInt64(offset), count: count) })
        case .readyToRun:
            guard let index = codeMap.readyToRunMethodIndex(code), let md = methodDescInfo(code.methodDesc),
                  let image = md.type.module?.image, let reader = ReadyToRunImage(image),
                  let blob = reader.debugInfoRVA(methodIndex: index) else { return nil }
            return (false, { offset, count in reader.bytes(rva: blob &+ UInt32(offset), count: count) })
        }
    }

    /// The JIT's variable locations for the method whose code `code` is, or nil when the runtime keeps none
    /// (IL stubs) or they cannot be read.
    public func variableLocations(_ code: ClrCodeInfo) -> [ClrNativeVarInfo]? {
        guard let blob = debugInfoBlob(code) else { return nil }
        return Self.decodeDebugInfo(flagByte: blob.flagByte, read: blob.read)
    }

    /// The JIT's native-to-IL map for the method whose code `code` is (rows in native order), or nil.
    public func ilAddressMap(_ code: ClrCodeInfo) -> [ClrILMapEntry]? {
        guard let blob = debugInfoBlob(code) else { return nil }
        return Self.decodeBounds(flagByte: blob.flagByte, read: blob.read)
    }

    /// The IL offset the runtime maps a frame's IP to: at a return address, the call's (the byte before it);
    /// nil in the prolog, the epilog, code with no mapping, or when the runtime keeps no map.
    public func ilOffset(_ code: ClrCodeInfo, ip: UInt64, isReturnAddress: Bool) -> UInt32? {
        guard ip >= code.start, let map = ilAddressMap(code), !map.isEmpty else { return nil }
        var offset = ip - code.start
        if isReturnAddress, offset > 0 { offset -= 1 }
        guard offset < 1 << 32, let i = SortedSearch.lastIndex(map.count, atOrBelow: offset, { UInt64(map[$0].nativeOffset) }),
              map[i].isMapped else { return nil }
        return map[i].ilOffset
    }

    /// The debug info blob's two streams (Docs/clr/debug-info.md §2): [flag byte, patchpoint info] then a nibble
    /// header with the sizes of the bounds and vars streams, then the streams. Nil when the blob cannot be read.
    static func debugInfoStreams(flagByte: Bool, read: (Int, Int) -> [UInt8]?) -> (bounds: Int, boundsSize: Int, varsSize: Int)? {
        var at = 0
        if flagByte {
            guard let flag = read(0, 1)?.first else { return nil }
            at = 1
            if flag & 1 != 0 {   // PatchpointInfo: 32 bytes, then an int per local
                guard let locals = read(at + 8, 4).map({ UInt32($0[0]) | UInt32($0[1]) << 8 | UInt32($0[2]) << 16 | UInt32($0[3]) << 24 }),
                      locals < 0x10000 else { return nil }
                at += 32 + 4 * Int(locals)
            }
            if flag & 2 != 0 { return nil }   // rich debug info: its size field is not settled (debug-info.md §2.3)
        }
        var headerBytes: [UInt8]?
        for n in stride(from: 12, through: 1, by: -1) { if let b = read(at, n) { headerBytes = b; break } }
        guard let hb = headerBytes else { return nil }
        var header = NibbleReader(hb)
        guard let cbBounds = header.u32(), let cbVars = header.u32(), cbVars < 1 << 20, cbBounds < 1 << 24 else { return nil }
        return (at + header.nextByte, Int(cbBounds), Int(cbVars))
    }

    /// The bounds stream: a count, then per row the native offset's delta from the last row, the IL offset + 3
    /// and the source bits.
    static func decodeBounds(flagByte: Bool, read: (Int, Int) -> [UInt8]?) -> [ClrILMapEntry]? {
        guard let streams = debugInfoStreams(flagByte: flagByte, read: read), streams.boundsSize > 0,
              let bytes = read(streams.bounds, streams.boundsSize) else { return nil }
        var r = NibbleReader(bytes)
        guard let count = r.u32(), count < 0x10000 else { return nil }
        var out: [ClrILMapEntry] = []
        var native: UInt32 = 0
        for _ in 0..<count {
            guard let delta = r.u32(), let il = r.u32(), let source = r.u32() else { return nil }
            let (next, overflow) = native.addingReportingOverflow(delta)
            guard !overflow else { return nil }
            native = next
            out.append(ClrILMapEntry(nativeOffset: native, ilOffset: il &- 3, source: source))
        }
        return out
    }

    /// The vars stream (Docs/clr/debug-info.md §2.5).
    static func decodeDebugInfo(flagByte: Bool, read: (Int, Int) -> [UInt8]?) -> [ClrNativeVarInfo]? {
        guard let streams = debugInfoStreams(flagByte: flagByte, read: read), streams.varsSize > 0,
              let vars = read(streams.bounds + streams.boundsSize, streams.varsSize) else { return nil }
        var r = NibbleReader(vars)
        guard let count = r.u32(), count < 0x10000 else { return nil }
        var out: [ClrNativeVarInfo] = []
        for _ in 0..<count {
            guard let start = r.u32(), let delta = r.u32(), let number = r.u32(), let kind = r.u32() else { return nil }
            func reg() -> Int? { r.u32().map(Int.init) }
            let location: ClrNativeVarInfo.Location
            switch kind {
            case 0: guard let a = reg() else { return nil }; location = .register(a)
            case 1: guard let a = reg() else { return nil }; location = .registerByRef(a)
            case 2: guard let a = reg() else { return nil }; location = .registerFP(a)
            case 3: guard let b = reg(), let o = r.i32() else { return nil }; location = .stack(base: b, offset: o)
            case 4: guard let b = reg(), let o = r.i32() else { return nil }; location = .stackByRef(base: b, offset: o)
            case 5: guard let a = reg(), let b = reg() else { return nil }; location = .registerRegister(a, b)
            case 6: guard let a = reg(), let b = reg(), let o = r.i32() else { return nil }; location = .registerStack(a, base: b, offset: o)
            case 7: guard let o = r.i32(), let b = reg(), let a = reg() else { return nil }; location = .stackRegister(base: b, offset: o, a)
            case 8: guard let b = reg(), let o = r.i32() else { return nil }; location = .stack2(base: b, offset: o)
            case 9, 10: guard r.u32() != nil else { return nil }; location = .unsupported
            default: return nil
            }
            let end = UInt64(start) + UInt64(delta)
            guard end <= UInt64(UInt32.max) else { return nil }
            out.append(ClrNativeVarInfo(start: start, end: UInt32(end), varNumber: Int32(bitPattern: number &- 4), location: location))
        }
        return out
    }
}

/// The parts of a ReadyToRun image's header the debugger reads (readytorun.h): the section table, and the
/// DEBUG_INFO section's NativeArray of per-method blobs.
struct ReadyToRunImage {
    let image: PEImage
    let debugInfoSection: UInt32

    init?(_ image: PEImage) {
        self.image = image
        // The CLI header's ManagedNativeHeader (at +0x40) is the READYTORUN_HEADER.
        guard let dir = image.dataDirectory(PEImage.imageDirectoryEntryCOMDescriptor), !dir.isEmpty,
              let cli = Self.bytes(image, rva: dir.rva, count: 72), let headerRVA = Self.u32(cli, 0x40), headerRVA != 0,
              let header = Self.bytes(image, rva: headerRVA, count: 16), Self.u32(header, 0) == 0x0052_5452,
              let sections = Self.u32(header, 12), sections < 256,
              let table = Self.bytes(image, rva: headerRVA + 16, count: Int(sections) * 12) else { return nil }
        var found: UInt32?
        for i in 0..<Int(sections) where Self.u32(table, i * 12) == 105 { found = Self.u32(table, i * 12 + 4) }   // READYTORUN_SECTION_DEBUG_INFO
        guard let found else { return nil }
        debugInfoSection = found
    }

    static func bytes(_ image: PEImage, rva: UInt32, count: Int) -> [UInt8]? {
        guard count >= 0, let off = try? image.offset(ofRVA: rva, size: UInt32(count)),
              let b = try? image.source.readBytes(at: off, count: count) else { return nil }
        return b
    }
    static func u32(_ b: [UInt8], _ o: Int) -> UInt32? {
        guard o >= 0, o + 4 <= b.count else { return nil }
        return UInt32(b[o]) | UInt32(b[o + 1]) << 8 | UInt32(b[o + 2]) << 16 | UInt32(b[o + 3]) << 24
    }
    func bytes(rva: UInt32, count: Int) -> [UInt8]? { Self.bytes(image, rva: rva, count: count) }

    /// NativeReader::DecodeUnsigned at an RVA: the value and the RVA after it.
    func decodeUnsigned(_ rva: UInt32) -> (value: UInt32, next: UInt32)? {
        guard let b = bytes(rva: rva, count: 1)?.first else { return nil }
        func more(_ n: Int) -> [UInt8]? { bytes(rva: rva + 1, count: n) }
        switch b {
        case _ where b & 1 == 0: return (UInt32(b >> 1), rva + 1)
        case _ where b & 3 == 1:
            guard let x = more(1) else { return nil }
            return (UInt32(b >> 2) | UInt32(x[0]) << 6, rva + 2)
        case _ where b & 7 == 3:
            guard let x = more(2) else { return nil }
            return (UInt32(b >> 3) | UInt32(x[0]) << 5 | UInt32(x[1]) << 13, rva + 3)
        case _ where b & 15 == 7:
            guard let x = more(3) else { return nil }
            return (UInt32(b >> 4) | UInt32(x[0]) << 4 | UInt32(x[1]) << 12 | UInt32(x[2]) << 20, rva + 4)
        case _ where b & 31 == 15:
            guard let x = more(4), let v = Self.u32(x, 0) else { return nil }
            return (v, rva + 5)
        default: return nil
        }
    }

    /// NativeArray::TryGetAt: 16-element blocks, each a small tree of nodes (nativeformatreader.h).
    func arrayElement(_ array: UInt32, index: Int) -> UInt32? {
        guard let (val, base) = decodeUnsigned(array) else { return nil }
        let count = Int(val >> 2), entrySize = Int(val & 3)
        guard index >= 0, index < count, entrySize <= 2 else { return nil }
        let width = 1 << entrySize
        guard let e = bytes(rva: base + UInt32(width * (index / 16)), count: width) else { return nil }
        var blockOffset: UInt32 = 0
        for (i, byte) in e.enumerated() { blockOffset |= UInt32(byte) << (8 * UInt32(i)) }
        var offset = base &+ blockOffset
        var bit = 8
        while bit > 0 {
            guard let (v, next) = decodeUnsigned(offset) else { return nil }
            if index & bit != 0 {
                if v & 2 != 0 { offset = offset &+ (v >> 2); bit >>= 1; continue }
            } else if v & 1 != 0 {
                offset = next; bit >>= 1; continue
            }
            if v & 3 == 0, Int(v >> 2) == index & 15 { return next }   // a leaf for exactly this index
            return nil
        }
        return offset
    }

    /// The RVA of a method's debug info blob: the DEBUG_INFO entry for its RUNTIME_FUNCTION index, which
    /// holds a "lookback" distance to a shared blob, or 0 when the blob follows.
    func debugInfoRVA(methodIndex: Int) -> UInt32? {
        guard let entry = arrayElement(debugInfoSection, index: methodIndex), let (lookback, next) = decodeUnsigned(entry) else { return nil }
        return lookback != 0 ? entry &- lookback : next
    }
}

/// One argument or local of a managed frame, as the JIT's debug info places it at the frame's IP.
public struct ClrFrameVariable: Sendable {
    public enum Place: Sendable, Equatable {
        /// In a register (SOS prints `<CLR reg>`).
        case register(String)
        /// At a stack address.
        case memory(UInt64)
        /// Split over two places (SOS prints no location for these).
        case split
        /// No live location at this IP (`<no data>`).
        case none
    }
    /// The parameter's name (`this`, or from the Param table); nil for locals, which SOS never names.
    public let name: String?
    public let place: Place
    /// The value, zero-extended from the variable's size; nil when it could not be read.
    public let value: UInt64?
}

/// A managed frame's arguments and locals. `locals` is nil when the method has no local signature (SOS then
/// prints no LOCALS line).
public struct ClrFrameVariables: Sendable {
    public let parameters: [ClrFrameVariable]
    public let locals: [ClrFrameVariable]?
}

extension ClrRuntime {
    /// AMD64 ICorDebugInfo::RegNum names; 17 is REGNUM_AMBIENT_SP as a stack base.

    /// The arguments and locals of the managed frame at `ip` (code `code`), read with the frame's registers
    /// (`registers` by name; `stackPointer` is the frame's SP, the JIT's "ambient" SP).
    public func frameVariables(_ code: ClrCodeInfo, ip: UInt64, registers: [String: UInt64], stackPointer: UInt64) -> ClrFrameVariables? {
        guard let (type, token) = methodDescInfo(code.methodDesc), let module = type.module, let md = module.metadata else { return nil }
        let row = Int(token & 0x00FF_FFFF)
        guard let method = try? md.methodDef(row), let sig = try? md.methodSignature(blob: method.signature) else { return nil }
        let argCount = sig.parameters.count + (sig.hasThis ? 1 : 0)
        let params = (try? md.parameters(ofMethod: row)) ?? []
        var localTypes: [TypeSignature]?
        if method.rva != 0, let image = module.image, let sigToken = Self.localSignatureToken(image, rva: method.rva), sigToken & 0x00FF_FFFF != 0 {
            localTypes = try? md.localVariableTypes(standAloneSig: Int(sigToken & 0x00FF_FFFF))
        }
        let vars = variableLocations(code) ?? []
        let offset = ip >= code.start && ip - code.start < 1 << 32 ? UInt32(ip - code.start) : UInt32.max
        func variable(_ number: Int, name: String?, type: TypeSignature?) -> ClrFrameVariable {
            // The first range in blob order that holds the IP (both ends inclusive, as the runtime compares).
            guard let v = vars.first(where: { $0.varNumber == Int32(number) && $0.start <= offset && offset <= $0.end }) else {
                return ClrFrameVariable(name: name, place: .none, value: nil)
            }
            let size = type.map { valueSize($0, module: module, context: []) } ?? 8
            func reg(_ n: Int) -> UInt64? { n < 16 ? registers[Self.x64RegisterNames[n]] : nil }
            func base(_ n: Int) -> UInt64? { n == 17 ? stackPointer : reg(n) }
            func read(_ a: UInt64) -> UInt64? { readValue(at: a, size: size) }
            func truncate(_ v: UInt64) -> UInt64 { size >= 8 ? v : v & ((1 << (UInt64(size) * 8)) - 1) }
            switch v.location {
            case .register(let n), .registerFP(let n):
                return ClrFrameVariable(name: name, place: .register(n < 16 ? Self.x64RegisterNames[n] : "xmm\(n - 16)"), value: reg(n).map(truncate))
            case .registerByRef(let n):
                return ClrFrameVariable(name: name, place: .register(n < 16 ? Self.x64RegisterNames[n] : "?"), value: reg(n).flatMap(read))
            case .stack(let b, let o):
                guard let bv = base(b) else { return ClrFrameVariable(name: name, place: .none, value: nil) }
                let a = bv &+ UInt64(bitPattern: Int64(o))
                return ClrFrameVariable(name: name, place: .memory(a), value: read(a))
            case .stackByRef(let b, let o):
                guard let bv = base(b), let a = target.u64(bv &+ UInt64(bitPattern: Int64(o))) else {
                    return ClrFrameVariable(name: name, place: .none, value: nil)
                }
                return ClrFrameVariable(name: name, place: .memory(a), value: read(a))
            case .stack2(let b, let o):
                guard let bv = base(b) else { return ClrFrameVariable(name: name, place: .none, value: nil) }
                let a = bv &+ UInt64(bitPattern: Int64(o))
                return ClrFrameVariable(name: name, place: .memory(a), value: read(a))
            case .registerRegister(let a, _), .registerStack(let a, _, _):
                return ClrFrameVariable(name: name, place: .split, value: reg(a))
            case .stackRegister(let b, let o, _):
                return ClrFrameVariable(name: name, place: .split, value: base(b).flatMap { target.u64($0 &+ UInt64(bitPattern: Int64(o))) })
            case .unsupported:
                return ClrFrameVariable(name: name, place: .none, value: nil)
            }
        }
        var parameters: [ClrFrameVariable] = []
        for i in 0..<argCount {
            let name: String
            if sig.hasThis && i == 0 { name = "this" } else {
                let seq = i + 1 - (sig.hasThis ? 1 : 0)
                name = params.first { Int($0.sequence) == seq }?.name ?? ""
            }
            let type: TypeSignature? = sig.hasThis && i == 0 ? nil : sig.parameters[i - (sig.hasThis ? 1 : 0)]
            parameters.append(variable(i, name: name, type: type))
        }
        let locals = localTypes.map { types in types.enumerated().map { variable(argCount + $0.offset, name: nil, type: $0.element) } }
        return ClrFrameVariables(parameters: parameters, locals: locals)
    }

    /// The LocalVarSigTok of a method's IL header (fat headers only; a tiny header has no locals).
    static func localSignatureToken(_ image: PEImage, rva: UInt32) -> UInt32? {
        guard let first = ReadyToRunImage.bytes(image, rva: rva, count: 1)?.first, first & 3 == 3,
              let fat = ReadyToRunImage.bytes(image, rva: rva, count: 12) else { return nil }
        return ReadyToRunImage.u32(fat, 8)
    }

    /// Bytes a variable of this type occupies (what SOS reads and prints): primitives their size, references
    /// and pointers 8, structs their field bytes when the runtime has built the type, else 8.
    func valueSize(_ t: TypeSignature, module: ClrModule, context: [UInt64]) -> Int {
        switch t {
        case .primitive(let p):
            switch p {
            case .boolean, .int8, .uint8: return 1
            case .char, .int16, .uint16: return 2
            case .int32, .uint32, .float32: return 4
            default: return 8
            }
        case .modified(let inner, _, _), .pinned(let inner): return valueSize(inner, module: module, context: context)
        case .named(_, isValueType: true), .genericInstance:
            guard t.isValueType, let th = resolveType(t, context: context, module: module, depth: 0), let vt = typeForHandle(th) else { return 8 }
            return max(1, Int(vt.baseSize) - 16)
        default: return 8
        }
    }

    func readValue(at a: UInt64, size: Int) -> UInt64? {
        switch size {
        case 1: return target.u8(a).map(UInt64.init)
        case 2: return target.u16(a).map(UInt64.init)
        case 4: return target.u32(a).map(UInt64.init)
        case 8: return target.u64(a)
        default: return memory.readExact(a, count: min(size, 4096)) != nil ? 0 : nil   // SOS prints 0 for other sizes
        }
    }
}

/// A method's IL as the dump holds it: where it is in the target, its body, and the metadata that names its tokens.
public struct ClrILBody: @unchecked Sendable {
    // @unchecked: MetadataReader is only read.
    public let address: UInt64
    public let body: ILMethodBody
    public let metadata: MetadataReader
}

extension ClrRuntime {
    /// The IL of the method a MethodDesc stands for: at its module's image base + the MethodDef's RVA, read from
    /// the dump or, where the dump lacks the page, from the image file. Throws a one-line reason otherwise.
    public func ilBody(methodDesc md: UInt64) throws(ClrError) -> ClrILBody {
        guard let (t, token) = methodDescInfo(md) else { throw ClrError("\(Hex16.s(md)) is not a MethodDesc") }
        if dynamicMethodName(md) != nil || token & 0xFF_FFFF == 0 {
            throw ClrError("This method has no IL body (e.g. IL stubs generated for P/Invoke or Reverse P/Invoke marshaling).")
        }
        guard let module = t.module, let metadata = module.metadata,
              let row = try? metadata.methodDef(Int(token & 0xFF_FFFF)) else { throw ClrError("no metadata for the method's module") }
        guard row.rva != 0 else { throw ClrError("the method has no IL body (abstract, extern or runtime-implemented)") }
        let address = module.imageBase &+ UInt64(row.rva)
        let image = module.image
        let read: (Int, Int) -> [UInt8]? = { offset, count in
            if let b = self.target.read(address &+ UInt64(offset), count: count) { return b }
            return image.flatMap { ReadyToRunImage.bytes($0, rva: row.rva &+ UInt32(offset), count: count) }
        }
        do {
            return ClrILBody(address: address, body: try ILMethodBody(read: read), metadata: metadata)
        } catch {
            throw ClrError("the IL at \(Hex16.s(address)) cannot be decoded: \(error)")
        }
    }
}

/// How `!U -il` lays a method's IL among its native code (SOS's Unassemble): the IL's lines, the map as the DAC
/// gives it (each row ends where the next starts; the last "ends" at the method's start, so it never matches), and
/// per mapped IL instruction the native range it opens and the IL instructions shown there: through the ones the
/// map does not start a range at.
public struct ClrILInterleaving: Sendable {
    public struct Row: Sendable { public let ilOffset: UInt32; public let start: UInt64; public let end: UInt64 }
    public struct Range: Sendable { public var ilOffsets: ClosedRange<Int>; public let start: UInt64; public let end: UInt64 }
    public let lines: [(offset: Int, text: String)]
    public let map: [Row]
    public let ranges: [Range]
}

extension ClrRuntime {
    public func ilInterleaving(_ code: ClrCodeInfo) -> ClrILInterleaving? {
        guard let il = try? ilBody(methodDesc: code.methodDesc), let map = ilAddressMap(code), !map.isEmpty else { return nil }
        let rows = map.enumerated().map { k, e in
            ClrILInterleaving.Row(ilOffset: e.ilOffset, start: code.start &+ UInt64(e.nativeOffset),
                                  end: k + 1 < map.count ? code.start &+ UInt64(map[k + 1].nativeOffset) : code.start)
        }
        let offsets = ILInstruction.decode(il.body.code).instructions.map(\.offset)
        var ranges: [ClrILInterleaving.Range] = []
        for (k, position) in offsets.enumerated() {
            let next = k + 1 < offsets.count ? offsets[k + 1] : il.body.code.count
            if let row = rows.first(where: { UInt64($0.ilOffset) == UInt64(position) && $0.end > $0.start }) {
                ranges.append(.init(ilOffsets: position...max(position, next - 1), start: row.start, end: row.end))
            } else if let last = ranges.indices.last {
                ranges[last].ilOffsets = ranges[last].ilOffsets.lowerBound...max(ranges[last].ilOffsets.lowerBound, position)
            }
        }
        return ClrILInterleaving(lines: il.metadata.ilLines(il.body).lines, map: rows, ranges: ranges)
    }
}
