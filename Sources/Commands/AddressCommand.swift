import DumpModel
import Foundation

/// `!address`: the target's memory regions (from MemoryInfoList on Windows, program headers in ELF cores),
/// a summary by usage, or the region holding one address.
struct AddressCommand: ValueCommand {
    let names = ["!address"]
    let summary = "show memory regions: list, -summary, or the region of one address"
    let help = """
    !address              lists every region with its type, state, protection and usage.
    !address -summary     totals by usage, type, state and protection.
    !address ADDRESS      the region that holds ADDRESS.
    Example: !address @rsp
    """

    struct Row {
        var base: UInt64, size: UInt64, type: UInt32, state: UInt32, protect: UInt32
        var usage: String, detail: String
        var end: UInt64 { base &+ size }
    }

    static let memCommit: UInt32 = 0x1000, memReserve: UInt32 = 0x2000, memFree: UInt32 = 0x10000
    static let memPrivate: UInt32 = 0x20000, memMapped: UInt32 = 0x40000, memImage: UInt32 = 0x100_0000

    func evaluate(_ inv: Invocation, in s: Session) throws -> any CommandValue {
        let arg = inv.arguments.trimmed(" ")
        let rows = Self.rows(s)
        if rows.isEmpty { throw CommandError("This dump records no memory regions") }
        func value(_ mode: String, _ rows: [Row], address: UInt64? = nil, module: String? = nil) -> RegionsValue {
            RegionsValue(mode: mode, pointerSize: s.pointerSize, regionList: s.dump.regions != nil,
                         regions: rows.map { .init(base: HexValue($0.base), size: HexValue($0.size), type: $0.type, state: $0.state, protect: $0.protect,
                                                   usage: $0.usage, detail: $0.detail) },
                         address: address.map(HexValue.init), module: module)
        }
        if arg.isEmpty {
            try s.checkInterrupt()
            return value("list", rows)
        } else if arg.lowercased() == "-summary" {
            return value("summary", rows)
        } else if arg.hasPrefix("-") {
            throw CommandError("Unsupported option '\(arg)' (supported: -summary, or an address)", kind: .usage)
        }
        let a = try ExpressionEvaluator.evaluate(arg, environment: s.expressionEnvironment)
        let r: Row
        if let hit = rows.first(where: { a >= $0.base && a < $0.end }) {
            r = hit
        } else if s.dump.regions != nil {
            // The dump lists every region the process had, so an address between them is free, as
            // WinDbg shows it: the gap from the previous region's end to the next one's base.
            let below = rows.last(where: { $0.end <= a })?.end ?? 0
            let above = rows.first(where: { $0.base > a })?.base ?? UInt64.max
            r = Row(base: below, size: above - below, type: 0, state: Self.memFree, protect: 1, usage: "Free", detail: "")
        } else {
            throw CommandError("Address \(s.address(a)) is not in any range this dump holds (it records no region list)")
        }
        return value("one", [r], address: a, module: r.usage == "Image" ? s.namer.module(containing: a)?.moduleName : nil)
    }

    /// Builds the region table the dump offers, labelling usage from modules, thread stacks and TEBs.
    static func rows(_ s: Session) -> [Row] {
        let d = s.dump
        var rows: [Row] = []
        // Which module, TEB, stack pointer or stack each region holds: the first in the dump's order, found through
        // overlap indexes (a damaged dump may list thousands of regions, modules and threads).
        let modules = OverlapIndex(d.modules.enumerated().map { ($1.base, $1.end, $0) })
        var tebs: [(start: UInt64, end: UInt64, owner: Int)] = [], stacks: [(start: UInt64, end: UInt64, owner: Int)] = []
        for (i, t) in d.threads.enumerated() {
            if t.teb != 0 { tebs.append((t.teb, t.teb &+ 1, i)) }
            if let sp = t.context?.stackPointer { stacks.append((sp, sp &+ 1, i)) }
            if t.stackSize > 0 { stacks.append((t.stackStart, t.stackStart &+ t.stackSize, i)) }
        }
        let tebIndex = OverlapIndex(tebs), stackIndex = OverlapIndex(stacks)
        func usage(_ base: UInt64, _ end: UInt64, state: UInt32, path: String?) -> (String, String) {
            if state == memFree { return ("Free", "") }
            if let i = modules.firstOwner(overlapping: base, end) {
                let m = d.modules[i]
                return ("Image", "[\(m.moduleName); \"\(m.path)\"]")
            }
            // The first thread whose TEB, stack pointer or stack is in the region; a TEB names it first.
            let teb = tebIndex.firstOwner(overlapping: base, end), stack = stackIndex.firstOwner(overlapping: base, end)
            if let i = [teb, stack].compactMap({ $0 }).min() {
                let t = d.threads[i]
                let label = "[~\(i); \(String(d.processId ?? 0, radix: 16)).\(String(t.id, radix: 16))]"
                return (teb == i ? "TEB" : "Stack", label)
            }
            if let path { return ("MappedFile", "\"\(path)\"") }
            return ("<unknown>", "")
        }
        if let regions = d.regions {
            for r in regions {
                var type = r.type, state = r.state, protect = r.protect
                if let flags = r.elfFlags {
                    // ELF segments: all committed; protection from the segment's r/w/x flags.
                    state = memCommit
                    type = r.mappedPath != nil ? memMapped : memPrivate
                    protect = elfProtect(flags)
                }
                var (u, detail) = usage(r.base, r.end, state: state, path: r.mappedPath)
                if u == "Image" && r.elfFlags != nil { type = memImage }
                if u == "Free" { detail = "" }
                rows.append(Row(base: r.base, size: r.size, type: type, state: state, protect: protect, usage: u, detail: detail))
            }
        } else {
            // No MemoryInfoList: the captured ranges are all we know.
            for r in d.memory.ranges {
                let (u, detail) = usage(r.start, r.end, state: memCommit, path: nil)
                rows.append(Row(base: r.start, size: r.size, type: 0, state: memCommit, protect: 0, usage: u, detail: detail))
            }
        }
        return rows.sorted { $0.base < $1.base }
    }

    static func elfProtect(_ flags: UInt32) -> UInt32 {
        let r = flags & 4 != 0, w = flags & 2 != 0, x = flags & 1 != 0
        switch (r, w, x) {
        case (_, true, true): return 0x40
        case (_, false, true): return 0x20
        case (_, true, false): return 0x04
        case (true, false, false): return 0x02
        default: return 0x01
        }
    }

    static func typeName(_ t: UInt32) -> String {
        switch t {
        case memImage: return "MEM_IMAGE"
        case memMapped: return "MEM_MAPPED"
        case memPrivate: return "MEM_PRIVATE"
        default: return ""
        }
    }

    static func stateName(_ st: UInt32) -> String {
        switch st {
        case memCommit: return "MEM_COMMIT"
        case memReserve: return "MEM_RESERVE"
        case memFree: return "MEM_FREE"
        default: return ""
        }
    }

    static func protectName(_ p: UInt32) -> String {
        if p == 0 { return "" }
        let base: [UInt32: String] = [0x01: "PAGE_NOACCESS", 0x02: "PAGE_READONLY", 0x04: "PAGE_READWRITE", 0x08: "PAGE_WRITECOPY",
                                      0x10: "PAGE_EXECUTE", 0x20: "PAGE_EXECUTE_READ", 0x40: "PAGE_EXECUTE_READWRITE", 0x80: "PAGE_EXECUTE_WRITECOPY"]
        var parts = [base[p & 0xFF] ?? "PAGE_\(Hex.pad(UInt64(p & 0xFF), 2))"]
        if p & 0x100 != 0 { parts.append("PAGE_GUARD") }
        if p & 0x200 != 0 { parts.append("PAGE_NOCACHE") }
        if p & 0x400 != 0 { parts.append("PAGE_WRITECOMBINE") }
        return parts.joined(separator: " | ")
    }

    static func human(_ bytes: UInt64) -> String {
        let units = ["B", "kB", "MB", "GB", "TB"]
        var v = Double(bytes), i = 0
        while v >= 1024 && i < units.count - 1 { v /= 1024; i += 1 }
        return "(" + String(format: "%8.3f", v) + " \(units[i]))"
    }
}

/// `!address`'s value: the regions (all of them, for the list and the summary; the one holding the address).
struct RegionsValue: CommandValue {
    struct Region: Encodable {
        let base: HexValue
        let size: HexValue
        /// MEMORY_BASIC_INFORMATION's Type, State and Protect (ELF segments mapped onto them).
        let type: UInt32
        let state: UInt32
        let protect: UInt32
        /// "Image", "Stack", "TEB", "MappedFile", "Free", "<unknown>".
        let usage: String
        let detail: String
        var end: UInt64 { base.value &+ size.value }
    }
    /// "list", "summary" or "one".
    let mode: String
    let pointerSize: Int
    /// The dump records every region of the process (a MemoryInfoList, or ELF program headers).
    let regionList: Bool
    let regions: [Region]
    /// The address asked about ("one").
    let address: HexValue?
    /// The module an Image region belongs to ("one").
    let module: String?

    enum CodingKeys: String, CodingKey { case mode, regionList, regions, address, module }

    typealias A = AddressCommand

    func textLines() -> [String] {
        switch mode {
        case "summary": return summaryLines()
        case "one": return oneLines()
        default: return listLines()
        }
    }

    func listLines() -> [String] {
        let wide = pointerSize == 8
        func a(_ v: UInt64) -> String { wide ? Hex.compactTick(v).leftPad(17) : Hex.pad(v, 8).leftPad(9) }
        var out = ["", "  BaseAddress      EndAddress+1        RegionSize     Type       State                 Protect             Usage",
                   String(repeating: "-", count: 122)]
        for r in regions {
            out.append("+" + a(r.base.value) + " " + a(r.end) + " " + a(r.size.value) + " " + A.typeName(r.type).rightPad(12)
                + A.stateName(r.state).rightPad(12) + A.protectName(r.protect).rightPad(35) + r.usage.rightPad(11) + r.detail)
        }
        return out
    }

    func summaryLines() -> [String] {
        var out: [String] = []
        let busy = regions.filter { $0.state != A.memFree }
        let busyTotal = busy.reduce(0) { $0 &+ $1.size.value }
        let total = regions.reduce(0) { $0 &+ $1.size.value }
        func pct(_ v: UInt64, _ of: UInt64) -> String { of == 0 ? "" : String(format: "%6.2f%%", Double(v) * 100 / Double(of)) }
        func section(_ title: String, _ groups: [(String, [Region])], ofBusy: Bool) {
            out.append(title)
            for (name, rs) in groups where !rs.isEmpty {
                let size = rs.reduce(0) { $0 &+ $1.size.value }
                out.append(name.rightPad(33) + String(rs.count).leftPad(8) + Hex.compactTick(size).leftPad(18) + " " + A.human(size)
                    + " " + (ofBusy ? pct(size, busyTotal).leftPad(8) : "".leftPad(8)) + " " + pct(size, total).leftPad(8))
            }
            out.append("")
        }
        out.append("")
        let usages = Array(Set(regions.map(\.usage))).sorted()
        section("--- Usage Summary ---------------- RgnCount ----------- TotalSize -------- %ofBusy %ofTotal",
                usages.map { u in (u, regions.filter { $0.usage == u }) }, ofBusy: true)
        if regionList {
            let types = Array(Set(busy.map(\.type))).sorted().map { t in (A.typeName(t).isEmpty ? "<none>" : A.typeName(t), busy.filter { $0.type == t }) }
            section("--- Type Summary (for busy) ------ RgnCount ----------- TotalSize -------- %ofBusy %ofTotal", types, ofBusy: true)
            let states = Array(Set(regions.map(\.state))).sorted().map { st in (A.stateName(st), regions.filter { $0.state == st }) }
            section("--- State Summary ---------------- RgnCount ----------- TotalSize -------- %ofBusy %ofTotal", states, ofBusy: true)
            let committed = regions.filter { $0.state == A.memCommit }
            let prots = Array(Set(committed.map(\.protect))).sorted().map { p in (A.protectName(p), committed.filter { $0.protect == p }) }
            section("--- Protect Summary (for commit) - RgnCount ----------- TotalSize -------- %ofBusy %ofTotal", prots, ofBusy: true)
        }
        out.append("--- Largest Region by Usage ----------- Base Address -------- Region Size ----------")
        for u in usages {
            guard let big = regions.filter({ $0.usage == u }).max(by: { $0.size.value < $1.size.value }) else { continue }
            out.append(u.rightPad(33) + Hex.compactTick(big.base.value).leftPad(17) + Hex.compactTick(big.size.value).leftPad(18) + " " + A.human(big.size.value))
        }
        return out
    }

    func oneLines() -> [String] {
        guard let r = regions.first, let a = address?.value else { return [] }
        func addr(_ v: UInt64) -> String { Hex.address(v, pointerSize: pointerSize) }
        func typed(_ v: UInt32, _ name: String) -> String { name.isEmpty ? "" : Hex.pad(UInt64(v), 8) + name }
        var out = ["Usage:                  \(r.usage)", "Base Address:           \(addr(r.base.value))", "End Address:            \(addr(r.end))",
                   "Region Size:            \(addr(r.size.value)) \(A.human(r.size.value))",
                   "State:                  \(typed(r.state, A.stateName(r.state)))", "Protect:                \(typed(r.protect, A.protectName(r.protect)))",
                   "Type:                   " + (r.state == A.memFree ? "<info not present at the target>" : typed(r.type, A.typeName(r.type)))]
        if r.usage == "Image", let module {
            out += ["More info:              lmv m \(module)", "More info:              ln \(addr(a))"]
        } else if !r.detail.isEmpty {
            out.append("More info:              \(r.detail)")
        }
        out += ["", "", "Content source: \(r.state == A.memFree ? "0 (invalid)" : "1 (target)"), length: \(String(r.end &- a, radix: 16))"]
        return out
    }
}
