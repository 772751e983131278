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
    }

    static func fields(_ addr: UInt64, _ t: ClrType, _ r: ClrRuntime, _ o: Output) {
        let all = t.allFields
        o.line("Fields:")
        if all.isEmpty { o.line("None"); return }
        o.line("              MT    Field   Offset                 Type VT     Attr            Value Name")
        for f in all {
            let vt = f.isValueType ? 1 : 0
            let attr = f.isThreadLocal ? "TLstatic" : f.isStatic ? "static" : "instance"
            let value: String
            if f.isStatic {
                if let owner = r.type(f.enclosingMT), let a = r.staticFieldAddress(f, of: owner) { value = fieldValue(at: a, f, r, isStatic: true) } else { value = "<no information>" }
            } else {
                value = fieldValue(at: addr + 8 + UInt64(f.offset), f, r, isStatic: false)
            }
            let typeName = f.typeName.isEmpty ? (f.elementType?.systemTypeName ?? "") : f.typeName
            o.line("\(Sos.p(r.fieldTypeMT(f)))  \(String(f.token, radix: 16).leftPad(7)) \(String(f.offset, radix: 16).leftPad(8)) "
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
        var words = inv.words
        let noFields = words.contains { $0.lowercased() == "-nofields" }
        words.removeAll { $0.lowercased() == "-nofields" }
        guard let arg = words.first else { throw CommandError("Missing object address") }
        let addr = try Sos.address(arg, s)
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
        var start: UInt64 = 0, length: UInt64?
        var target: String?
        var words = inv.words[...]
        while let w = words.popFirst() {
            switch w.lowercased() {
            case "-start": start = try words.popFirst().map { try Sos.address($0, s) } ?? 0
            case "-length": length = try words.popFirst().map { try Sos.address($0, s) }
            case "-details", "-nofields": break
            default: target = w
            }
        }
        guard let target else { throw CommandError("Missing array address") }
        let addr = try Sos.address(target, s)
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
            if kind == .class {
                let v = r.target.u64(a)
                o.line("[\(i)] " + (v.map { $0 == 0 ? "null" : Sos.p($0) } ?? "<invalid>"))
            } else {
                o.line("[\(i)] " + Sos.p(a))
            }
            i += 1
        }
    }
}

/// `!DumpMT <MethodTable>`.
struct DumpMTCommand: DebuggerCommand {
    let names = ["!DumpMT"]
    let summary = "show a MethodTable"
    let help = "!DumpMT [-MD] <MethodTable address>"
    var extensionName: String? { "sos" }

    func run(_ inv: Invocation, in s: Session) throws {
        guard let arg = inv.words.last(where: { !$0.hasPrefix("-") }) else { throw CommandError("Missing MethodTable address") }
        let mt = try Sos.address(arg, s)
        let r = try Sos.run { try SosRuntimes.runtime(for: s) }
        guard let t = r.type(mt) else { throw CommandError("\(Sos.p(mt)) is not a MethodTable") }
        let o = s.output
        o.line("EEClass:         " + Sos.p(t.eeClass))
        o.line("Module:          " + Sos.p(t.module?.address ?? 0))
        o.line("Name:            " + t.name)
        o.line("mdToken:         " + Hex.pad(UInt64(t.token), 16))
        o.line("File:            " + (t.module?.recordedPath ?? "<Unknown Module>"))
        o.line("BaseSize:        0x" + String(t.baseSize, radix: 16))
        o.line("ComponentSize:   0x" + String(t.componentSize, radix: 16))
        o.line("Slots in VTable: \(t.numVirtuals)")
        o.line("Number of IFaces in IFaceMap: \(t.numInterfaces)")
    }
}
