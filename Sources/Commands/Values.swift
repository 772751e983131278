import ClrLayout
import DumpModel
import Native

// The values the converted commands compute (Docs/json.md describes their JSON). Each renders WinDbg's text
// from the value alone, so text and JSON always say the same thing.

/// `~`: the threads listed.
struct ThreadListValue: CommandValue {
    struct Row: Encodable {
        let index: Int
        let processId: HexValue
        let threadId: HexValue
        let suspendCount: UInt32
        let teb: HexValue
        let name: String?
        let isCurrent: Bool
        let isEvent: Bool
    }
    let threads: [Row]
    let pointerSize: Int

    init(_ indices: [Int], _ s: Session) {
        pointerSize = s.pointerSize
        threads = indices.map { i in
            let t = s.dump.threads[i]
            return Row(index: i, processId: HexValue(s.dump.processId ?? 0), threadId: HexValue(t.id), suspendCount: t.suspendCount,
                       teb: HexValue(t.teb), name: t.name, isCurrent: i == s.currentThread, isEvent: i == s.eventThread)
        }
    }

    enum CodingKeys: String, CodingKey { case threads }

    /// `.  0  Id: 1f40.3124 Suspend: 0 Teb: 00000026`0b2b5000 Unfrozen "CrBrowserMain"`.
    func textLines() -> [String] {
        threads.map { t in
            let mark: Character = t.isCurrent ? "." : (t.isEvent ? "#" : " ")
            var line = "\(mark)" + String(t.index).leftPad(3)
                + "  Id: \(String(t.processId.value, radix: 16)).\(String(t.threadId.value, radix: 16)) Suspend: \(t.suspendCount) "
                + "Teb: \(Hex.address(t.teb.value, pointerSize: pointerSize)) Unfrozen"
            if let name = t.name { line += " \"\(name)\"" }
            return line
        }
    }
}

/// `.lastevent`: the event the dump was written for.
struct LastEventValue: CommandValue {
    struct Event: Encodable {
        let processId: HexValue
        let threadId: HexValue
        let code: HexValue
        let description: String
        /// "dump" when the dump recorded it, "runtime" when `.loadby sos` found it in the runtime's state.
        let source: String
    }
    let event: Event?
    let debuggerTime: String?
    /// A snapshot of a running process (createdump PID): no event, whatever signal createdump wrote.
    var snapshot = false

    func textLines() -> [String] {
        guard let e = event else {
            return ["Last event: <none>"] + (snapshot ? ["  (a snapshot of a running process: createdump marks every thread SIGABRT, but none is aborting and no managed exception is in flight)"] : [])
        }
        var out = ["Last event: \(String(e.processId.value, radix: 16)).\(String(e.threadId.value, radix: 16)): \(e.description) - code "
                   + "\(Hex.pad(e.code.value, 8)) (first/second chance not available)",
                   "  debugger time: " + (debuggerTime ?? "not available")]
        if e.source == "runtime" {
            out.append("  (the dump does not say which thread crashed: the event comes from the runtime's thread state, after .loadby sos)")
        }
        return out
    }
}

/// `!eeversion`.
struct RuntimeVersionValue: CommandValue {
    let fileVersion: String
    let productVersion: String
    let runtimeFile: String
    /// "workstation", "server", or nil when the dump does not say.
    let gcMode: String?
    let heapKind: String
    let globals: String

    func textLines() -> [String] {
        ["\(fileVersion) (.NET \(productVersion), \(runtimeFile))",
         gcMode == "server" ? "Server mode" : gcMode == "workstation" ? "Workstation mode" : "GC mode: not known (the GC heap type is not in this dump)",
         "GC heap: \(heapKind)",
         "Runtime globals: \(globals)",
         "SOS Version: dumpdbg (reads the runtime's structures itself, no DAC)"]
    }
}

/// `!dumpheap -stat`: objects per type, smallest total first, as SOS sorts them.
struct HeapStatisticsValue: CommandValue {
    struct Row: Encodable {
        let methodTable: HexValue
        let count: Int
        let totalSize: UInt64
        let name: String
    }
    let types: [Row]
    let totalObjects: Int
    /// Problems the walk met (damaged MethodTables), one line each.
    let walkProblems: [String]

    /// Rows for per-type counts, in SOS's order (HeapStat::Sort): total size, then count, then name.
    static func rows<S: Sequence>(_ counts: S, name: (UInt64) -> String) -> [Row] where S.Element == (methodTable: UInt64, count: Int, size: UInt64) {
        counts.map { Row(methodTable: HexValue($0.methodTable), count: $0.count, totalSize: $0.size, name: name($0.methodTable)) }
            .sorted { ($0.totalSize, $0.count, $0.name) < ($1.totalSize, $1.count, $1.name) }
    }

    /// The table of per-type counts, every object counted once.
    init<S: Sequence>(counts: S, name: (UInt64) -> String, walkProblems: [String]) where S.Element == (methodTable: UInt64, count: Int, size: UInt64) {
        let rows = Self.rows(counts, name: name)
        self.init(types: rows, totalObjects: rows.reduce(0) { $0 + $1.count }, walkProblems: walkProblems)
    }

    init(types: [Row], totalObjects: Int, walkProblems: [String]) {
        self.types = types
        self.totalObjects = totalObjects
        self.walkProblems = walkProblems
    }

    /// SOS's per-type table (HeapStat::Print): the header, then "MT Count TotalSize Class Name" rows.
    static func table(_ rows: [Row]) -> [String] {
        ["              MT    Count    TotalSize Class Name"]
            + rows.map { "\(Sos.p($0.methodTable.value)) \(String($0.count).leftPad(8)) \(String($0.totalSize).leftPad(12)) \($0.name)" }
    }

    func textLines() -> [String] {
        var out = walkProblems.map { "Error: " + $0 }
        out += ["Statistics:"] + Self.table(types)
        out.append("Total \(totalObjects) objects")
        return out
    }
}

/// `lm` and its options: the modules listed, with their image details (`v`) and the unloaded ones.
struct ModuleListValue: CommandValue {
    struct Module: Encodable {
        let start: HexValue
        let end: HexValue
        let name: String
        let path: String
        let timestamp: UInt32?
        let checksum: UInt32?
        let fileVersion: String?
        let productVersion: String?
        let pdbName: String?
        /// {GUID} as WinDbg prints it, when the module has a PDB70 CodeView record.
        let pdbGuid: String?
        let pdbAge: UInt32?
        /// The ELF build id or Breakpad code id, hex.
        let buildId: String?
        /// WinDbg's `lmv` lines (kept for the text rendering).
        let details: [String]?
    }
    struct Unloaded: Encodable {
        let start: HexValue
        let end: HexValue
        let name: String
        let timestamp: UInt32
        let details: [String]?
    }
    let modules: [Module]
    let unloaded: [Unloaded]
    let pointerSize: Int

    enum CodingKeys: String, CodingKey { case modules, unloaded }

    func textLines() -> [String] {
        func a(_ v: UInt64) -> String { Hex.address(v, pointerSize: pointerSize) }
        var out = [pointerSize == 8 ? "start             end                 module name" : "start    end        module name"]
        for m in modules {
            out.append("\(a(m.start.value)) \(a(m.end.value))   \(m.name.rightPad(10)) (deferred)             ")
            out += (m.details ?? []).map { "    " + $0 }
        }
        if !unloaded.isEmpty {
            out += ["", "Unloaded modules:"]
            for u in unloaded {
                out.append("\(a(u.start.value)) \(a(u.end.value))   \(u.name)")
                out += (u.details ?? []).map { "    " + $0 }
            }
        }
        return out
    }
}

/// `.exr -1`: the exception record, and where it came from when the dump itself has none.
struct ExceptionRecordValue: CommandValue {
    let address: HexValue
    /// The symbolic name of the address (`module+0xoff`), when it is inside a module.
    let addressName: String?
    let code: HexValue
    let codeName: String
    let flags: HexValue
    let parameters: [HexValue]
    /// "read from", "write to", "execute" for an access violation.
    let accessViolation: String?
    let subcode: HexValue?
    /// "dump" (the dump's exception stream), "runtimeTracker" (the record the runtime raised, through its
    /// exception tracker) or "rebuilt" (made by dumpdbg from the exception object).
    let source: String
    let pointerSize: Int

    enum CodingKeys: String, CodingKey { case address, addressName, code, codeName, flags, parameters, accessViolation, subcode, source }

    func textLines() -> [String] {
        let width = pointerSize * 2
        var out = ["ExceptionAddress: \(Hex.pad(address.value, width))" + (addressName.map { " (\($0))" } ?? ""),
                   "   ExceptionCode: \(Hex.pad(code.value, 8)) (\(codeName))",
                   "  ExceptionFlags: \(Hex.pad(flags.value, 8))",
                   "NumberParameters: \(parameters.count)"]
        for (i, p) in parameters.enumerated() { out.append("   Parameter[\(i)]: \(Hex.pad(p.value, width))") }
        if let k = accessViolation, parameters.count >= 2 { out.append("Attempt to \(k) address \(Hex.pad(parameters[1].value, width))") }
        if let subcode { out.append("Subcode: 0x\(String(subcode.value, radix: 16))") }
        return out
    }
}

/// `r`, `.ecxr`, `.cxr`, `~Ns`: registers, with the current instruction when the whole context is shown.
struct RegistersValue: CommandValue {
    struct Register: Encodable {
        let name: String
        let value: HexValue
        let bits: Int
    }
    /// Set when this is a whole context (WinDbg's block layout); nil for `r REG,REG`.
    let architecture: CPUArchitecture?
    let registers: [Register]
    /// `module!function+0xoff` of the instruction pointer.
    let symbol: String?
    /// The instruction at the instruction pointer, disassembled (WinDbg's line).
    let instruction: String?

    enum CodingKeys: String, CodingKey { case registers, symbol, instruction }

    func textLines() -> [String] {
        guard let architecture else { return [registers.map { "\($0.name)=\(Hex.pad($0.value.value, $0.bits / 4))" }.joined(separator: " ")] }
        let ctx = RegisterContext(architecture: architecture, registers: registers.map { .init(name: $0.name, value: $0.value.value, bits: $0.bits) })
        var out = RegisterCommand.block(ctx)
        if let symbol { out.append(symbol + ":") }
        if let instruction { out.append(instruction) }
        return out
    }
}

/// `u`, `ub`, `uf`: the listing, one line each: function labels, instructions (address, bytes, mnemonic,
/// operands), bytes that do not decode or are missing, and notes.
struct DisassemblyValue: CommandValue {
    struct Line: Encodable {
        /// "label", "instruction", "undecodable", "missing" or "note".
        let kind: String
        let address: HexValue?
        let bytes: String?
        let mnemonic: String?
        let operands: String?
        /// The line as WinDbg prints it.
        let text: String
    }
    let lines: [Line]

    func textLines() -> [String] { lines.map(\.text) }

    /// Collects the lines as a command produces them.
    struct Builder {
        let session: Session
        var lines: [Line] = []
        init(_ s: Session) { session = s }

        var value: DisassemblyValue { DisassemblyValue(lines: lines) }
        mutating func label(_ name: String) {
            lines.append(Line(kind: "label", address: nil, bytes: nil, mnemonic: nil, operands: nil, text: name + ":"))
        }
        mutating func instruction(_ i: Disassembler.Instruction, marked: Bool = false) {
            lines.append(Line(kind: "instruction", address: HexValue(i.address), bytes: i.bytes.lowercaseHex,
                              mnemonic: i.mnemonic, operands: i.operands, text: (marked ? ">>> " : "") + session.instructionText(i)))
        }
        mutating func missing(_ at: UInt64) {
            lines.append(Line(kind: "missing", address: HexValue(at), bytes: nil, mnemonic: nil, operands: nil,
                              text: "\(session.address(at)) ??              ???"))
        }
        mutating func undecodable(_ at: UInt64, _ byte: UInt8) {
            lines.append(Line(kind: "undecodable", address: HexValue(at), bytes: Hex.pad(UInt64(byte), 2), mnemonic: nil, operands: nil,
                              text: "\(session.address(at)) \(Hex.pad(UInt64(byte), 2))              ???"))
        }
        mutating func note(_ text: String) {
            lines.append(Line(kind: "note", address: nil, bytes: nil, mnemonic: nil, operands: nil, text: text))
        }
    }
}
