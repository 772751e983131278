import DumpModel
import Unwind

/// Managed code at an instruction pointer: the method, where its code starts, and (for JIT code) the
/// RUNTIME_FUNCTION that unwinds the frame.
public struct ClrCodeInfo: Sendable {
    public enum Kind: String, Sendable { case jit, readyToRun }
    public let kind: Kind
    public let methodDesc: UInt64
    /// The method's code start (for ReadyToRun, its entry point).
    public let start: UInt64
    /// The base RUNTIME_FUNCTION RVAs count from (the code range's low address, a ReadyToRun image's base), and
    /// the function holding the IP.
    let unwindBase: UInt64
    let function: (begin: UInt32, end: UInt32, unwind: UInt32)?
    /// ReadyToRun code: the Module* of its image.
    var readyToRunModule: UInt64? = nil

    /// The end of the code block holding the IP (the main body or a funclet), when its RUNTIME_FUNCTION is known.
    public var blockEnd: UInt64? { function.map { unwindBase &+ UInt64($0.end) } }
}

/// The runtime's map of its code (Docs/clr/code-lookup.md): code ranges, JIT heaps with their nibble maps and
/// code headers, ReadyToRun images with the runtime's entry point -> MethodDesc map. Read once, then answers
/// IP lookups; every read is bounded, so a damaged structure gives "no method", never a trap.
public final class ClrCodeMap: @unchecked Sendable {
    // @unchecked: filled in init, then only read.
    struct Section { let low: UInt64; let high: UInt64; let heapList: UInt64?; let module: UInt64? }
    // unowned: the runtime keeps its code map (codeMapCache); a strong reference back would be a cycle.
    unowned let runtime: ClrRuntime
    let layout: ClrCodeLookupLayout
    private let sections: [Section]
    /// Per ReadyToRun module: its methods' entry points, sorted, with their MethodDescs.
    private var entryPoints: [UInt64: [(start: UInt64, md: UInt64)]] = [:]

    public init(runtime: ClrRuntime) {
        self.runtime = runtime
        layout = runtime.layout.codeLookup
        sections = Self.readSections(runtime, layout)
    }

    public var sectionCount: Int { sections.count }

    private static func readSections(_ r: ClrRuntime, _ l: ClrCodeLookupLayout) -> [Section] {
        guard let global = r.global(.codeRangeList) else { return [] }
        let t = r.target
        func section(_ rs: UInt64, module: UInt64?) -> Section? {
            guard let low = t.u64(rs &+ l.rsLow), let high = t.u64(rs &+ l.rsHigh), high > low, let flags = t.u32(rs &+ l.rsFlags) else { return nil }
            let slot = t.u64(rs &+ l.rsHeapList) ?? 0
            let isHeap = flags & l.rsFlagCodeHeap != 0
            return Section(low: low, high: high, heapList: isHeap && slot != 0 ? slot : nil, module: module)
        }
        var out: [Section] = []
        switch l.ranges {
        case .list(let next, let r2rFlag):
            var rs = t.u64(global) ?? 0
            var seen = Set<UInt64>()
            while rs != 0, seen.insert(rs).inserted, seen.count < 10_000 {
                let flags = t.u32(rs &+ l.rsFlags) ?? 0
                let module = flags & r2rFlag != 0 ? t.u64(rs &+ l.rsHeapList) : nil
                if let s = section(rs, module: module) { out.append(s) }
                rs = t.u64(rs &+ next) ?? 0
            }
        case .map(let levels, _, let moduleOffset, let nextForDelete):
            // Walk every populated slot of the radix map down to the fragment lists.
            var found = Set<UInt64>()
            func walk(_ table: UInt64, level: Int) {
                for i in 0..<UInt64(256) {
                    guard let raw = t.u64(table &+ i * 8) else { return }
                    let p = raw & ~1
                    if p == 0 { continue }
                    if level > 1 { walk(p, level: level - 1); continue }
                    var frag = p, n = 0
                    while frag != 0, n < 1024 {
                        if let rs = t.u64(frag &+ 0x18), rs != 0, (t.u64(rs &+ nextForDelete) ?? 1) == 0 { found.insert(rs) }
                        frag = (t.u64(frag) ?? 0) & ~1
                        n += 1
                    }
                }
            }
            walk(global, level: levels)
            for rs in found.sorted() {
                let module = t.u64(rs &+ moduleOffset).flatMap { $0 == 0 ? nil : $0 }
                if let s = section(rs, module: module) { out.append(s) }
            }
        }
        return out.sorted { $0.low < $1.low }
    }

    private func section(containing ip: UInt64) -> Section? {
        guard let i = SortedSearch.lastIndex(sections.count, atOrBelow: ip, { sections[$0].low }), ip < sections[i].high else { return nil }
        return sections[i]
    }

    /// The managed method holding `ip`, or nil (native code, a stub, or memory the dump lacks).
    public func code(at ip: UInt64) -> ClrCodeInfo? {
        guard let s = section(containing: ip) else { return nil }
        if let hl = s.heapList { return jitCode(ip, heapList: hl, base: s.low) }
        if let module = s.module { return readyToRunCode(ip, module: module, section: s) }
        return nil
    }

    private func jitCode(_ ip: UInt64, heapList hl: UInt64, base: UInt64) -> ClrCodeInfo? {
        let t = runtime.target, l = layout
        guard let startAddress = t.u64(hl &+ l.hlStart), let end = t.u64(hl &+ l.hlEnd), let mapBase = t.u64(hl &+ l.hlMapBase),
              let map = t.u64(hl &+ l.hlHdrMap), ip >= startAddress, ip <= end,
              let start = Self.findMethodStart(ip, mapBase: mapBase, readDword: { t.u32(map &+ $0 * 4) }) else { return nil }
        // The code header: one pointer before the code; a small value is a stub block's kind, not a header.
        guard let header = t.u64(start &- 8), header > 0xF, let md = t.u64(header &+ l.rchMethodDesc), md != 0,
              let gcInfo = t.u64(header &+ l.rchGCInfo), gcInfo != 0 else { return nil }
        var function: (begin: UInt32, end: UInt32, unwind: UInt32)?
        let count = min(t.u32(header &+ l.rchUnwindCount) ?? 0, 64)
        for i in 0..<UInt64(count) {
            let e = header &+ l.rchUnwindInfos &+ i * 12
            guard let b = t.u32(e), let en = t.u32(e &+ 4), let u = t.u32(e &+ 8), en > b else { continue }
            if ip >= base &+ UInt64(b), ip < base &+ UInt64(en) { function = (b, en, u); break }
        }
        return ClrCodeInfo(kind: .jit, methodDesc: md, start: start, unwindBase: base, function: function)
    }

    /// The nibble map (`EEJitManager::FindMethodCode`): 32-byte buckets, 8 nibbles per DWORD from the high bits,
    /// each nibble the DWORD index of a code start in its bucket plus one.
    static func findMethodStart(_ pc: UInt64, mapBase: UInt64, readDword: (UInt64) -> UInt32?) -> UInt64? {
        guard pc >= mapBase else { return nil }
        let delta = pc - mapBase
        var pos = delta >> 5
        let offs = ((delta & 31) >> 2) + 1
        guard var tmp = readDword(pos >> 3).map({ UInt64($0) >> (28 - (pos & 7) * 4) }) else { return nil }
        if tmp & 0xF != 0, tmp & 0xF <= offs { return mapBase + pos * 32 + ((tmp & 0xF) - 1) * 4 }
        tmp >>= 4
        if tmp != 0 {
            pos -= 1
            while tmp & 0xF == 0 { tmp >>= 4; pos -= 1 }
            return mapBase + pos * 32 + ((tmp & 0xF) - 1) * 4
        }
        guard pos >= 8 else { return nil }
        pos = ((pos >> 3) << 3) - 1
        var index = pos >> 3
        var steps = 0
        while true {
            guard let d = readDword(index) else { return nil }
            if d != 0 { tmp = UInt64(d); break }
            guard index > 0, steps < 1 << 20 else { return nil }
            index -= 1
            pos -= 8
            steps += 1
        }
        while pos != 0, tmp & 0xF == 0 { tmp >>= 4; pos -= 1 }
        if pos == 0, tmp == 0 { return nil }
        return mapBase + pos * 32 + ((tmp & 0xF) - 1) * 4
    }

    /// ReadyToRun code: the method is the nearest entry point at or below the IP that the runtime's
    /// entry point -> MethodDesc map knows (every method that has run is in it).
    private func readyToRunCode(_ ip: UInt64, module: UInt64, section s: Section) -> ClrCodeInfo? {
        if entryPoints[module] == nil { entryPoints[module] = readEntryPointMap(module) }
        guard let list = entryPoints[module], !list.isEmpty else { return nil }
        // A method is not longer than this: past it, the IP is in code the map does not know.
        guard let i = SortedSearch.lastIndex(list.count, atOrBelow: ip, { list[$0].start }),
              list[i].start >= s.low, ip - list[i].start < 0x10000 else { return nil }
        return ClrCodeInfo(kind: .readyToRun, methodDesc: list[i].md, start: list[i].start, unwindBase: s.low,
                           function: readyToRunFunction(ip, module: module, base: s.low), readyToRunModule: module)
    }

    /// The RUNTIME_FUNCTION of a ReadyToRun image holding `ip` (the image's own table; pages the dump lacks
    /// come from the file its mapping names).
    private func readyToRunFunction(_ ip: UInt64, module: UInt64, base: UInt64) -> (begin: UInt32, end: UInt32, unwind: UInt32)? {
        let t = runtime.target
        guard let rti = t.u64(module &+ layout.moduleReadyToRunInfo), rti != 0, let table = t.u64(rti &+ layout.r2rRuntimeFunctions),
              let count = t.u32(rti &+ layout.r2rRuntimeFunctionCount), count < 4_000_000, ip >= base, ip - base < 1 << 32 else { return nil }
        return SortedSearch.runtimeFunction(containing: UInt32(ip - base), count: Int(count), entrySize: 12) { t.u32(table &+ $0) }
    }

    /// The index of a ReadyToRun method's main RUNTIME_FUNCTION (the one that starts at its entry point), which
    /// indexes the image's per-method tables (debug info).
    public func readyToRunMethodIndex(_ c: ClrCodeInfo) -> Int? {
        let t = runtime.target
        guard let module = c.readyToRunModule, let rti = t.u64(module &+ layout.moduleReadyToRunInfo), rti != 0,
              let table = t.u64(rti &+ layout.r2rRuntimeFunctions), let count = t.u32(rti &+ layout.r2rRuntimeFunctionCount),
              count < 4_000_000, c.start >= c.unwindBase, c.start - c.unwindBase < 1 << 32 else { return nil }
        let rva = UInt32(c.start - c.unwindBase)
        var lo = 0, hi = Int(count)
        while lo < hi {
            let mid = (lo + hi) / 2
            guard let b = t.u32(table &+ UInt64(mid) * 12) else { return nil }
            if b < rva { lo = mid + 1 } else { hi = mid }
        }
        guard lo < Int(count), t.u32(table &+ UInt64(lo) * 12) == rva else { return nil }
        return lo
    }

    /// A PtrHashMap (hash.h): the bucket array's first word is the bucket count; buckets follow from +0x40, each
    /// 4 keys then 4 values; a value is MethodDesc >> 1 with bit 63 a collision flag.
    private func readEntryPointMap(_ module: UInt64) -> [(start: UInt64, md: UInt64)] {
        let t = runtime.target
        guard let rti = t.u64(module &+ layout.moduleReadyToRunInfo), rti != 0,
              let buckets = t.u64(rti &+ layout.r2rEntryPointMap &+ 0x10), buckets != 0, let count = t.u64(buckets), count < 1 << 20
        else { return [] }
        var out: [(start: UInt64, md: UInt64)] = []
        for b in 0..<count {
            let bucket = buckets &+ 0x40 &+ b * 0x40
            for k in 0..<UInt64(4) {
                guard let key = t.u64(bucket &+ k * 8), key > 1, let value = t.u64(bucket &+ 0x20 &+ k * 8) else { continue }
                out.append((key, (value & 0x7FFF_FFFF_FFFF_FFFF) << 1))
            }
        }
        return out.sorted { $0.start < $1.start }
    }

    /// Unwinds a frame in JIT code with its RUNTIME_FUNCTION (Windows x64 unwind info on every platform).
    public func unwind(_ regs: [Int: UInt64], pc: UInt64) -> [Int: UInt64]? {
        guard let c = code(at: pc), let f = c.function else { return nil }
        let t = runtime.target
        return WindowsX64Unwinder.virtualUnwind(regs, pc: pc, function: f, base: c.unwindBase, memory: t.memory,
                                                readCode: { a, n in t.read(a, count: n) })
    }
}

extension ClrRuntime {
    /// The runtime's code map, read on first use.
    public var codeMap: ClrCodeMap {
        if let m = codeMapCache { return m }
        let m = ClrCodeMap(runtime: self)
        codeMapCache = m
        return m
    }
}

/// One of the runtime's explicit Frames on a thread's stack (transitions between managed and native code).
public struct ClrExplicitFrame: Sendable {
    public let address: UInt64
    /// The Frame class (`HelperMethodFrame`), or nil when the vtable is not one dumpdbg knows.
    public let name: String?
    /// An active InlinedCallFrame: the managed caller's SP and the return address the runtime shows for it.
    public var inlinedCaller: (sp: UInt64, returnAddress: UInt64)? = nil
    /// The method the Frame stands for (a HelperMethodFrame's FCall), when the runtime can say.
    public var methodDesc: UInt64? = nil
}

extension ClrRuntime {
    /// The thread's explicit Frame chain (`Thread::m_pFrame`, then each Frame's `m_Next`), up to the -1 that ends it.
    public func explicitFrames(thread: UInt64) -> [ClrExplicitFrame] {
        let names = frameVTableNames
        var out: [ClrExplicitFrame] = []
        var f = target.u64(thread &+ layout.codeLookup.threadFrame) ?? 0
        var seen = Set<UInt64>()
        while f != 0, f != UInt64.max, seen.insert(f).inserted, out.count < 4096 {
            let vtable = target.u64(f) ?? 0
            var frame = ClrExplicitFrame(address: f, name: names[vtable])
            let l = layout.codeLookup
            if frame.name == "InlinedCallFrame", let ra = target.u64(f &+ l.inlinedCallerReturnAddress), ra != 0,
               let sp = target.u64(f &+ l.inlinedCallSiteSP) {
                frame.inlinedCaller = (sp, ra)
                // m_Datum: the P/Invoke's MethodDesc, when it is one (a calli keeps a small number there).
                if let datum = target.u64(f &+ l.inlinedCallDatum), datum > 0xFFFF, methodDescInfo(datum) != nil { frame.methodDesc = datum }
            }
            if frame.name?.hasPrefix("HelperMethodFrame") == true { frame.methodDesc = helperFrameMethod(f) }
            if let name = frame.name, ClrFrameClasses.framedMethodFrames.contains(name),
               let md = target.u64(f &+ l.framedMethodDesc), md != 0, methodDescInfo(md) != nil { frame.methodDesc = md }
            out.append(frame)
            f = target.u64(f &+ 8) ?? 0
        }
        return out
    }

    /// HelperMethodFrame::GetFunction: its MethodDesc once its machine state was computed, else the FCall its
    /// entry point implements, from the runtime's FCall hash (127 buckets by address, entries {next, code, MD}).
    func helperFrameMethod(_ frame: UInt64) -> UInt64? {
        let l = layout.codeLookup, t = target
        if let ra = t.u64(frame &+ l.helperFrameReturnAddress), ra != 0 {
            return t.u64(frame &+ l.helperFrameMethodDesc).flatMap { $0 == 0 ? nil : $0 }
        }
        guard let entry = t.u64(frame &+ l.helperFrameFCallEntry), entry != 0,
              let lowest = global(.fcallLowest).flatMap({ t.u64($0) }), let highest = global(.fcallHighest).flatMap({ t.u64($0) }),
              entry >= lowest, entry <= highest, let buckets = global(.fcallMethods) else { return nil }
        var e = t.u64(buckets &+ (entry % 127) * 8) ?? 0
        var steps = 0
        while e != 0, steps < 1000 {
            if t.u64(e &+ 8) == entry { return t.u64(e &+ 0x10).flatMap { $0 == 0 ? nil : $0 } }
            e = t.u64(e) ?? 0
            steps += 1
        }
        return nil
    }

    /// vtable address point -> Frame class name, for the Frame classes this build's globals can find.
    var frameVTableNames: [UInt64: String] {
        var out: [UInt64: String] = [:]
        for name in ClrFrameClasses.names {
            if let a = globals.frameVTable(name) { out[a &+ layout.vtableSymbolOffset] = name }
        }
        return out
    }
}
