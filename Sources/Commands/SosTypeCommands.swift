import ClrLayout
import DumpModel
import Foundation
import Metadata

/// `!DumpMT [-MD] [-all] <MethodTable>`.
struct DumpMTCommand: DebuggerCommand {
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

    func run(_ inv: Invocation, in s: Session) throws {
        let args = try CommandArguments(inv, flags: ["-md", "-all"], positionals: 1...1,
                                        usage: "!DumpMT [-MD] [-all] <MethodTable address>")
        let flags = args.flags
        let mt = try Sos.address(args.positionals[0], s)
        let r = try Sos.run { try SosRuntimes.runtime(for: s) }
        guard let t = r.type(mt) else { throw CommandError("\(Sos.p(mt)) is not a MethodTable") }
        let o = s.output
        if t.isFree {
            o.line("Free MethodTable")
            o.line("BaseSize:        0x" + String(t.baseSize, radix: 16))
            o.line("ComponentSize:   0x" + String(t.componentSize, radix: 16))
            return
        }
        o.line("EEClass:         " + Sos.p(t.eeClass))
        o.line("Module:          " + Sos.p(t.module?.address ?? 0))
        o.line("Name:            " + t.name)
        o.line("mdToken:         " + Hex.pad(UInt64(t.token), 16))
        o.line("File:            " + (t.module?.recordedPath ?? "<Unknown Module>"))
        o.line("BaseSize:        0x" + String(t.displayedBaseSize, radix: 16))
        o.line("ComponentSize:   0x" + String(t.componentSize, radix: 16))
        o.line("DynamicStatics:  " + (t.hasDynamicStatics ? "true" : "false"))
        o.line("ContainsPointers " + (t.containsPointers ? "true" : "false"))
        o.line("Slots in VTable: \(r.numMethods(t))")
        o.line("Number of IFaces in IFaceMap: \(t.numInterfaces)")
        if flags.contains("-all") {
            SosClass.attributesAndFields(t, r, o)
        }
        guard flags.contains("-md") || flags.contains("-all") else { return }
        o.line("--------------------------------------")
        o.line("MethodDesc Table")
        o.line("           Entry       MethodDesc    JIT Name")
        var unknown = 0
        for slot in r.methodSlots(t) {
            try s.checkInterrupt()
            let entry = slot.entry.map { Sos.p($0) } ?? "<invalid>".leftPad(16)
            let md = slot.methodDesc.map { Sos.p($0.address) } ?? Sos.p(0)
            let name = slot.methodDesc.map { r.methodName($0.address, withModule: false) } ?? "<no MethodDesc for slot \(slot.slot)>"
            if slot.jit == .unknown { unknown += 1 }
            o.line("\(entry) \(md) \(slot.jit.rawValue.leftPad(6)) \(name)")
        }
        if unknown > 0 {
            o.line("(JIT ?: \(unknown) entr\(unknown == 1 ? "y" : "ies") whose code bytes are not in the dump or not recognised)")
        }
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

    static func attributesAndFields(_ t: ClrType, _ r: ClrRuntime, _ o: Output) {
        o.line("Class Attributes:    " + (t.classAttributes.map { attributesText($0) } ?? "<invalid>"))
        o.line("NumInstanceFields:   " + String(t.numInstanceFields, radix: 16))
        o.line("NumStaticFields:     " + String(t.numStaticFields, radix: 16))
        if t.numInstanceFields + t.numStaticFields > 0 {
            SosObject.fields(0, t, r, o, mode: .classOnly)
        }
    }
}

/// `!DumpClass <EEClass>`.
struct DumpClassCommand: DebuggerCommand {
    let names = ["!DumpClass"]
    let summary = "show an EEClass: attributes, counts and fields (static values included)"
    let help = """
    !DumpClass <EEClass address>   (EEClass addresses come from !DumpMT, !do and !Name2EE)
    Example: !DumpClass 00007f5c61e02380
    """
    var extensionName: String? { "sos" }

    func run(_ inv: Invocation, in s: Session) throws {
        let args = try CommandArguments(inv, positionals: 1...1, usage: "!DumpClass <EEClass address>")
        let ee = try Sos.address(args.positionals[0], s)
        let r = try Sos.run { try SosRuntimes.runtime(for: s) }
        guard let t = r.type(forEEClass: ee) else {
            throw CommandError("Invalid EEClass address \(Sos.p(ee))")
        }
        let o = s.output
        o.line("Class Name:      " + t.name)
        o.line("mdToken:         " + Hex.pad(UInt64(t.token), 16))
        o.line("File:            " + (t.module?.recordedPath ?? "<Unknown Module>"))
        o.line("Parent Class:    " + Sos.p(t.parent?.eeClass ?? 0))
        o.line("Module:          " + Sos.p(t.module?.address ?? 0))
        o.line("Method Table:    " + Sos.p(t.methodTable))
        o.line("Vtable Slots:    " + String(t.numVirtuals, radix: 16))
        o.line("Total Method Slots:  " + String(r.numVtableSlots(t), radix: 16))
        SosClass.attributesAndFields(t, r, o)
    }
}

/// `!DumpModule <Module>`.
struct DumpModuleCommand: DebuggerCommand {
    let names = ["!DumpModule"]
    let summary = "show a runtime Module: file, assembly, image base, lookup maps, metadata"
    let help = """
    !DumpModule [-mt] <Module address>   (Module addresses come from !DumpMT, !DumpClass and !Name2EE)
    -mt also lists the types the module defines that have a MethodTable.
    Example: !DumpModule -mt 00007f5c61aedc28
    """
    var extensionName: String? { "sos" }

    func run(_ inv: Invocation, in s: Session) throws {
        let args = try CommandArguments(inv, flags: ["-mt"], positionals: 1...1, usage: "!DumpModule [-mt] <Module address>")
        let listTypes = args.has("-mt")
        let a = try Sos.address(args.positionals[0], s)
        let r = try Sos.run { try SosRuntimes.runtime(for: s) }
        guard a & 7 == 0, let m = r.module(at: a) else { throw CommandError("Invalid Module address \(Sos.p(a))") }
        let o = s.output
        func row(_ name: String, _ value: String) { o.line((name + ":").rightPad(25) + value) }
        let fields = r.moduleFields(m)
        o.line("Name: " + m.recordedPath)
        row("Attributes", "PEFile ")
        row("Assembly", fields.assembly.map { Sos.p($0) } ?? "<invalid>")
        row("BaseAddress", Sos.p(m.imageBase))
        row("File used", m.identityNote)
        row("PEFile", fields.peFile.map { Sos.p($0) } ?? "<invalid>")
        row("ModuleId", Sos.p(m.domainLocalModule))
        row("ModuleIndex", fields.index.map { Sos.p($0) } ?? "<invalid>")
        row("LoaderHeap", "<not known: dumpdbg does not read loader heaps yet>")
        for map in r.lookupMaps(m) { row(map.name, map.table.map { Sos.p($0) } ?? "<not known>") }
        let md = m.metadata
        row("MemberRefToDescMap", Sos.p(0))
        row("FileReferencesMap", "<not known>")
        row("AssemblyReferencesMap", "<not known>")
        if let at = r.metadataAddress(m) {
            row("MetaData start address", "\(Sos.p(at)) (\(m.metadataSize) bytes)")
        } else {
            row("MetaData start address", "<not known: \(m.problem ?? "no image base")>")
        }
        guard listTypes, let md else { return }
        o.line()
        o.line("Types defined in this module")
        o.line()
        o.line("              MT    TypeDef Name")
        o.line(String(repeating: "-", count: 90))
        for row in 1...max(1, md.rowCount(.typeDef)) {
            try s.checkInterrupt()
            guard let mt = r.methodTable(module: m, typeDefRow: row) else { continue }
            let name = (try? md.fullName(ofTypeDef: row)) ?? "<invalid>"
            o.line("\(Sos.p(mt)) 0x\(Hex.pad(UInt64(0x0200_0000 | row), 8)) \(name)")
        }
    }
}

/// `!Name2EE <module|*> <type or method name>`.
struct Name2EECommand: DebuggerCommand {
    let names = ["!Name2EE"]
    let summary = "find a type or method by name: its MethodTable, EEClass or MethodDesc"
    let help = """
    !Name2EE <module name|*> <Namespace.Type[.Method]>    also !Name2EE module!Type
    The module is a file name (app.exe, System.Private.CoreLib.dll, with or without extension) or * for every
    module dumpdbg knows (those the heap's types lead to).
    Example: !Name2EE app.exe System.Web.Hosting.IIS7WorkerRequest
    """
    var extensionName: String? { "sos" }

    func run(_ inv: Invocation, in s: Session) throws {
        var words = inv.words
        if words.count == 1, let bang = words[0].firstIndex(of: "!") {
            words = [String(words[0][..<bang]), String(words[0][words[0].index(after: bang)...])]
        }
        guard words.count == 2 else { throw CommandError("Usage: !Name2EE <module name|*> <type or method name>") }
        let (modName, name) = (words[0], words[1])
        let r = try Sos.run { try SosRuntimes.runtime(for: s) }
        let all = r.allModules()
        let mods: [ClrModule]
        if modName == "*" { mods = all } else {
            let want = modName.lowercased()
            mods = all.filter { $0.fileName.lowercased() == want || $0.simpleName.lowercased() == want }
            if mods.isEmpty { throw CommandError("Failed to find module \(modName)") }
        }
        let o = s.output
        for (i, m) in mods.enumerated() {
            try s.checkInterrupt()
            if i > 0 { o.line("--------------------------------------") }
            o.line("Module:      " + Sos.p(m.address))
            o.line("Assembly:    " + m.fileName)
            guard let md = m.metadata else { o.line("(no metadata: \(m.problem ?? "unknown"))"); continue }
            if let tok = try? md.typeDef(named: name) {
                o.line("Token:       " + Hex.pad(UInt64(tok.rawValue), 16))
                if let t = r.type(module: m, typeDefRow: tok.row) {
                    o.line("MethodTable: " + Sos.p(t.methodTable))
                    o.line("EEClass:     " + Sos.p(t.eeClass))
                } else {
                    o.line("MethodTable: " + Sos.p(0) + " (the type is not loaded)")
                    o.line("EEClass:     " + Sos.p(0))
                }
                o.line("Name:        " + name)
                continue
            }
            // Type.Method: the longest type prefix that is a TypeDef, then its methods of that name.
            guard var dot = name.lastIndex(of: ".") else { continue }
            // `Type..ctor` / `Type..cctor`: the method name starts with the dot.
            if dot > name.startIndex, name[name.index(before: dot)] == "." { dot = name.index(before: dot) }
            guard let tok = try? md.typeDef(named: String(name[..<dot])) else { continue }
            let method = String(name[name.index(after: dot)...])
            let t = r.type(module: m, typeDefRow: tok.row)
            let loaded = t.map { r.introducedMethods(of: $0) } ?? []
            for row in (try? md.methods(ofTypeDef: tok.row)) ?? [] where row.name == method {
                let info = try? md.methodInfo(row.token)
                o.line("Token:       " + Hex.pad(UInt64(row.token.rawValue), 16))
                if let d = loaded.first(where: { $0.token == row.token.rawValue }) {
                    o.line("MethodDesc:  " + Sos.p(d.address))
                    o.line("Name:        " + r.methodName(d.address, withModule: false))
                    let (entry, code, jit) = r.codeState(of: d, in: t)
                    switch jit {
                    case .jit, .preJit: o.line("JITTED Code Address: " + Sos.p(code != 0 ? code : entry ?? 0))
                    case .none, .fcall: o.line("Not JITTED yet. Use !bpmd -md \(Sos.p(d.address)) to break on run.")
                    case .unknown: o.line("JITTED Code Address: <not known: the entry's bytes are not in the dump>")
                    }
                } else {
                    o.line("MethodDesc:  " + Sos.p(0) + " (no MethodDesc: the type or method is not loaded)")
                    o.line("Name:        " + (info?.displayName ?? name))
                }
            }
        }
    }
}

/// `!DumpVC <MethodTable> <address>`.
struct DumpVCCommand: DebuggerCommand {
    let names = ["!DumpVC"]
    let summary = "show the fields of a value type at an address"
    let help = """
    !DumpVC <MethodTable address> <address>   (the MT and Value columns of a VT=1 field in !do)
    Example: !DumpVC 00007f5c61b55130 00007f5c3c0480d8
    """
    var extensionName: String? { "sos" }

    func run(_ inv: Invocation, in s: Session) throws {
        let args = try CommandArguments(inv, positionals: 2...2, usage: "!DumpVC <MethodTable address> <address>").positionals
        let mt = try Sos.address(args[0], s), addr = try Sos.address(args[1], s)
        let r = try Sos.run { try SosRuntimes.runtime(for: s) }
        guard let t = r.type(mt), !t.isFree else { throw CommandError("\(Sos.p(mt)) is not a MethodTable") }
        guard t.isValueType else { throw CommandError("\(Sos.p(mt)) (\(t.name)) is not a value class MethodTable") }
        SosObject.valueClass(addr, t, r, s.output, indent: "")
    }
}
