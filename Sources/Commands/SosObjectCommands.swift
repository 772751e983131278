import ClrLayout
import DumpModel
import Foundation

/// Shared `!do`/`!da` header and field printing.
enum SosObject {
    /// Prints `!DumpObj` for `addr`; throws a command error for a pointer that is not an object.
    static func dump(_ addr: UInt64, runtime r: ClrRuntime, output o: Output, noFields: Bool) throws {
        let t: ClrType
        switch r.lookupObject(addr) {
        case .notInDump: throw CommandError("Invalid object address \(Sos.p(addr)): not in the dump")
        case .invalidMethodTable: throw CommandError("<Note: this object has an invalid CLASS field>\nInvalid object")
        case .object(let type): t = type
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
            let n = r.arrayLength(addr) ?? 0
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
                if let owner = r.type(f.enclosingMT), let a = r.staticFieldAddress(f, of: owner) { value = text(r.value(of: f, at: a)) } else { value = "<no information>" }
            } else {
                switch mode {
                case .object: value = text(r.value(of: f, at: r.instanceFieldAddress(addr, f)))
                case .valueClass: value = text(r.value(of: f, at: addr + UInt64(f.offset)))
                case .classOnly: value = ""
                }
            }
            let shown = r.displayedOffset(f, inValueClass: mode == .valueClass)
            let typeName = f.typeName.isEmpty ? (f.elementType?.systemTypeName ?? "") : f.typeName
            o.line("\(Sos.p(r.fieldTypeMT(f)))  \(String(f.token, radix: 16).leftPad(7)) \(String(shown, radix: 16).leftPad(8)) "
                + "\(Sos.typeColumn(typeName)) \(String(vt).leftPad(2)) \(attr.leftPad(8)) \(value.leftPad(16)) \(f.name)")
        }
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
        let n = r.arrayLength(addr) ?? 0
        let kind = t.arrayElementKind
        o.line("Array:       Rank \(t.rank), Number of elements \(n), Type \(kind.sosName)")
        o.line("Element Methodtable: " + Sos.p(t.elementType?.methodTable ?? 0))
        let data = r.arrayData(addr, t)
        let comp = UInt64(t.componentSize)
        let end = min(n, length.map { start &+ $0 } ?? n)
        var i = start
        while i < end {
            try s.checkInterrupt()
            let a = data + i * comp
            let indented = Output(sink: { o.write("    " + $0) })
            if kind == .class {
                var v: UInt64?
                if case .reference(let p) = r.arrayElement(addr, t, index: i) { v = p }
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
