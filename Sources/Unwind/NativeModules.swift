import DumpModel
import Foundation
import Native

/// The debug information dumpdbg has for each module of a dump: its image (the file on disk when one with
/// the same build id is found, else what the dump's memory holds), call frame information and function
/// symbols. Loaded on first use and kept; one instance per dump and image path.
public final class NativeModules: @unchecked Sendable {
    // @unchecked: the cache is guarded by `lock`; everything else is immutable.
    public struct Info: Sendable {
        public let module: DumpModule
        public let image: ElfImage?
        let cfi: EhFrameInfo?
        /// `.debug_frame` from the image file: the rules of code built without unwind tables.
        let debugFrame: DebugFrameInfo?
        /// PE images in the dump's memory: exported names (sorted by RVA) and the x64 unwind tables.
        let exports: [(rva: UInt32, name: String)]
        let windowsUnwinder: WindowsX64Unwinder?
        /// The PE image file matched to the module (by PE timestamp and size), read where the dump lacks pages.
        public var peFilePath: String? = nil
        /// Why no file was used, when none was ("no build id in the dump", "not found", "build id differs").
        public let fileProblem: String?
        /// The module's Breakpad symbol file from the symbol path: names, source lines, inlined calls, unwind rules.
        public var breakpad: BreakpadSymbolFile? = nil
        /// Why no symbol file was used, when the symbol path is set and none was.
        public var breakpadProblem: String? = nil

        /// Where names and unwind data come from, for `lmv` and `.help k`.
        public var symbolSource: String {
            let own = imageSymbolSource
            guard let breakpad else { return own }
            var what = ["Breakpad .sym"]
            if breakpad.hasLines { what.append("lines") }
            if breakpad.hasCallFrameRules { what.append("unwind rules") }
            return "\(what.joined(separator: ", ")) (\(breakpad.path))" + (own == "none" ? "" : "; " + own)
        }

        private var imageSymbolSource: String {
            if !exports.isEmpty || windowsUnwinder != nil {
                return [exports.isEmpty ? nil : "export symbols", windowsUnwinder != nil ? ".pdata" : nil].compactMap { $0 }.joined(separator: ", ")
                    + (peFilePath.map { " (the dump's memory, then \($0))" } ?? " (the dump's memory)")
            }
            guard let image else { return "none" }
            var parts: [String] = []
            if let t = image.symbolTable { parts.append(t) }
            if cfi != nil { parts.append(".eh_frame") }
            if debugFrame != nil { parts.append(".debug_frame") }
            if parts.isEmpty { parts.append("image headers only") }
            return parts.joined(separator: ", ") + " (\(image.source))"
        }
    }

    public let dump: any Dump
    public let imagePath: [String]
    public let symbolPath: SymbolPath
    private let namer: AddressNamer
    private var cache: [UInt64: Info] = [:]
    private var lineTables: [UInt64: DwarfLineTable?] = [:]
    private let lock = NSLock()

    /// `namer`: the dump's module table when the caller has one already (a session does).
    public init(dump: any Dump, imagePath: [String], symbolPath: SymbolPath = SymbolPath(""), namer: AddressNamer? = nil) {
        self.dump = dump
        self.imagePath = imagePath
        self.symbolPath = symbolPath
        self.namer = namer ?? AddressNamer(dump: dump)
    }

    public func module(containing address: UInt64) -> DumpModule? { namer.module(containing: address) }

    /// The end of the highest module (pointer authentication stripping keeps the bits it needs).
    var highestAddress: UInt64 { dump.modules.map { $0.base &+ $0.size }.max() ?? 0 }

    public func info(for module: DumpModule) -> Info {
        lock.lock()
        if let i = cache[module.base] { lock.unlock(); return i }
        lock.unlock()
        var i = load(module)
        attachSymbolFile(&i)
        lock.lock()
        cache[module.base] = i
        lock.unlock()
        return i
    }

    /// `module!function+0xoff` where a symbol covers the address, else `module+0xoff`, else nil.
    public func name(_ address: UInt64) -> String? {
        guard let m = namer.module(containing: address) else { return nil }
        if let (symbol, offset) = symbol(at: address, in: m) {
            return offset == 0 ? "\(m.moduleName)!\(symbol)" : "\(m.moduleName)!\(symbol)+0x\(String(offset, radix: 16))"
        }
        return namer.name(address)
    }

    /// A frame's call site: its instruction pointer named, except that a return address just past a function's
    /// last call (a call to a function that does not return) names the function that made the call.
    public func callSite(of frame: NativeFrame) -> String? {
        let ip = frame.instructionPointer, lookup = frame.lookupAddress
        if lookup != ip, let m = module(containing: lookup), let (fn, off) = symbol(at: lookup, in: m),
           symbol(at: ip, in: m)?.0 != fn {
            return "\(m.moduleName)!\(fn)+0x\(String(off + 1, radix: 16))"
        }
        return name(ip)
    }

    /// The function symbol holding a runtime address, and the offset into it.
    public func symbol(at address: UInt64, in module: DumpModule) -> (String, UInt64)? {
        let i = info(for: module)
        if let bp = i.breakpad, address >= module.base {
            let rva = address - module.base
            if let f = bp.function(at: rva) { return (BreakpadSymbolFile.displayName(f.name), rva - f.start) }
            if let p = bp.publicSymbol(at: rva) { return (BreakpadSymbolFile.displayName(p.name), rva - p.address) }
        }
        if !i.exports.isEmpty, address >= module.base, address - module.base < 1 << 32 {
            // Export symbols, as WinDbg uses them: the nearest export at or below the address.
            let rva = UInt32(address - module.base)
            guard let e = SortedSearch.lastIndex(i.exports.count, atOrBelow: UInt64(rva), { UInt64(i.exports[$0].rva) }) else { return nil }
            return (i.exports[e].name, UInt64(rva - i.exports[e].rva))
        }
        guard let image = i.image, !image.symbols.isEmpty else { return nil }
        guard let (s, off) = image.symbol(at: address &- image.bias) else { return nil }
        return (Demangler.functionName(s.name), off)
    }

    /// The bounds of the function holding an address: an ELF symbol's start and size, or a PE x64 RUNTIME_FUNCTION.
    public func functionBounds(at address: UInt64) -> (start: UInt64, end: UInt64)? {
        guard let m = namer.module(containing: address) else { return nil }
        let i = info(for: m)
        if let bp = i.breakpad, let f = bp.function(at: address - m.base) {
            return (m.base &+ f.start, m.base &+ f.start &+ f.size)
        }
        if let pe = i.windowsUnwinder, address - m.base < 1 << 32, let f = pe.function(containing: UInt32(address - m.base)) {
            return (m.base + UInt64(f.begin), m.base + UInt64(f.end))
        }
        guard let image = i.image, let (sym, _) = image.symbol(at: address &- image.bias), sym.size > 0 else { return nil }
        return (sym.start &+ image.bias, sym.start &+ image.bias &+ sym.size)
    }

    /// Every function symbol of a module with its runtime address (names demangled), for `x` and `ln`.
    public func symbols(in module: DumpModule) -> [(address: UInt64, name: String)] {
        let i = info(for: module)
        if let bp = i.breakpad, !bp.functions.isEmpty || !bp.publics.isEmpty {
            return (bp.functions.map { (module.base &+ $0.start, BreakpadSymbolFile.displayName($0.name)) }
                    + bp.publics.map { (module.base &+ $0.address, BreakpadSymbolFile.displayName($0.name)) }).sorted { $0.0 < $1.0 }
        }
        if !i.exports.isEmpty { return i.exports.map { (module.base &+ UInt64($0.rva), $0.name) } }
        guard let image = i.image else { return [] }
        return image.symbols.map { ($0.start &+ image.bias, Demangler.functionName($0.name)) }
    }

    /// The address of `module!name` (the first symbol of that name; C++ names match demangled or mangled).
    public func address(of name: String, in module: DumpModule) -> UInt64? {
        let i = info(for: module)
        if let bp = i.breakpad {
            if let f = bp.functions.first(where: { $0.name == name || BreakpadSymbolFile.displayName($0.name) == name }) { return module.base &+ f.start }
            if let p = bp.publics.first(where: { $0.name == name || BreakpadSymbolFile.displayName($0.name) == name }) { return module.base &+ p.address }
        }
        if let e = i.exports.first(where: { $0.name == name }) { return module.base &+ UInt64(e.rva) }
        guard let image = i.image else { return nil }
        if let s = image.symbols.first(where: { $0.name == name }) { return s.start &+ image.bias }
        return image.symbols.first { $0.name.hasPrefix("_Z") && Demangler.functionName($0.name) == name }.map { $0.start &+ image.bias }
    }

    /// True when the module has a complete function table (a .symtab, or a Breakpad file's FUNC records), so that an
    /// address outside every function is suspect; export tables name only some functions.
    func hasSymbols(_ module: DumpModule) -> Bool {
        let i = info(for: module)
        // Exports alone (.dynsym) leave internal functions out: an address outside them proves nothing.
        return !(i.breakpad?.functions.isEmpty ?? true) || (i.image.map { !$0.symbols.isEmpty && $0.hasCompleteSymbols } ?? false)
    }

    /// The functions at a code address from the module's symbol file, innermost inlined call first (empty without
    /// a symbol file or a FUNC/PUBLIC there). Starts are runtime addresses.
    public func sourceFrames(at address: UInt64) -> [BreakpadSymbolFile.SourceFrame] {
        guard let m = namer.module(containing: address) else { return [] }
        let i = info(for: m)
        if let bp = i.breakpad {
            return bp.sourceFrames(at: address - m.base).map {
                .init(function: $0.function, start: m.base &+ $0.start, file: $0.file, line: $0.line, isInline: $0.isInline)
            }
        }
        // An ELF image (or its debug file) with DWARF line tables.
        guard let image = i.image, let table = lineTable(for: m, image), let (file, line) = table.line(at: address &- image.bias),
              let (name, offset) = symbol(at: address, in: m) else { return [] }
        return [.init(function: name, start: address &- offset, file: file, line: line, isInline: false)]
    }

    /// The module's DWARF line table, read on first use and kept (nil when its files have none).
    private func lineTable(for module: DumpModule, _ image: ElfImage) -> DwarfLineTable? {
        lock.lock()
        if let cached = lineTables[module.base] { lock.unlock(); return cached }
        lock.unlock()
        var table: DwarfLineTable?
        if let read = image.section, let lines = read(".debug_line") {
            let t = DwarfLineTable(debugLine: lines, lineStrings: read(".debug_line_str"), strings: read(".debug_str"))
            table = t.isEmpty ? nil : t
        }
        lock.lock()
        lineTables[module.base] = .some(table)
        lock.unlock()
        return table
    }

    func breakpad(for module: DumpModule) -> BreakpadSymbolFile? { info(for: module).breakpad }

    /// Finds the module's symbol file on the symbol path; a file whose MODULE line names another build is refused.
    private func attachSymbolFile(_ i: inout Info) {
        guard !symbolPath.folders.isEmpty else { return }
        guard let id = DebugIdentity(module: i.module) else {
            i.breakpadProblem = "the dump records no debug id for it"
            return
        }
        guard let path = symbolPath.breakpadFile(for: id) else {
            i.breakpadProblem = "no \(id.debugFile)/\(id.debugId)/\(id.symbolFileName) on the symbol path"
            return
        }
        do {
            let file = try BreakpadSymbolFile(path: path)
            if let fileId = file.identity?.id, fileId.uppercased() != id.debugId.uppercased() {
                i.breakpadProblem = "\(path) is for debug id \(fileId), not \(id.debugId)"
                return
            }
            i.breakpad = file
        } catch {
            i.breakpadProblem = error.message
        }
    }

    func windowsUnwinder(for module: DumpModule) -> WindowsX64Unwinder? { info(for: module).windowsUnwinder }

    func unwindRow(at address: UInt64, in module: DumpModule) -> (UnwindRow, bias: UInt64)? {
        let i = info(for: module)
        guard let image = i.image else { return nil }
        // .eh_frame first (what the runtime's own unwinder uses); .debug_frame covers what it does not.
        let pc = address &- image.bias
        guard let row = i.cfi?.row(at: pc) ?? i.debugFrame?.row(at: pc) else { return nil }
        return (row, image.bias)
    }

    /// Code bytes ending at `address`, from the dump's memory or else the module's image file.
    func codeBytes(endingAt address: UInt64, count: Int) -> [UInt8]? {
        guard address >= UInt64(count) else { return nil }
        if let b = dump.memory.readExact(address - UInt64(count), count: count) { return b }
        guard let m = namer.module(containing: address - 1), let image = info(for: m).image, case .file = image.source else { return nil }
        return image.read(address &- image.bias &- UInt64(count), count)
    }

    /// Bytes of a module's image file at a runtime address (for code a dump does not hold).
    public func imageBytes(at address: UInt64, count: Int) -> [UInt8]? {
        guard let m = namer.module(containing: address), let image = info(for: m).image, case .file = image.source else { return nil }
        var n = count
        while n > 0 {
            if let b = image.read(address &- image.bias, n) { return b }
            n /= 2
        }
        return nil
    }

    private func load(_ module: DumpModule) -> Info {
        let isPE = module.fileName.lowercased().hasSuffix(".dll") || module.fileName.lowercased().hasSuffix(".exe")
        // The identity the dump gives the image: its headers in memory, else the module list's timestamp and size.
        let peIdentity = ImageIdentity.peIdentity(memory: dump.memory, base: module.base)
            ?? module.timestamp.flatMap { stamp in isPE && module.size > 0 && module.size < 1 << 32 ? ImageIdentity.pe(timeDateStamp: stamp, sizeOfImage: UInt32(module.size)) : nil }
        var peFile: PEFileMapping?, peFilePath: String?
        if let id = peIdentity {
            // The same image on disk (matched by PE timestamp and size) fills the pages the dump lacks.
            for path in candidatePaths(module) {
                guard let f = try? MappedFile(path: path), ImageIdentity.of(file: f, like: id) == id, let mapping = PEFileMapping(path: path)
                else { continue }
                peFile = mapping
                peFilePath = path
                break
            }
        }
        if let pe = PEImageInMemory(memory: dump.memory, base: module.base, file: peFile) {
            let unwinder = pe.is64 && dump.system.architecture == .amd64 ? WindowsX64Unwinder(image: pe) : nil
            var info = Info(module: module, image: nil, cfi: nil, debugFrame: nil, exports: pe.exports(), windowsUnwinder: unwinder?.hasTable == true ? unwinder : nil,
                            fileProblem: nil)
            info.peFilePath = peFilePath
            return info
        }
        if isPE {
            let want = peIdentity.map { " (\($0))" } ?? ""
            return Info(module: module, image: nil, cfi: nil, debugFrame: nil, exports: [], windowsUnwinder: nil,
                        fileProblem: "the image's headers are not in the dump and no \(module.fileName)\(want) is on the image path")
        }
        var problem: String?
        var image: ElfImage?
        if let id = module.buildId, !id.isEmpty {
            for path in candidatePaths(module) {
                guard let f = try? MappedFile(path: path), let fileId = ImageIdentity.elfBuildId(of: f) else { continue }
                // Breakpad code ids are the build id's first 16 bytes.
                guard fileId == id || (id.count == 16 && fileId.count >= 16 && Array(fileId.prefix(16)) == id) else {
                    problem = "\(path) has another build id"
                    continue
                }
                if let i = ElfImage.file(path: path, base: module.base) { image = i; problem = nil; break }
            }
            if image == nil && problem == nil { problem = "no file with its build id on the image path" }
        } else {
            problem = "the dump records no build id, so no file can be matched to it"
        }
        if image == nil { image = ElfImage.memory(dump.memory, base: module.base) }
        // A stripped image's own symbols are its exports (.dynsym) at best: its debug file names the rest.
        if let i = image, !i.hasCompleteSymbols, let id = module.buildId,
           let debugPath = ElfDebugFile.path(buildId: id, symbolFolders: symbolPath.folders),
           let merged = i.withDebugFile(path: debugPath) {
            image = merged
        }
        let cfi = image.flatMap { EhFrameInfo(image: $0) }
        return Info(module: module, image: image, cfi: cfi, debugFrame: image.flatMap { DebugFrameInfo(image: $0) }, exports: [],
                    windowsUnwinder: nil, fileProblem: problem)
    }

    /// The module's own path first (where the process loaded it), then the image path by file name.
    private func candidatePaths(_ module: DumpModule) -> [String] {
        var out: [String] = []
        if module.path.hasPrefix("/"), FileManager.default.fileExists(atPath: module.path) { out.append(module.path) }
        out += ImageLocator(folders: imagePath).candidates(named: module.fileName)
        var seen = Set<String>()
        return out.filter { seen.insert($0).inserted }
    }
}
