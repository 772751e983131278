// IL method bodies (ECMA-335 II.25.4) decoded into instructions, and their text as SOS's !DumpIL prints it
// (sildasm.cpp: "IL_0000: ldstr \"...\"", tokens named through metadata in ILDASM's style).

/// A method body: its IL and its exception clauses.
public struct ILMethodBody: Sendable {
    public struct Clause: Sendable, Equatable {
        /// 0 catch, 1 filter, 2 finally, 4 fault.
        public let flags: UInt32
        public let tryOffset: UInt32, tryLength: UInt32
        public let handlerOffset: UInt32, handlerLength: UInt32
    }
    public let code: [UInt8]
    public let clauses: [Clause]

    /// Decodes the body at offset 0 of what `read(offset, count)` returns: a tiny or fat header, the code, and for
    /// a fat header its exception sections. Bounded: a damaged header throws.
    public init(read: (Int, Int) -> [UInt8]?) throws(MetadataError) {
        func bytes(_ at: Int, _ n: Int) throws(MetadataError) -> [UInt8] {
            guard let b = read(at, n), b.count == n else { throw MetadataError(.badSignature, "method body ends early at \(at)") }
            return b
        }
        func u32(_ b: [UInt8], _ o: Int) -> UInt32 { UInt32(b[o]) | UInt32(b[o + 1]) << 8 | UInt32(b[o + 2]) << 16 | UInt32(b[o + 3]) << 24 }
        let first = try bytes(0, 1)[0]
        if first & 3 == 2 {   // tiny: the code size in the upper six bits
            code = try bytes(1, Int(first >> 2))
            clauses = []
            return
        }
        guard first & 3 == 3 else { throw MetadataError(.badSignature, "not a method body header (0x\(String(first, radix: 16)))") }
        let header = try bytes(0, 12)
        let flags = UInt16(header[0]) | UInt16(header[1]) << 8
        let headerSize = Int(flags >> 12) * 4
        let codeSize = u32(header, 4)
        guard headerSize >= 12, codeSize < 1 << 24 else { throw MetadataError(.badSignature, "fat method header with code size \(codeSize)") }
        code = try bytes(headerSize, Int(codeSize))
        var clauses: [Clause] = []
        var at = (headerSize + Int(codeSize) + 3) & ~3
        var more = flags & 0x8 != 0   // CorILMethod_MoreSects
        var sections = 0
        while more, sections < 16 {
            sections += 1
            let kind = try bytes(at, 4)
            let fat = kind[0] & 0x40 != 0
            more = kind[0] & 0x80 != 0
            let size = fat ? Int(u32(kind, 0) >> 8) : Int(kind[1])
            guard size >= 4, size < 1 << 20 else { throw MetadataError(.badSignature, "exception section of \(size) bytes") }
            if kind[0] & 1 != 0 {   // CorILMethod_Sect_EHTable
                let clauseSize = fat ? 24 : 12
                let body = try bytes(at + 4, size - 4)
                for c in 0..<(size - 4) / clauseSize {
                    let o = c * clauseSize
                    if fat {
                        clauses.append(Clause(flags: u32(body, o), tryOffset: u32(body, o + 4), tryLength: u32(body, o + 8),
                                              handlerOffset: u32(body, o + 12), handlerLength: u32(body, o + 16)))
                    } else {
                        clauses.append(Clause(flags: UInt32(body[o]) | UInt32(body[o + 1]) << 8,
                                              tryOffset: UInt32(body[o + 2]) | UInt32(body[o + 3]) << 8, tryLength: UInt32(body[o + 4]),
                                              handlerOffset: UInt32(body[o + 5]) | UInt32(body[o + 6]) << 8, handlerLength: UInt32(body[o + 7])))
                    }
                }
            }
            at += (size + 3) & ~3
        }
        self.clauses = clauses
    }
}

/// One IL instruction.
public struct ILInstruction: Sendable {
    public enum Operand: Sendable, Equatable {
        case none
        case variable(Int)
        case integer(Int64)
        case real(Double)
        /// A branch's target, as an IL offset.
        case branch(Int)
        case switchTargets([Int])
        case token(UInt32)
    }
    public let offset: Int
    public let name: String
    public let kind: ILOperandKind
    public let operand: Operand

    /// The instructions of `code`, in order, up to the first byte that is not an opcode or an operand that runs
    /// past the end (`complete` is false then).
    public static func decode(_ code: [UInt8]) -> (instructions: [ILInstruction], complete: Bool) {
        var out: [ILInstruction] = []
        var p = 0
        func take(_ n: Int) -> UInt64? {
            guard n >= 0, p + n <= code.count else { return nil }
            var v: UInt64 = 0
            for i in 0..<n { v |= UInt64(code[p + i]) << (8 * UInt64(i)) }
            p += n
            return v
        }
        while p < code.count {
            let start = p
            guard var op = take(1).map(Int.init) else { break }
            if op == 0xFE {
                guard let second = take(1) else { return (out, false) }
                op = 0x100 | Int(second)
            }
            guard op < ILOpcodes.table.count, let (name, kind) = ILOpcodes.table[op] else { return (out, false) }
            let operand: Operand
            switch kind {
            case .none: operand = .none
            case .shortVar: guard let v = take(1) else { return (out, false) }; operand = .variable(Int(v))
            case .variable: guard let v = take(2) else { return (out, false) }; operand = .variable(Int(v))
            case .shortInt: guard let v = take(1) else { return (out, false) }; operand = .integer(Int64(Int8(truncatingIfNeeded: v)))
            case .int: guard let v = take(4) else { return (out, false) }; operand = .integer(Int64(Int32(truncatingIfNeeded: v)))
            case .int64: guard let v = take(8) else { return (out, false) }; operand = .integer(Int64(bitPattern: v))
            case .shortReal: guard let v = take(4) else { return (out, false) }; operand = .real(Double(Float(bitPattern: UInt32(v))))
            case .real: guard let v = take(8) else { return (out, false) }; operand = .real(Double(bitPattern: v))
            case .shortBranch:
                guard let v = take(1) else { return (out, false) }
                operand = .branch(p + Int(Int8(truncatingIfNeeded: v)))
            case .branch:
                guard let v = take(4) else { return (out, false) }
                operand = .branch(p + Int(Int32(truncatingIfNeeded: v)))
            case .switchTable:
                guard let n = take(4), n < 0x10000 else { return (out, false) }
                var deltas: [Int] = []
                for _ in 0..<n {
                    guard let d = take(4) else { return (out, false) }
                    deltas.append(Int(Int32(truncatingIfNeeded: d)))
                }
                let next = p
                operand = .switchTargets(deltas.map { next + $0 })
            case .method, .field, .type, .token, .string, .signature:
                guard let v = take(4) else { return (out, false) }
                operand = .token(UInt32(v))
            }
            out.append(ILInstruction(offset: start, name: name, kind: kind, operand: operand))
        }
        return (out, true)
    }
}

extension MetadataReader {
    /// SOS's !DumpIL text of a method body: per instruction `IL_xxxx: name operand`, indented inside the
    /// `.try`/`.catch`/`.finally` blocks of its exception clauses; tokens named as SOS's DisassembleToken names
    /// them (ILDASM-style types, `Class::Member(args)`). Branch targets and small integers are decoded signed.
    public func ilText(_ body: ILMethodBody) -> [String] {
        let (lines, complete) = ilLines(body)
        return lines.map(\.text) + (complete ? [] : ["(the IL ends in the middle of an instruction, or holds a byte that is not an opcode)"])
    }

    /// The same lines, each with the IL offset of the instruction it belongs to (an exception block's lines
    /// belong to the instruction they open or close before), for `!U -il` to place among the native code.
    public func ilLines(_ body: ILMethodBody) -> (lines: [(offset: Int, text: String)], complete: Bool) {
        let (instructions, complete) = ILInstruction.decode(body.code)
        var out: [(offset: Int, text: String)] = []
        var indent = 0
        func pad() -> String { String(repeating: " ", count: indent) }
        for i in instructions {
            func add(_ text: String) { out.append((i.offset, text)) }
            for c in body.clauses {
                if c.tryOffset == i.offset {
                    add(pad() + ".try"); add(pad() + "{")
                    indent += 2
                } else if c.tryOffset &+ c.tryLength == i.offset {
                    indent = max(0, indent - 2)
                    add(pad() + "} // end .try")
                }
                if c.handlerOffset == i.offset {
                    add(pad() + (c.flags == 2 ? ".finally" : ".catch")); add(pad() + "{")
                    indent += 2
                } else if c.handlerOffset &+ c.handlerLength == i.offset {
                    indent = max(0, indent - 2)
                    add(pad() + (c.flags == 2 ? "} // end .finally" : "} // end .catch"))
                }
            }
            var line = pad() + "IL_" + Self.hex4(i.offset) + ": " + i.name + " "
            switch i.operand {
            case .none: break
            case .variable(let v): line += "VAR OR ARG \(v)"
            case .integer(let v): line += String(v)
            case .real(let v): line += Self.fixed6(v)
            case .branch(let t): line += "IL_" + Self.hex4(t)
            case .switchTargets(let ts): line += "(" + ts.map { "IL_" + Self.hex4($0) }.joined(separator: ", ") + ")"
            case .token(let t): line += tokenText(t)
            }
            add(line)
        }
        return (out, complete)
    }

    static func hex4(_ v: Int) -> String { String(UInt32(truncatingIfNeeded: v), radix: 16).leftPadded(4) }

    /// printf's "%f": six decimals.
    static func fixed6(_ v: Double) -> String {
        if v.isNaN { return "nan" }
        if v.isInfinite { return v < 0 ? "-inf" : "inf" }
        let scaled = (abs(v) * 1_000_000).rounded()
        guard scaled < 9e18 else { return v.description }
        let n = UInt64(scaled)
        let frac = String(n % 1_000_000)
        return (v < 0 && n != 0 ? "-" : "") + String(n / 1_000_000) + "." + String(repeating: "0", count: 6 - frac.count) + frac
    }

    /// A token as SOS's DisassembleToken prints it.
    func tokenText(_ raw: UInt32) -> String {
        let token = MetadataToken(rawValue: raw)
        let row = Int(raw & 0xFF_FFFF)
        switch raw >> 24 {
        case 0x02: return (try? fullName(ofTypeDef: checkRow(token, .typeDef))) ?? "<unknown type def>"
        case 0x01: return (try? fullName(ofTypeRef: checkRow(token, .typeRef))) ?? "<unknown type ref>"
        case 0x04:
            let name = (try? field(checkRow(token, .field)).name) ?? "<unknown field def>"
            let owner = (try? declaringType(ofField: row)).flatMap { $0 }.flatMap { try? fullName(ofTypeDef: $0) } ?? "<unknown type def>"
            return owner + "::" + name
        case 0x06:
            guard let m = try? methodDef(checkRow(token, .methodDef)) else { return "<unknown method def>" }
            let owner = (try? declaringType(ofMethod: row)).flatMap { $0 }.flatMap { try? fullName(ofTypeDef: $0) } ?? "<unknown type def>"
            return memberText(owner: owner, name: m.name, signature: try? blob(at: m.signature))
        case 0x0A:
            guard let m = try? memberRef(checkRow(token, .memberRef)) else { return "<unknown member ref>" }
            let owner: String
            switch m.parent?.table {
            case .typeRef?: owner = m.parent.flatMap { try? fullName(ofTypeRef: checkRow($0, .typeRef)) } ?? "<unknown type ref>"
            case .typeDef?: owner = m.parent.flatMap { try? fullName(ofTypeDef: checkRow($0, .typeDef)) } ?? "<unknown type def>"
            case .typeSpec?:
                owner = m.parent.flatMap { p in (try? typeSpecSignature(blob: typeSpec(checkRow(p, .typeSpec)).signature)).map { ildasmName($0) } }
                    ?? "<Invalid record>"
            default: owner = "<unknown type token>"
            }
            return memberText(owner: owner, name: m.name, signature: try? blob(at: m.signature))
        case 0x70:
            guard let s = try? userString(at: raw & 0xFF_FFFF) else { return "STRING " + String(raw, radix: 16) }
            // SOS copies 80 characters, writes "..." over the 80th, and prints the others outside 0x20-0x7F as '.'.
            var units = Array(s.utf16.prefix(80))
            if units.count == 80 { units = Array(units.prefix(79)) + Array("...".utf16) }
            let text = String(units.map { $0 < 0x20 || $0 >= 0x80 ? "." : Character(Unicode.Scalar(UInt8($0))) })
            return "\"" + text + "\""
        default:
            return "<unknown token type " + String(raw & 0xFF00_0000, radix: 16).leftPadded(8) + ">"
        }
    }

    /// `ret Class::Name(arg,arg)` for a method; a field reference gets neither (SOS's MethodSigArgPrettyPrinter).
    func memberText(owner: String, name: String, signature: [UInt8]?) -> String {
        guard let signature, let first = signature.first, first & 0x0F != 0x06, let sig = try? methodSignature(bytes: signature) else {
            return owner + "::" + name
        }
        return ildasmName(sig.returnType) + " " + owner + "::" + name + "(" + sig.parameters.map { ildasmName($0) }.joined(separator: ",") + ")"
    }

    /// ILDASM's name for a type in a signature (PrettyPrintType with FormatILDasm).
    public func ildasmName(_ t: TypeSignature, depth: Int = 0) -> String {
        guard depth < 32 else { return "..." }
        switch t {
        case .primitive(let p):
            switch p {
            case .void: return "void"
            case .boolean: return "bool"
            case .char: return "char"
            case .int8: return "int8"
            case .uint8: return "uint8"
            case .int16: return "int16"
            case .uint16: return "uint16"
            case .int32: return "int32"
            case .uint32: return "uint32"
            case .int64: return "int64"
            case .uint64: return "uint64"
            case .float32: return "float32"
            case .float64: return "float64"
            case .string: return "string"
            case .object: return "object"
            case .typedReference: return "typedref"
            case .intPtr: return "native int"
            case .uintPtr: return "native uint"
            }
        case .named(let token, let isValueType): return (isValueType ? "valuetype " : "class ") + ildasmClass(token, depth: depth)
        case .szArray(let e): return ildasmName(e, depth: depth + 1) + "[]"
        case .array(let e, let rank): return ildasmName(e, depth: depth + 1) + "[" + (rank == 1 ? "..." : String(repeating: ",", count: max(0, min(rank, 32) - 1))) + "]"
        case .genericInstance(let g, let args):
            return ildasmName(g, depth: depth + 1) + "<" + args.map { ildasmName($0, depth: depth + 1) }.joined(separator: ",") + ">"
        case .typeParameter(let n): return "!\(n)"
        case .methodParameter(let n): return "!!\(n)"
        case .pointer(let e): return ildasmName(e, depth: depth + 1) + "*"
        case .byRef(let e): return ildasmName(e, depth: depth + 1) + "&"
        case .functionPointer: return "method METHOD"
        case .modified(let e, _, _): return ildasmName(e, depth: depth + 1)
        case .pinned(let e): return ildasmName(e, depth: depth + 1) + " pinned"
        case .runtimeHandle(let h): return "<TypeHandle 0x" + String(h, radix: 16) + ">"
        }
    }

    /// PrettyPrintClass: a TypeRef with its resolution scope (`[System.Runtime]System.Console`, `Outer/Inner`), a
    /// TypeDef with its enclosing types (a top-level one after `[*]`, as SOS's code prints it).
    func ildasmClass(_ token: MetadataToken, depth: Int) -> String {
        guard depth < 32 else { return "..." }
        switch token.table {
        case .typeRef?:
            guard let r = try? typeRef(checkRow(token, .typeRef)) else { return " [ERROR: Invalid TypeRef record 0x\(token.rawValue.hexPadded8)] " }
            let name = r.namespace.isEmpty ? r.name : r.namespace + "." + r.name
            switch r.resolutionScope?.table {
            case .typeRef?: return ildasmClass(r.resolutionScope!, depth: depth + 1) + "/" + name
            case .assemblyRef?:
                let a = r.resolutionScope.flatMap { try? assemblyRef(checkRow($0, .assemblyRef)).name } ?? ""
                return "[" + a + "]" + name
            case nil: return "[*]" + name
            default: return name
            }
        case .typeDef?:
            guard let row = try? checkRow(token, .typeDef), let d = try? typeDef(row) else {
                return " [ERROR: Invalid TypeDef record 0x\(token.rawValue.hexPadded8)] "
            }
            let name = d.namespace.isEmpty ? d.name : d.namespace + "." + d.name
            if d.isNested, let outer = try? enclosingType(ofTypeDef: row) {
                return ildasmClass(MetadataToken(.typeDef, row: outer), depth: depth + 1) + "/" + name
            }
            return "[*]" + name
        case .typeSpec?:
            guard let sig = try? typeSpecSignature(blob: typeSpec(checkRow(token, .typeSpec)).signature) else { return " [ERROR: Invalid token] " }
            return ildasmName(sig, depth: depth + 1)
        default:
            return " [ERROR: INVALID TOKEN TYPE 0x\(token.rawValue.hexPadded8)] "
        }
    }
}

extension String {
    func leftPadded(_ n: Int) -> String { count < n ? String(repeating: "0", count: n - count) + self : self }
}

extension UInt32 {
    var hexPadded8: String { String(self, radix: 16, uppercase: true).leftPadded(8) }
}
