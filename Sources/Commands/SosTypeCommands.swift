import ClrLayout
import DumpModel
import Foundation
import Metadata

/// `!DumpMT [-MD] [-all] <MethodTable>`.
struct DumpMTCommand: ValueCommand {
    let names = ["!DumpMT"]
    let summary = "show a MethodTable (and its methods with -MD)"
    let help = """
    !DumpMT [-MD] [-all] <MethodTable address>
    -MD lists every slot: Entry (the slot's code or precode), MethodDesc, JIT state and name.
    The JIT column is read from the entry itself: PreJIT (ReadyToRun code in the image), JIT (a code
    header naming the method), NONE (a precode still calling the prestub), ? when the bytes are not in the dump.
    Example: !DumpMT -MD 00007f5c61df97c8
    """
    var extensionName: String? { "sos" }

    func evaluate(_ inv: Invocation, in s: Session) throws -> any CommandValue {
        let args = try CommandArguments(inv, flags: ["-md", "-all"], positionals: 1...1,
                                        usage: "!DumpMT [-MD] [-all] <MethodTable address>")
        let flags = args.flags
        let mt = try Sos.address(args.positionals[0], s)
        let r = try Sos.run { try SosRuntimes.runtime(for: s) }
        guard let t = r.type(mt) else { throw CommandError("\(Sos.p(mt)) is not a MethodTable") }
        if t.isFree {
            return MethodTableValue(isFree: true, eeClass: HexValue(0), module: HexValue(0), name: "Free", token: HexValue(0), file: nil,
                                    baseSize: UInt64(t.baseSize), componentSize: UInt64(t.componentSize), dynamicStatics: false,
                                    containsPointers: false, vtableSlots: 0, interfaces: 0, classInfo: nil, methods: nil)
        }
        var methods: [MethodTableValue.Slot]?
        if flags.contains("-md") || flags.contains("-all") {
            methods = []
            for slot in r.methodSlots(t) {
                try s.checkInterrupt()
                methods?.append(.init(entry: slot.entry.map(HexValue.init), methodDesc: HexValue(slot.methodDesc?.address ?? 0), jit: slot.jit.rawValue,
                                      name: slot.methodDesc.map { r.methodName($0.address, withModule: false) } ?? "<no MethodDesc for slot \(slot.slot)>"))
            }
        }
        return MethodTableValue(isFree: false, eeClass: HexValue(t.eeClass), module: HexValue(t.module?.address ?? 0), name: t.name,
                                token: HexValue(UInt64(t.token)), file: t.module?.recordedPath, baseSize: UInt64(t.displayedBaseSize),
                                componentSize: UInt64(t.componentSize), dynamicStatics: t.hasDynamicStatics, containsPointers: t.containsPointers,
                                vtableSlots: r.numMethods(t), interfaces: Int(t.numInterfaces),
                                classInfo: flags.contains("-all") ? SosClass.info(t, r) : nil, methods: methods)
    }
}

/// `!DumpMT`'s value: the MethodTable's header lines, with -all the class's attributes and fields, with -MD its slots.
struct MethodTableValue: CommandValue {
    struct Slot: Encodable {
        /// The slot's code or precode (nil when unreadable).
        let entry: HexValue?
        let methodDesc: HexValue
        /// PreJIT, JIT, NONE or ?.
        let jit: String
        let name: String
    }
    let isFree: Bool
    let eeClass: HexValue
    let module: HexValue
    let name: String
    let token: HexValue
    let file: String?
    let baseSize: UInt64
    let componentSize: UInt64
    let dynamicStatics: Bool
    let containsPointers: Bool
    let vtableSlots: Int
    let interfaces: Int
    let classInfo: ClassInfoValue?
    let methods: [Slot]?

    func textLines() -> [String] {
        if isFree { return ["Free MethodTable", "BaseSize:        0x" + String(baseSize, radix: 16), "ComponentSize:   0x" + String(componentSize, radix: 16)] }
        var out = ["EEClass:         " + Sos.p(eeClass.value), "Module:          " + Sos.p(module.value), "Name:            " + name,
                   "mdToken:         " + Hex.pad(token.value, 16), "File:            " + (file ?? "<Unknown Module>"),
                   "BaseSize:        0x" + String(baseSize, radix: 16), "ComponentSize:   0x" + String(componentSize, radix: 16),
                   "DynamicStatics:  " + (dynamicStatics ? "true" : "false"), "ContainsPointers " + (containsPointers ? "true" : "false"),
                   "Slots in VTable: \(vtableSlots)", "Number of IFaces in IFaceMap: \(interfaces)"]
        if let classInfo { out += classInfo.textLines() }
        guard let methods else { return out }
        out += ["--------------------------------------", "MethodDesc Table", "           Entry       MethodDesc    JIT Name"]
        for m in methods {
            out.append("\(m.entry.map { Sos.p($0.value) } ?? "<invalid>".leftPad(16)) \(Sos.p(m.methodDesc.value)) \(m.jit.leftPad(6)) \(m.name)")
        }
        let unknown = methods.filter { $0.jit == "?" }.count
        if unknown > 0 {
            out.append("(JIT ?: \(unknown) entr\(unknown == 1 ? "y" : "ies") whose code bytes are not in the dump or not recognised)")
        }
        return out
    }
}

/// The class part `!DumpClass` and `!DumpMT -all` print: attributes, field counts, the field table.
struct ClassInfoValue: Encodable {
    /// The TypeDef attributes (nil when the EEClass is not readable).
    let attributes: UInt32?
    let instanceFields: Int
    let staticFields: Int
    let fields: [SosObject.FieldRow]

    func textLines() -> [String] {
        var out = ["Class Attributes:    " + (attributes.map { SosClass.attributesText($0) } ?? "<invalid>"),
                   "NumInstanceFields:   " + String(instanceFields, radix: 16), "NumStaticFields:     " + String(staticFields, radix: 16)]
        if instanceFields + staticFields > 0 { out += SosObject.fieldLines(fields, header: false) }
        return out
    }
}

/// Shared pieces of `!DumpClass` and `!DumpMT -all`.
enum SosClass {
    static func attributesText(_ attr: UInt32) -> String {
        var s = String(attr, radix: 16) + "  "
        if attr & 0x20 != 0 { s += "Interface, " }
        if attr & 0x80 != 0 { s += "Abstract, " }
        if attr & 0x1000 != 0 { s += "ComImport, " }
        return s
    }

    static func info(_ t: ClrType, _ r: ClrRuntime) -> ClassInfoValue {
        let counted = t.numInstanceFields + t.numStaticFields > 0
        return ClassInfoValue(attributes: t.classAttributes, instanceFields: t.numInstanceFields, staticFields: t.numStaticFields,
                              fields: counted ? SosObject.fieldRows(0, t, r, mode: .classOnly) : [])
    }
}

/// `!DumpClass <EEClass>`.
struct DumpClassCommand: ValueCommand {
    let names = ["!DumpClass"]
    let summary = "show an EEClass: attributes, counts and fields (static values included)"
    let help = """
    !DumpClass <EEClass address>   (EEClass addresses come from !DumpMT, !do and !Name2EE)
    Example: !DumpClass 00007f5c61e02380
    """
    var extensionName: String? { "sos" }

    func evaluate(_ inv: Invocation, in s: Session) throws -> any CommandValue {
        let args = try CommandArguments(inv, positionals: 1...1, usage: "!DumpClass <EEClass address>")
        let ee = try Sos.address(args.positionals[0], s)
        let r = try Sos.run { try SosRuntimes.runtime(for: s) }
        guard let t = r.type(forEEClass: ee) else {
            throw CommandError("Invalid EEClass address \(Sos.p(ee))")
        }
        return EEClassValue(name: t.name, token: HexValue(UInt64(t.token)), file: t.module?.recordedPath,
                            parentClass: HexValue(t.parent?.eeClass ?? 0), module: HexValue(t.module?.address ?? 0),
                            methodTable: HexValue(t.methodTable), vtableSlots: Int(t.numVirtuals), totalMethodSlots: r.numVtableSlots(t),
                            classInfo: SosClass.info(t, r))
    }
}

/// `!DumpClass`'s value.
struct EEClassValue: CommandValue {
    let name: String
    let token: HexValue
    let file: String?
    let parentClass: HexValue
    let module: HexValue
    let methodTable: HexValue
    let vtableSlots: Int
    let totalMethodSlots: Int
    let classInfo: ClassInfoValue

    func textLines() -> [String] {
        ["Class Name:      " + name, "mdToken:         " + Hex.pad(token.value, 16), "File:            " + (file ?? "<Unknown Module>"),
         "Parent Class:    " + Sos.p(parentClass.value), "Module:          " + Sos.p(module.value), "Method Table:    " + Sos.p(methodTable.value),
         "Vtable Slots:    " + String(vtableSlots, radix: 16), "Total Method Slots:  " + String(totalMethodSlots, radix: 16)]
            + classInfo.textLines()
    }
}

/// `!DumpModule <Module>`.
struct DumpModuleCommand: ValueCommand {
    let names = ["!DumpModule"]
    let summary = "show a runtime Module: file, assembly, image base, lookup maps, metadata"
    let help = """
    !DumpModule [-mt] <Module address>   (Module addresses come from !DumpMT, !DumpClass and !Name2EE)
    -mt also lists the types the module defines that have a MethodTable.
    Example: !DumpModule -mt 00007f5c61aedc28
    """
    var extensionName: String? { "sos" }

    func evaluate(_ inv: Invocation, in s: Session) throws -> any CommandValue {
        let args = try CommandArguments(inv, flags: ["-mt"], positionals: 1...1, usage: "!DumpModule [-mt] <Module address>")
        let listTypes = args.has("-mt")
        let a = try Sos.address(args.positionals[0], s)
        let r = try Sos.run { try SosRuntimes.runtime(for: s) }
        guard a & 7 == 0, let m = r.module(at: a) else { throw CommandError("Invalid Module address \(Sos.p(a))") }
        let fields = r.moduleFields(m)
        var types: [ModuleValue.TypeRow]?
        if listTypes, let md = m.metadata {
            var rows: [ModuleValue.TypeRow] = []
            for row in 1...max(1, md.rowCount(.typeDef)) {
                try s.checkInterrupt()
                guard let mt = r.methodTable(module: m, typeDefRow: row) else { continue }
                rows.append(.init(methodTable: HexValue(mt), typeDef: HexValue(UInt64(0x0200_0000 | row)),
                                  name: (try? md.fullName(ofTypeDef: row)) ?? "<invalid>"))
            }
            types = rows
        }
        return ModuleValue(address: HexValue(m.address), name: m.recordedPath, assembly: fields.assembly.map(HexValue.init),
                           baseAddress: HexValue(m.imageBase), fileUsed: m.identityNote, peFile: fields.peFile.map(HexValue.init),
                           moduleId: HexValue(m.domainLocalModule), moduleIndex: fields.index.map(HexValue.init),
                           lookupMaps: r.lookupMaps(m).map { .init(name: $0.name, table: $0.table.map(HexValue.init)) },
                           metadataAddress: r.metadataAddress(m).map(HexValue.init), metadataSize: UInt64(m.metadataSize),
                           metadataProblem: r.metadataAddress(m) == nil ? (m.problem ?? "no image base") : nil, types: types)
    }
}

/// `!DumpModule`'s value: the Module's file, assembly, image, lookup maps and metadata, and with -mt the types it
/// defines that have a MethodTable.
struct ModuleValue: CommandValue {
    struct LookupMap: Encodable {
        let name: String
        /// The map's table (nil when not known).
        let table: HexValue?
    }
    struct TypeRow: Encodable {
        let methodTable: HexValue
        let typeDef: HexValue
        let name: String
    }
    let address: HexValue
    /// The module's file as the runtime recorded it.
    let name: String
    let assembly: HexValue?
    let baseAddress: HexValue
    /// Where dumpdbg read the metadata from (the file on the image path, or the image in the dump).
    let fileUsed: String
    let peFile: HexValue?
    let moduleId: HexValue
    let moduleIndex: HexValue?
    let lookupMaps: [LookupMap]
    let metadataAddress: HexValue?
    let metadataSize: UInt64
    let metadataProblem: String?
    /// With -mt.
    let types: [TypeRow]?

    func textLines() -> [String] {
        func row(_ name: String, _ value: String) -> String { (name + ":").rightPad(25) + value }
        var out = ["Name: " + name,
                   row("Attributes", "PEFile "),
                   row("Assembly", assembly.map { Sos.p($0.value) } ?? "<invalid>"),
                   row("BaseAddress", Sos.p(baseAddress.value)),
                   row("File used", fileUsed),
                   row("PEFile", peFile.map { Sos.p($0.value) } ?? "<invalid>"),
                   row("ModuleId", Sos.p(moduleId.value)),
                   row("ModuleIndex", moduleIndex.map { Sos.p($0.value) } ?? "<invalid>"),
                   row("LoaderHeap", "<not known: dumpdbg does not read loader heaps yet>")]
        out += lookupMaps.map { row($0.name, $0.table.map { Sos.p($0.value) } ?? "<not known>") }
        out += [row("MemberRefToDescMap", Sos.p(0)), row("FileReferencesMap", "<not known>"), row("AssemblyReferencesMap", "<not known>")]
        if let metadataAddress {
            out.append(row("MetaData start address", "\(Sos.p(metadataAddress.value)) (\(metadataSize) bytes)"))
        } else {
            out.append(row("MetaData start address", "<not known: \(metadataProblem ?? "no image base")>"))
        }
        guard let types else { return out }
        out += ["", "Types defined in this module", "", "              MT    TypeDef Name", String(repeating: "-", count: 90)]
        out += types.map { "\(Sos.p($0.methodTable.value)) 0x\(Hex.pad($0.typeDef.value, 8)) \($0.name)" }
        return out
    }
}

/// `!Name2EE <module|*> <type or method name>`.
struct Name2EECommand: ValueCommand {
    let names = ["!Name2EE"]
    let summary = "find a type or method by name: its MethodTable, EEClass or MethodDesc"
    let help = """
    !Name2EE <module name|*> <Namespace.Type[.Method]>    also !Name2EE module!Type
    The module is a file name (app.exe, System.Private.CoreLib.dll, with or without extension) or * for every
    module dumpdbg knows (those the heap's types lead to).
    Example: !Name2EE app.exe System.Web.Hosting.IIS7WorkerRequest
    """
    var extensionName: String? { "sos" }

    func evaluate(_ inv: Invocation, in s: Session) throws -> any CommandValue {
        var words = inv.words
        if words.count == 1, let bang = words[0].firstIndex(of: "!") {
            words = [String(words[0][..<bang]), String(words[0][words[0].index(after: bang)...])]
        }
        guard words.count == 2 else { throw CommandError("Usage: !Name2EE <module name|*> <type or method name>", kind: .usage) }
        let (modName, name) = (words[0], words[1])
        let r = try Sos.run { try SosRuntimes.runtime(for: s) }
        let all = r.allModules()
        let mods: [ClrModule]
        if modName == "*" { mods = all } else {
            let want = modName.lowercased()
            mods = all.filter { $0.fileName.lowercased() == want || $0.simpleName.lowercased() == want }
            if mods.isEmpty { throw CommandError("Failed to find module \(modName)") }
        }
        var out: [NamesValue.Module] = []
        for m in mods {
            try s.checkInterrupt()
            var module = NamesValue.Module(address: HexValue(m.address), assembly: m.fileName, problem: nil, matches: [])
            guard let md = m.metadata else { module.problem = m.problem ?? "unknown"; out.append(module); continue }
            if let tok = try? md.typeDef(named: name) {
                let t = r.type(module: m, typeDefRow: tok.row)
                module.matches.append(.init(token: HexValue(UInt64(tok.rawValue)), kind: "type", methodTable: t.map { HexValue($0.methodTable) },
                                            eeClass: t.map { HexValue($0.eeClass) }, methodDesc: nil, name: name, code: nil, codeState: nil))
                out.append(module)
                continue
            }
            // Type.Method: the longest type prefix that is a TypeDef, then its methods of that name.
            guard var dot = name.lastIndex(of: ".") else { out.append(module); continue }
            // `Type..ctor` / `Type..cctor`: the method name starts with the dot.
            if dot > name.startIndex, name[name.index(before: dot)] == "." { dot = name.index(before: dot) }
            guard let tok = try? md.typeDef(named: String(name[..<dot])) else { out.append(module); continue }
            let method = String(name[name.index(after: dot)...])
            let t = r.type(module: m, typeDefRow: tok.row)
            let loaded = t.map { r.introducedMethods(of: $0) } ?? []
            for row in (try? md.methods(ofTypeDef: tok.row)) ?? [] where row.name == method {
                let info = try? md.methodInfo(row.token)
                if let d = loaded.first(where: { $0.token == row.token.rawValue }) {
                    let (entry, code, jit) = r.codeState(of: d, in: t)
                    let state: String
                    switch jit {
                    case .jit, .preJit: state = "jitted"
                    case .none, .fcall: state = "notJitted"
                    case .unknown: state = "unknown"
                    }
                    module.matches.append(.init(token: HexValue(UInt64(row.token.rawValue)), kind: "method", methodTable: nil, eeClass: nil,
                                                methodDesc: HexValue(d.address), name: r.methodName(d.address, withModule: false),
                                                code: state == "jitted" ? HexValue(code != 0 ? code : entry ?? 0) : nil, codeState: state))
                } else {
                    module.matches.append(.init(token: HexValue(UInt64(row.token.rawValue)), kind: "method", methodTable: nil, eeClass: nil,
                                                methodDesc: nil, name: info?.displayName ?? name, code: nil, codeState: nil))
                }
            }
            out.append(module)
        }
        return NamesValue(modules: out)
    }
}

/// `!Name2EE`'s value: per module searched, the type (MethodTable, EEClass) or the methods (MethodDesc, code) found.
struct NamesValue: CommandValue {
    struct Match: Encodable {
        let token: HexValue
        /// "type" or "method".
        let kind: String
        /// Nil when the runtime has not loaded the type.
        let methodTable: HexValue?
        let eeClass: HexValue?
        /// Nil when the runtime has not loaded the method.
        let methodDesc: HexValue?
        let name: String
        let code: HexValue?
        /// "jitted", "notJitted", or "unknown" (the entry's bytes are not in the dump).
        let codeState: String?
    }
    struct Module: Encodable {
        let address: HexValue
        let assembly: String
        var problem: String?
        var matches: [Match]
    }
    let modules: [Module]

    func textLines() -> [String] {
        var out: [String] = []
        for (i, m) in modules.enumerated() {
            if i > 0 { out.append("--------------------------------------") }
            out += ["Module:      " + Sos.p(m.address.value), "Assembly:    " + m.assembly]
            if let p = m.problem { out.append("(no metadata: \(p))"); continue }
            for x in m.matches {
                out.append("Token:       " + Hex.pad(x.token.value, 16))
                if x.kind == "type" {
                    if let mt = x.methodTable, let ee = x.eeClass {
                        out += ["MethodTable: " + Sos.p(mt.value), "EEClass:     " + Sos.p(ee.value)]
                    } else {
                        out += ["MethodTable: " + Sos.p(0) + " (the type is not loaded)", "EEClass:     " + Sos.p(0)]
                    }
                    out.append("Name:        " + x.name)
                } else if let md = x.methodDesc {
                    out += ["MethodDesc:  " + Sos.p(md.value), "Name:        " + x.name]
                    switch x.codeState {
                    case "jitted": out.append("JITTED Code Address: " + Sos.p(x.code?.value ?? 0))
                    case "notJitted": out.append("Not JITTED yet. Use !bpmd -md \(Sos.p(md.value)) to break on run.")
                    default: out.append("JITTED Code Address: <not known: the entry's bytes are not in the dump>")
                    }
                } else {
                    out += ["MethodDesc:  " + Sos.p(0) + " (no MethodDesc: the type or method is not loaded)", "Name:        " + x.name]
                }
            }
        }
        return out
    }
}

/// `!DumpVC <MethodTable> <address>`.
struct DumpVCCommand: ValueCommand {
    let names = ["!DumpVC"]
    let summary = "show the fields of a value type at an address"
    let help = """
    !DumpVC <MethodTable address> <address>   (the MT and Value columns of a VT=1 field in !do)
    Example: !DumpVC 00007f5c61b55130 00007f5c3c0480d8
    """
    var extensionName: String? { "sos" }

    func evaluate(_ inv: Invocation, in s: Session) throws -> any CommandValue {
        let args = try CommandArguments(inv, positionals: 2...2, usage: "!DumpVC <MethodTable address> <address>").positionals
        let mt = try Sos.address(args[0], s), addr = try Sos.address(args[1], s)
        let r = try Sos.run { try SosRuntimes.runtime(for: s) }
        guard let t = r.type(mt), !t.isFree else { throw CommandError("\(Sos.p(mt)) is not a MethodTable") }
        guard t.isValueType else { throw CommandError("\(Sos.p(mt)) (\(t.name)) is not a value class MethodTable") }
        return ValueClassValue(address: HexValue(addr), name: t.name, methodTable: HexValue(t.methodTable), eeClass: HexValue(t.eeClass),
                               size: UInt64(t.baseSize), file: t.module?.recordedPath, fields: SosObject.fieldRows(addr, t, r, mode: .valueClass))
    }
}

/// `!DumpVC`'s value: the struct's type and its fields read at the address.
struct ValueClassValue: CommandValue {
    let address: HexValue
    let name: String
    let methodTable: HexValue
    let eeClass: HexValue
    let size: UInt64
    let file: String?
    /// Nil for `!da -details -nofields`, which shows only the name and MethodTable.
    let fields: [SosObject.FieldRow]?

    func textLines() -> [String] {
        ["Name:        " + name, "MethodTable: " + Sos.p(methodTable.value), "EEClass:     " + Sos.p(eeClass.value),
         "Size:        " + Sos.sizeText(size), "File:        " + (file ?? "<Unknown Module>")]
            + SosObject.fieldLines(fields ?? [], header: true)
    }
}
