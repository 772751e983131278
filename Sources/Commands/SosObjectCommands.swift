import ClrLayout
import DumpModel
import Foundation

/// Shared `!do`/`!da` header and field printing.
enum SosObject {
    /// `!DumpObj`'s value for `addr`; throws a command error for a pointer that is not an object.
    static func object(_ addr: UInt64, runtime r: ClrRuntime, noFields: Bool) throws -> ObjectValue {
        let t: ClrType
        switch r.lookupObject(addr) {
        case .notInDump: throw CommandError("Invalid object address \(Sos.p(addr)): not in the dump")
        case .invalidMethodTable: throw CommandError("<Note: this object has an invalid CLASS field>\nInvalid object")
        case .object(let type): t = type
        }
        let size = t.objectSize(addr) ?? UInt64(t.baseSize)
        if t.isFree {
            return ObjectValue(address: HexValue(addr), isFree: true, name: t.name, methodTable: HexValue(t.methodTable), eeClass: HexValue(t.eeClass),
                               size: size, file: nil, module: HexValue(0), string: nil, array: nil, fields: nil, thinLock: nil)
        }
        let string = t.isString ? (r.stringValue(addr).map { String($0.prefix(4096)) } ?? "<invalid>") : nil
        let array = t.isArray ? ObjectValue.ArrayInfo(rank: Int(t.rank), length: r.arrayLength(addr) ?? 0, elementType: t.arrayElementKind.sosName) : nil
        return ObjectValue(address: HexValue(addr), isFree: false, name: t.name, methodTable: HexValue(t.methodTable), eeClass: HexValue(t.eeClass),
                           size: size, file: t.module?.recordedPath, module: HexValue(t.module?.address ?? 0), string: string, array: array,
                           fields: noFields ? nil : fieldRows(addr, t, r, mode: .object),
                           thinLock: r.thinLock(addr).map { .init(threadId: $0.threadId, thread: HexValue($0.thread ?? 0), recursion: $0.recursion) })
    }

    /// Where field values come from: an object (instance offsets count from the object, after its
    /// MethodTable pointer), a value type's bytes (`!DumpVC`, offsets from the address), or none (`!DumpClass`).
    enum FieldsMode { case object, valueClass, classOnly }

    static func fields(_ addr: UInt64, _ t: ClrType, _ r: ClrRuntime, _ o: Output, mode: FieldsMode = .object) {
        for line in fieldLines(fieldRows(addr, t, r, mode: mode), header: mode != .classOnly) { o.line(line) }
    }

    /// One row of SOS's field table, as values.
    struct FieldRow: Encodable {
        /// The field type's MethodTable (0 when the runtime has not built it).
        let methodTable: HexValue
        let token: HexValue
        let offset: UInt64
        let type: String
        let isValueType: Bool
        /// "instance", "static" or "TLstatic".
        let attribute: String
        /// SOS's Value column: a pointer, a number, or "<no information>" / "<invalid>".
        let value: String
        let name: String
    }

    static func fieldRows(_ addr: UInt64, _ t: ClrType, _ r: ClrRuntime, mode: FieldsMode) -> [FieldRow] {
        t.allFields.map { f in
            let attr = f.isThreadLocal ? "TLstatic" : f.isStatic ? "static" : "instance"
            let value: String
            if f.isStatic {
                if let owner = r.type(f.enclosingMT), let a = r.staticFieldAddress(f, of: owner) { value = text(r.value(of: f, at: a)) } else { value = "<no information>" }
            } else {
                switch mode {
                case .object: value = text(r.value(of: f, at: r.instanceFieldAddress(addr, f)))
                case .valueClass: value = text(r.value(of: f, at: addr + UInt64(f.offset)))
                case .classOnly: value = ""
                }
            }
            let mt = r.fieldTypeMT(f)
            return FieldRow(methodTable: HexValue(mt), token: HexValue(UInt64(f.token)),
                            offset: UInt64(r.displayedOffset(f, inValueClass: mode == .valueClass)), type: r.fieldTypeColumnName(f, typeMT: mt),
                            isValueType: f.isValueType, attribute: attr, value: value, name: f.name)
        }
    }

    static func fieldLines(_ rows: [FieldRow], header: Bool) -> [String] {
        var out = header ? ["Fields:"] : []
        if rows.isEmpty { return out + ["None"] }
        out.append("              MT    Field   Offset                 Type VT     Attr            Value Name")
        for f in rows {
            out.append("\(Sos.p(f.methodTable.value))  \(String(f.token.value, radix: 16).leftPad(7)) \(String(f.offset, radix: 16).leftPad(8)) "
                + "\(Sos.typeColumn(f.type)) \(String(f.isValueType ? 1 : 0).leftPad(2)) \(f.attribute.leftPad(8)) \(f.value.leftPad(16)) \(f.name)")
        }
        return out
    }

    /// SOS's Value column: references as pointers, primitives in decimal, structs as their address.
    static func text(_ v: ClrValue) -> String {
        switch v {
        case .boolean(let b): return String(b)
        case .char(let c): return String(c)
        case .signed(let n): return String(n)
        case .unsigned(let n): return String(n)
        case .single(let f): return String(format: "%f", Double(f))
        case .double(let d): return String(format: "%f", d)
        case .nativeInt(let p): return Sos.P(p)
        case .reference(let p), .inlineStruct(let p), .boxedStruct(let p): return Sos.p(p)
        case .unreadable: return "<invalid>"
        }
    }
}

/// `!DumpObj [-nofields] <address>`.
struct DumpObjCommand: ValueCommand {
    let names = ["!DumpObj", "!do", "!DumpObject"]
    let summary = "show a managed object's type, size and fields"
    let help = """
    !DumpObj [-nofields] <object address>   (also !do)
    the object's type, MethodTable, EEClass, size, module and fields (MT, token, offset, type, value);
    strings add a String: line, arrays an Array: line, a monitor held in the header a ThinLock line.
    Example: !do 00007f5c3c048098
    """
    var extensionName: String? { "sos" }

    func evaluate(_ inv: Invocation, in s: Session) throws -> any CommandValue {
        let args = try CommandArguments(inv, flags: ["-nofields"], positionals: 1...1,
                                        usage: "!DumpObj [-nofields] <object address>")
        let noFields = args.has("-nofields")
        let addr = try Sos.address(args.positionals[0], s)
        let r = try Sos.run { try SosRuntimes.runtime(for: s) }
        return try SosObject.object(addr, runtime: r, noFields: noFields)
    }
}

/// `!do`'s value: the object's header lines as values, its string or array summary, and its fields.
struct ObjectValue: CommandValue {
    struct ArrayInfo: Encodable {
        let rank: Int
        let length: UInt64
        /// SOS's element type word (`System.Object`, `System.Int32`, `VALUETYPE`...).
        let elementType: String
    }
    let address: HexValue
    let isFree: Bool
    let name: String
    let methodTable: HexValue
    let eeClass: HexValue
    let size: UInt64
    /// The module's file as the runtime recorded it.
    let file: String?
    let module: HexValue
    let string: String?
    let array: ArrayInfo?
    /// Nil with -nofields.
    let fields: [SosObject.FieldRow]?
    struct ThinLockInfo: Encodable {
        /// The owner's thin-lock id (the ID column of !threads), its Thread*, and its acquisitions.
        let threadId: UInt32
        let thread: HexValue
        let recursion: UInt32
    }
    /// A monitor held through the object's header.
    let thinLock: ThinLockInfo?

    func textLines() -> [String] {
        if isFree { return ["Free Object", "Size:        " + Sos.sizeText(size)] }
        var out = ["Name:        " + name, "MethodTable: " + Sos.p(methodTable.value), "EEClass:     " + Sos.p(eeClass.value),
                   "Size:        " + Sos.sizeText(size), "File:        " + (file ?? "<Unknown Module>"), "Module:      " + Sos.p(module.value)]
        if let string { out.append("String:      " + string) }
        if let a = array { out.append("Array:       Rank \(a.rank), Number of elements \(a.length), Type \(a.elementType) (Print Array)") }
        if let fields { out += SosObject.fieldLines(fields, header: true) }
        // SOS prints the header's recursion level (acquisitions - 1).
        if let l = thinLock { out.append("ThinLock owner \(String(l.threadId, radix: 16)) (\(Sos.p(l.thread.value))), Recursive \(String(l.recursion - 1, radix: 16))") }
        return out
    }
}

/// `!DumpArray [-start N] [-length N] <address>`.
struct DumpArrayCommand: ValueCommand {
    let names = ["!DumpArray", "!da"]
    let summary = "show the elements of a managed array"
    let help = """
    !DumpArray [-start <index>] [-length <count>] [-details] <array address>   (also !da)
    the array's element type and rank, then each element (references, or the address of each struct).
    -start and -length are expressions (hex unless marked 0n), as in SOS.
    Example: !da -start 0 -length 10 00007f5c3c04a020
    """
    var extensionName: String? { "sos" }

    func evaluate(_ inv: Invocation, in s: Session) throws -> any CommandValue {
        let args = try CommandArguments(inv, flags: ["-details", "-nofields"], valued: ["-start", "-length"], positionals: 1...1,
                                        usage: "!DumpArray [-start <index>] [-length <count>] [-details] [-nofields] <array address>")
        let start = try args.values["-start"].map { try Sos.address($0, s) } ?? 0
        let length = try args.values["-length"].map { try Sos.address($0, s) }
        let details = args.has("-details"), noFields = args.has("-nofields")
        let addr = try Sos.address(args.positionals[0], s)
        let r = try Sos.run { try SosRuntimes.runtime(for: s) }
        guard let t = r.objectType(addr) else { throw CommandError("<Note: this object has an invalid CLASS field>\nInvalid object") }
        guard t.isArray else { throw CommandError("Not an array, please use !DumpObj instead") }
        let n = r.arrayLength(addr) ?? 0
        // SOS answers these before the header (strike.cpp PrintArray); -start is an expression, hex by default.
        if start > n { return ArrayValue.outOfRange() }
        let kind = t.arrayElementKind
        let data = r.arrayData(addr, t)
        let comp = UInt64(t.componentSize)
        let end = min(n, length.map { start &+ $0 } ?? n)
        var elements: [ArrayValue.Element] = []
        var i = start
        while i < end {
            try s.checkInterrupt()
            if kind == .class {
                var v: UInt64?
                if case .reference(let p) = r.arrayElement(addr, t, index: i) { v = p }
                var object: ObjectValue?, problem: String?
                if details, let v, v != 0 {
                    do { object = try SosObject.object(v, runtime: r, noFields: noFields) } catch let e as CommandError { problem = e.message }
                }
                elements.append(.init(index: i, address: nil, reference: v.map(HexValue.init), object: object, valueClass: nil, problem: problem))
            } else {
                let a = data + i * comp
                var vc: ValueClassValue?
                if details, kind == .valueType, let e = t.elementType {
                    vc = ValueClassValue(address: HexValue(a), name: e.name, methodTable: HexValue(e.methodTable), eeClass: HexValue(e.eeClass),
                                         size: UInt64(e.baseSize), file: e.module?.recordedPath,
                                         fields: noFields ? nil : SosObject.fieldRows(a, e, r, mode: .valueClass))
                }
                elements.append(.init(index: i, address: HexValue(a), reference: nil, object: nil, valueClass: vc, problem: nil))
            }
            i += 1
        }
        return ArrayValue(startIndexOutOfRange: false, noFieldsIgnored: !details && noFields,
                          header: ObjectValue(address: HexValue(addr), isFree: false, name: t.name, methodTable: HexValue(t.methodTable),
                                              eeClass: HexValue(t.eeClass), size: t.objectSize(addr) ?? UInt64(t.baseSize),
                                              file: t.module?.recordedPath, module: HexValue(t.module?.address ?? 0), string: nil,
                                              array: .init(rank: Int(t.rank), length: n, elementType: kind.sosName), fields: nil, thinLock: nil),
                          elementMethodTable: HexValue(t.elementType?.methodTable ?? 0), elementsAreReferences: kind == .class,
                          elements: elements)
    }
}

/// `!da`'s value: the array's header and each element shown, with `-details` each element's object (for
/// references) or its fields (for structs).
struct ArrayValue: CommandValue {
    struct Element: Encodable {
        let index: UInt64
        /// Where a struct or primitive element is (nil for references).
        let address: HexValue?
        /// A reference element's value (0 for null; nil when unreadable or not a reference array).
        let reference: HexValue?
        /// -details on a reference: the object.
        let object: ObjectValue?
        /// -details on a struct element: its fields (nil fields with -nofields).
        let valueClass: ValueClassValue?
        /// -details on a reference that is not a valid object: why.
        let problem: String?
    }
    /// SOS's "Start index out of range": the start is past the end, nothing else is shown.
    let startIndexOutOfRange: Bool
    /// -nofields without -details (SOS says it has no effect).
    let noFieldsIgnored: Bool
    /// The array object's header (`array` holds rank, length and element type).
    let header: ObjectValue?
    let elementMethodTable: HexValue?
    let elementsAreReferences: Bool
    let elements: [Element]

    static func outOfRange() -> ArrayValue {
        ArrayValue(startIndexOutOfRange: true, noFieldsIgnored: false, header: nil, elementMethodTable: nil, elementsAreReferences: false, elements: [])
    }

    func textLines() -> [String] {
        if startIndexOutOfRange { return ["Start index out of range"] }
        var out: [String] = []
        if noFieldsIgnored { out.append("-nofields has no effect unless -details is specified") }
        guard let h = header, let a = h.array else { return out }
        out += Array(h.textLines().prefix(6))
        out.append("Array:       Rank \(a.rank), Number of elements \(a.length), Type \(a.elementType)")
        out.append("Element Methodtable: " + Sos.p(elementMethodTable?.value ?? 0))
        let indent = "    "
        for e in elements {
            if elementsAreReferences {
                out.append("[\(e.index)] " + (e.reference.map { $0.value == 0 ? "null" : Sos.p($0.value) } ?? "<invalid>"))
                if let o = e.object { out += o.textLines().map { indent + $0 } }
                if let p = e.problem { out += p.split(separator: "\n", omittingEmptySubsequences: false).map { indent + $0 } }
            } else {
                out.append("[\(e.index)] " + Sos.p(e.address?.value ?? 0))
                if let vc = e.valueClass {
                    if vc.fields == nil {
                        out += [indent + "Name:        " + vc.name, indent + "MethodTable: " + Sos.p(vc.methodTable.value)]
                    } else {
                        out += vc.textLines().map { indent + $0 }
                    }
                }
            }
        }
        return out
    }
}
