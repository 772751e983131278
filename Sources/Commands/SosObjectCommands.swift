import ClrLayout
import DumpModel
import Foundation

/// Shared `!do`/`!da` header and field printing.
enum SosObject {
    /// Prints `!DumpObj` for `addr`; throws a command error for a pointer that is not an object.
    static func dump(_ addr: UInt64, runtime r: ClrRuntime, output o: Output, noFields: Bool) throws {
        guard let word = r.memory.readU64(addr) else {
            throw CommandError("Invalid object address \(Sos.p(addr)): not in the dump")
        }
        guard let t = r.type(word & ~7) else {
            throw CommandError("<Note: this object has an invalid CLASS field>\nInvalid object")
        }
        if t.isFree {
            o.line("Free Object")
            o.line("Size:        " + Sos.sizeText(t.objectSize(addr) ?? UInt64(t.baseSize)))
            return
        }
        header(addr, t, r, o)
        if t.isString {
            let text = r.stringValue(addr).map { String($0.prefix(4096)) } ?? "<invalid>"
            o.line("String:      " + text)
        }
        if t.isArray {
            let n = r.target.u32(addr + r.layout.arrayLength) ?? 0
            o.line("Array:       Rank \(t.rank), Number of elements \(n), Type \(t.arrayElementKind.sosName) (Print Array)")
        }
        if noFields { return }
        fields(addr, t, r, o)
    }

    static func header(_ addr: UInt64, _ t: ClrType, _ r: ClrRuntime, _ o: Output) {
        o.line("Name:        " + t.name)
        o.line("MethodTable: " + Sos.p(t.methodTable))
        o.line("EEClass:     " + Sos.p(t.eeClass))
        o.line("Size:        " + Sos.sizeText(t.objectSize(addr) ?? UInt64(t.baseSize)))
        o.line("File:        " + (t.module?.recordedPath ?? "<Unknown Module>"))
        o.line("Module:      " + Sos.p(t.module?.address ?? 0))
    }

    /// Where field values come from: an object (instance offsets count from the object, after its
    /// MethodTable pointer), a value type's bytes (`!DumpVC`, offsets from the address), or none (`!DumpClass`).
    enum FieldsMode { case object, valueClass, classOnly }

    /// `!DumpVC`'s body (and `!da -details` for struct elements), each line prefixed by `indent`.
    static func valueClass(_ addr: UInt64, _ t: ClrType, _ r: ClrRuntime, _ o: Output, indent: String) {
        let inner = Output(sink: { o.write(indent + $0) })
        inner.line("Name:        " + t.name)
        inner.line("MethodTable: " + Sos.p(t.methodTable))
        inner.line("EEClass:     " + Sos.p(t.eeClass))
        inner.line("Size:        " + Sos.sizeText(UInt64(t.baseSize)))
        inner.line("File:        " + (t.module?.recordedPath ?? "<Unknown Module>"))
        fields(addr, t, r, inner, mode: .valueClass)
    }

    static func fields(_ addr: UInt64, _ t: ClrType, _ r: ClrRuntime, _ o: Output, mode: FieldsMode = .object) {
        let all = t.allFields
        if mode != .classOnly { o.line("Fields:") }
        if all.isEmpty { o.line("None"); return }
        o.line("              MT    Field   Offset                 Type VT     Attr            Value Name")
        for f in all {
            let vt = f.isValueType ? 1 : 0
            let attr = f.isThreadLocal ? "TLstatic" : f.isStatic ? "static" : "instance"
            let value: String
            if f.isStatic {
                if let owner = r.type(f.enclosingMT), let a = r.staticFieldAddress(f, of: owner) { value = fieldValue(at: a, f, r, isStatic: true) } else { value = "<no information>" }
            } else {
                switch mode {
                case .object: value = fieldValue(at: addr + 8 + UInt64(f.offset), f, r, isStatic: false)
                case .valueClass: value = fieldValue(at: addr + UInt64(f.offset), f, r, isStatic: false)
                case .classOnly: value = ""
                }
            }
            let shown = f.isStatic || mode == .valueClass ? f.offset : f.offset + 8
            let typeName = f.typeName.isEmpty ? (f.elementType?.systemTypeName ?? "") : f.typeName
            o.line("\(Sos.p(r.fieldTypeMT(f)))  \(String(f.token, radix: 16).leftPad(7)) \(String(shown, radix: 16).leftPad(8)) "
                + "\(Sos.typeColumn(typeName)) \(String(vt).leftPad(2)) \(attr.leftPad(8)) \(value.leftPad(16)) \(f.name)")
        }
    }

    /// SOS's Value column: references as pointers, primitives in decimal, structs as their address.
    static func fieldValue(at a: UInt64, _ f: ClrField, _ r: ClrRuntime, isStatic: Bool) -> String {
        let t = r.target
        guard let et = f.elementType else { return "<invalid>" }
        switch et {
        case .valueType:
            if isStatic { return t.u64(a).map { Sos.p($0) } ?? "<invalid>" }  // boxed
            return Sos.p(a)
        case .boolean, .u1: return t.u8(a).map { String($0) } ?? "<invalid>"
        case .i1: return t.u8(a).map { String(Int8(bitPattern: $0)) } ?? "<invalid>"
        case .char, .u2: return t.u16(a).map { String($0) } ?? "<invalid>"
        case .i2: return t.u16(a).map { String(Int16(bitPattern: $0)) } ?? "<invalid>"
        case .i4: return t.u32(a).map { String(Int32(bitPattern: $0)) } ?? "<invalid>"
        case .u4: return t.u32(a).map { String($0) } ?? "<invalid>"
        case .i8: return t.u64(a).map { String(Int64(bitPattern: $0)) } ?? "<invalid>"
        case .u8: return t.u64(a).map { String($0) } ?? "<invalid>"
        case .r4: return t.u32(a).map { String(format: "%f", Double(Float(bitPattern: $0))) } ?? "<invalid>"
        case .r8: return t.u64(a).map { String(format: "%f", Double(bitPattern: $0)) } ?? "<invalid>"
        case .i, .u, .ptr, .fnptr: return t.u64(a).map { Sos.P($0) } ?? "<invalid>"
        default: return t.u64(a).map { Sos.p($0) } ?? "<invalid>"
        }
    }
}

/// `!DumpObj [-nofields] <address>`.
struct DumpObjCommand: DebuggerCommand {
    let names = ["!DumpObj", "!do", "!DumpObject"]
    let summary = "show a managed object's type, size and fields"
    let help = "!DumpObj [-nofields] <object address>   (also !do). Strings add a String: line."
    var extensionName: String? { "sos" }

    func run(_ inv: Invocation, in s: Session) throws {
        let args = try CommandArguments(inv, flags: ["-nofields"], positionals: 1...1,
                                        usage: "!DumpObj [-nofields] <object address>")
        let noFields = args.has("-nofields")
        let addr = try Sos.address(args.positionals[0], s)
        let r = try Sos.run { try SosRuntimes.runtime(for: s) }
        try SosObject.dump(addr, runtime: r, output: s.output, noFields: noFields)
    }
}

/// `!DumpArray [-start N] [-length N] <address>`.
struct DumpArrayCommand: DebuggerCommand {
    let names = ["!DumpArray", "!da"]
    let summary = "show the elements of a managed array"
    let help = "!DumpArray [-start <index>] [-length <count>] <array address>   (also !da)"
    var extensionName: String? { "sos" }

    func run(_ inv: Invocation, in s: Session) throws {
        let args = try CommandArguments(inv, flags: ["-details", "-nofields"], valued: ["-start", "-length"], positionals: 1...1,
                                        usage: "!DumpArray [-start <index>] [-length <count>] [-details] [-nofields] <array address>")
        let start = try args.values["-start"].map { try Sos.address($0, s) } ?? 0
        let length = try args.values["-length"].map { try Sos.address($0, s) }
        let details = args.has("-details"), noFields = args.has("-nofields")
        let addr = try Sos.address(args.positionals[0], s)
        let r = try Sos.run { try SosRuntimes.runtime(for: s) }
        let o = s.output
        guard let t = r.objectType(addr) else { throw CommandError("<Note: this object has an invalid CLASS field>\nInvalid object") }
        guard t.isArray else { throw CommandError("Not an array, please use !DumpObj instead") }
        SosObject.header(addr, t, r, o)
        let n = UInt64(r.target.u32(addr + r.layout.arrayLength) ?? 0)
        let kind = t.arrayElementKind
        o.line("Array:       Rank \(t.rank), Number of elements \(n), Type \(kind.sosName)")
        o.line("Element Methodtable: " + Sos.p(t.elementType?.methodTable ?? 0))
        let data = addr + (t.isSzArray ? r.layout.szArrayData : 0x10 + 8 * UInt64(t.rank))
        let comp = UInt64(t.componentSize)
        let end = min(n, length.map { start &+ $0 } ?? n)
        var i = start
        while i < end {
            try s.checkInterrupt()
            let a = data + i * comp
            let indented = Output(sink: { o.write("    " + $0) })
            if kind == .class {
                let v = r.target.u64(a)
                o.line("[\(i)] " + (v.map { $0 == 0 ? "null" : Sos.p($0) } ?? "<invalid>"))
                if details, let v, v != 0 {
                    do { try SosObject.dump(v, runtime: r, output: indented, noFields: noFields) } catch let e as CommandError {
                        indented.line(e.message)
                    }
                }
            } else {
                o.line("[\(i)] " + Sos.p(a))
                if details, kind == .valueType, let e = t.elementType {
                    if noFields {
                        indented.line("Name:        " + e.name)
                        indented.line("MethodTable: " + Sos.p(e.methodTable))
                    } else {
                        SosObject.valueClass(a, e, r, indented, indent: "")
                    }
                }
            }
            i += 1
        }
    }
}
