import DumpModel
import Foundation
import Metadata
import Native

/// What the dump says about its CoreCLR before any layout is trusted.
public struct ClrInfo: Sendable {
    /// The libcoreclr.so (or coreclr.dll) module.
    public let module: DumpModule
    /// `@(#)Version` of libcoreclr (e.g. 4.700.22.11601), from the dump's pages or the file.
    public let fileVersion: String?
    /// The folder version in the recorded path (…/Microsoft.NETCore.App/3.1.23/…).
    public let productVersion: String?

    public var versionText: String {
        switch (productVersion, fileVersion) {
        case let (p?, f?): return "\(p) (libcoreclr \(f))"
        case let (p?, nil): return p
        case let (nil, f?): return f
        default: return "unknown"
        }
    }

    /// Finds the runtime module and its version without reading any runtime structure.
    /// The runtime's native module (libcoreclr.so, coreclr.dll, libcoreclr.dylib), found by file name.
    public static func runtimeModule(in dump: any Dump) -> DumpModule? {
        // Names longer than 64 bytes cannot lowercase to these (16 scalars of at most 4 bytes each); a damaged
        // dump's thousands of long names are not lowercased in full.
        dump.modules.first {
            $0.fileName.utf8.count <= 64 && ["libcoreclr.so", "coreclr.dll", "libcoreclr.dylib"].contains($0.fileName.lowercased())
        }
    }

    public static func find(in target: DataTarget) -> ClrInfo? {
        let dump = target.dump
        guard let m = runtimeModule(in: dump) else { return nil }
        var version: String?
        let mem = dump.memory
        for r in mem.ranges where r.end > m.base && r.start < m.end && r.present > 0 {
            let start = max(r.start, m.base)
            let end = min(r.start &+ r.present, m.end)
            guard end > start, end - start < UInt64(Int.max), let b = mem.contiguousBytes(start, count: Int(end - start)) else { continue }
            if let v = ElfSymbolFile.findVersion(in: b) { version = v; break }
        }
        var product: String?
        let parts = m.path.split(whereSeparator: { $0 == "/" || $0 == "\\" }).map(String.init)
        if let i = parts.firstIndex(of: "Microsoft.NETCore.App"), i + 1 < parts.count - 1 { product = parts[i + 1] }
        return ClrInfo(module: m, fileVersion: version, productVersion: product)
    }
}

/// A managed module (assembly) of the target: where the runtime's Module lives, the file it was loaded from
/// and that file's metadata, found by name on the image path.
public final class ClrModule: @unchecked Sendable {
    public let address: UInt64
    /// The path the dump recorded (PEImage.m_path).
    public let recordedPath: String
    /// Image base and size in the target (the loaded layout), when known.
    public let imageBase: UInt64
    public let imageSize: UInt64
    public let typeDefMap: UInt64
    public let typeDefCount: UInt32
    public let domainLocalModule: UInt64
    /// The file found on the image path, and its metadata; or why not.
    public private(set) var filePath: String?
    public private(set) var metadata: MetadataReader?
    /// The PE image the metadata was read from (the file on the image path, or the image in the dump).
    public private(set) var image: PEImage?
    public private(set) var problem: String?
    /// True when the dump held the image's PE header and its timestamp and size matched the file's.
    public internal(set) var headerVerified = false
    /// True when the dump held the image's #GUID heap and it matched the file's (the MVID check ran).
    public internal(set) var mvidVerified = false

    /// True when the metadata was read from the image in the dump's memory (no file on the image path).
    public internal(set) var metadataFromDump = false
    /// Files of the module's name on the image path that were not this build (so the dump's copy was read).
    public internal(set) var ignoredFiles: String?

    /// What was checked before the file found on the image path was trusted for this module.
    public var identityNote: String {
        if metadataFromDump {
            if let ignoredFiles { return "the image in the dump's memory (\(ignoredFiles) on the image path: not this build)" }
            return "the image in the dump's memory (no \(fileName) on the image path)"
        }
        guard let filePath else { return problem ?? "no file" }
        let header = headerVerified ? "PE timestamp and size match the dump" : "PE header not in the dump, not compared"
        let mvid = mvidVerified ? "MVID matches" : "MVID not compared (the dump does not hold the image's #GUID heap)"
        return "\(filePath): \(header); \(mvid)"
    }
    /// The CLI header's metadata directory (RVA, size) and its file offset, from the file on disk.
    public private(set) var metadataRVA: UInt32 = 0
    public private(set) var metadataSize: UInt32 = 0
    public private(set) var metadataFileOffset: UInt64?
    /// The PEImageLayout the image base came from, and that layout's vtable pointer (tells flat from mapped).
    public internal(set) var layoutAddress: UInt64 = 0
    public internal(set) var layoutVTable: UInt64 = 0
    /// True when that layout is the runtime's flat one (the file's bytes as they are; metadata at base + file
    /// offset), false for a mapped or loaded one (metadata at base + RVA).
    public internal(set) var isFlatLayout = false

    init(address: UInt64, recordedPath: String, imageBase: UInt64, imageSize: UInt64, typeDefMap: UInt64,
         typeDefCount: UInt32, domainLocalModule: UInt64) {
        self.address = address
        self.recordedPath = recordedPath
        self.imageBase = imageBase
        self.imageSize = imageSize
        self.typeDefMap = typeDefMap
        self.typeDefCount = typeDefCount
        self.domainLocalModule = domainLocalModule
    }

    public var fileName: String { DataTarget.baseName(recordedPath) }
    /// The simple name SOS uses in generic arguments (`System.Private.CoreLib`).
    public var simpleName: String {
        let f = fileName
        if let dot = f.lastIndex(of: "."), [".dll", ".exe"].contains(f[dot...].lowercased()) { return String(f[..<dot]) }
        return f
    }

    func load(target: DataTarget) {
        guard metadata == nil, problem == nil else { return }
        // The dump's own copy of the PE header says which file this is, when the dump holds it.
        let identity = imageBase == 0 ? nil : ImageIdentity.peIdentity(memory: target.memory, base: imageBase)
        let p: String
        switch target.locator.find(named: fileName, identity: identity) {
        case .found(let path, let verified) where !fileName.isEmpty:
            p = path
            // The locator compared the file's PE timestamp and size with the header the dump holds.
            headerVerified = verified
        case .mismatched(_, let wanted, let found):
            let seen = found.map { "\($0.path) (\($0.identity?.description ?? "not a PE image"))" }.joined(separator: ", ")
            // Another build's file of the same name (a Linux runtime's CoreLib for a Windows dump) must not hide
            // the image the dump holds itself.
            if loadFromDump(target: target) {
                ignoredFiles = seen
                return
            }
            problem = "no \(fileName) on the image path matches the module in the dump (\(wanted)); found \(seen)"
            return
        default:
            // A dump that holds the whole image (a full-memory minidump, an 8.0 core) has the metadata itself.
            if loadFromDump(target: target) { return }
            problem = "\(fileName.isEmpty ? "module \(Hex16.s(address))" : fileName) was not found on the image path"
            return
        }
        filePath = p
        do {
            let image = try PEImage(path: p)
            if let cli = try? image.cliHeader(), !cli.metadata.isEmpty {
                metadataRVA = cli.metadata.rva
                metadataSize = cli.metadata.size
                metadataFileOffset = (try? image.offset(ofRVA: cli.metadata.rva)).map { UInt64($0) }
            }
            let reader = try MetadataReader(image: image)
            if let mismatch = guidHeapMismatch(reader, target: target, path: p) {
                problem = mismatch
                return
            }
            metadata = reader
            self.image = image
        } catch {
            problem = "\(p): \(error.message)"
        }
    }
}

extension ClrModule {
    /// Reads the metadata from the module's image in the dump: laid out by the loader (RVA = offset) unless
    /// the runtime read it flat. True when the image's headers and metadata are all there.
    func loadFromDump(target: DataTarget) -> Bool {
        guard imageBase != 0, imageSize > 0, imageSize < 1 << 32,
              ImageIdentity.peIdentity(memory: target.memory, base: imageBase) != nil else { return false }
        let source = DumpImageSource(memory: target.memory, base: imageBase, count: Int(imageSize))
        guard let image = try? PEImage(source: source, layout: isFlatLayout ? .file : .loaded),
              let cli = try? image.cliHeader(), !cli.metadata.isEmpty,
              let reader = try? MetadataReader(image: image) else { return false }
        metadataRVA = cli.metadata.rva
        metadataSize = cli.metadata.size
        metadataFileOffset = (try? image.offset(ofRVA: cli.metadata.rva)).map { UInt64($0) }
        metadata = reader
        self.image = image
        metadataFromDump = true
        headerVerified = true
        return true
    }

    /// The MVID check: the #GUID heap of the image the dump holds must equal the file's. Read from the dump
    /// only (never the file fallback), at the metadata root of either image layout (mapped: base + RVA; flat:
    /// base + file offset), recognised by its BSJB signature. Returns the mismatch, or nil when equal or
    /// when the dump does not hold those bytes (then the PE timestamp and size are the identity check).
    func guidHeapMismatch(_ reader: MetadataReader, target: DataTarget, path: String) -> String? {
        guard imageBase != 0, let stream = reader.streams.first(where: { $0.name == "#GUID" }),
              stream.size >= 16, stream.size <= 4096 else { return nil }
        var fileGuids: [UInt8] = []
        for i in 1...(stream.size / 16) {
            guard let g = try? reader.guid(at: UInt32(i)) else { return nil }
            fileGuids += g.bytes
        }
        var candidates = [imageBase &+ UInt64(metadataRVA)]
        if let off = metadataFileOffset { candidates.append(imageBase &+ off) }
        for root in candidates where target.memory.readU32(root) == 0x424A_5342 {
            guard let inDump = target.memory.readExact(root &+ UInt64(stream.offset), count: fileGuids.count) else { return nil }
            if inDump != fileGuids {
                return "\(path) does not match the module in the dump (MVID \(GUID(bytes: Array(fileGuids.prefix(16)))) in the file, "
                    + "\(GUID(bytes: Array(inDump.prefix(16)))) in the dump)"
            }
            mvidVerified = true
            return nil
        }
        return nil
    }
}

enum Hex16 {
    static func s(_ v: UInt64) -> String { let h = String(v, radix: 16); return String(repeating: "0", count: max(0, 16 - h.count)) + h }
}

/// The CoreCLR of a dump, read without the DAC: globals from libcoreclr.so's symbol table (the file, found by
/// name on the image path) at module base + symbol value, structures by the version's layout table.
public final class ClrRuntime: @unchecked Sendable {
    // @unchecked: one session thread uses it; caches fill on demand.
    public let target: DataTarget
    public let info: ClrInfo
    public let layout: ClrLayoutTable
    /// libcoreclr's `@(#)Version` (from the dump's pages, else the file found on the image path).
    public let fileVersion: String
    /// Where the runtime's globals are (this build's symbol table, or its DAC table).
    public let globals: any ClrGlobalsSource
    public let base: UInt64

    public let freeMT: UInt64
    public let stringMT: UInt64
    public let objectMT: UInt64
    public let exceptionMT: UInt64

    var typeCache: [UInt64: ClrType] = [:]
    var codeMapCache: ClrCodeMap?
    /// GCDescs read so far, by MethodTable (!gcroot reads one per object).
    var gcDescCache: [UInt64: ClrGCDesc?] = [:]
    var badTypes: Set<UInt64> = []
    var moduleCache: [UInt64: ClrModule] = [:]
    var heapCache: Result<ClrHeap, ClrError>?
    var allModulesCache: [ClrModule]?
    var introducedMethodsCache: [UInt64: [ClrMethodDesc]] = [:]
    var builtTypesCache: [ClrType]?
    var heapMethodTablesCache: Set<UInt64>?
    var constructedTypeHandlesCache: [UInt64]?
    var threadsCache: [ClrThread]?
    /// How often the thread list was asked for, and how often the ThreadStore was walked for it: costs a command's
    /// answer does not show (`!syncblk -all` once walked, then searched, the list per row of a damaged table), so
    /// tests read them.
    var threadListRequests = 0
    var threadListWalks = 0

    public init(target: DataTarget) throws(ClrError) {
        self.target = target
        guard let info = ClrInfo.find(in: target) else {
            throw ClrError("no CLR runtime (libcoreclr.so, coreclr.dll) in this dump's module list")
        }
        self.info = info
        let file = info.module.fileName.lowercased()
        let found: (table: ClrLayoutTable, fileVersion: String, globals: any ClrGlobalsSource)
        switch file {
        case "libcoreclr.so": found = try Self.openElf(info, target)
        case "coreclr.dll": found = try Self.openPE(info, target)
        default:
            throw ClrError("unsupported runtime: \(info.module.fileName) \(info.versionText); dumpdbg reads CoreCLR (libcoreclr.so, coreclr.dll): "
                + Self.supportedText)
        }
        layout = found.table
        fileVersion = found.fileVersion
        globals = found.globals
        base = info.module.base
        let source = found.globals
        func pointer(_ g: ClrGlobal) throws(ClrError) -> UInt64 {
            guard let a = source.address(of: g) else { throw ClrError("the runtime global \(g.rawValue) is not known (\(source.provenance))") }
            guard let v = target.u64(a) else { throw ClrError("the runtime global \(g.rawValue) at \(Hex16.s(a)) is not in this dump") }
            return v
        }
        freeMT = try pointer(.freeObjectMethodTable)
        stringMT = try pointer(.stringMethodTable)
        objectMT = try pointer(.objectMethodTable)
        exceptionMT = try pointer(.exceptionMethodTable)
    }

    static func unsupported(_ info: ClrInfo, _ fileVersion: String?) -> ClrError {
        ClrError("unsupported runtime version \(ClrInfo(module: info.module, fileVersion: fileVersion, productVersion: info.productVersion).versionText): "
            + supportedText)
    }

    /// Linux: the version from the dump's pages, else the recorded runtime folder, else the file found on the
    /// image path by build id; the globals through that file's symbols (3.1) or its exported DAC table (8.0).
    static func openElf(_ info: ClrInfo, _ target: DataTarget) throws(ClrError) -> (ClrLayoutTable, String, any ClrGlobalsSource) {
        let runtimeFile = info.module.fileName
        if let v = info.fileVersion, ClrLayoutTable.forFileVersion(v, runtimeFile: runtimeFile) == nil { throw unsupported(info, v) }
        if info.fileVersion == nil, let p = info.productVersion,
           !ClrLayoutTable.supported.contains(where: { $0.productVersion == p && $0.runtimeFile == runtimeFile }) { throw unsupported(info, nil) }
        var fileVersion = info.fileVersion
        var sym: ElfSymbolFile?
        switch target.locator.find(named: runtimeFile, identity: info.module.buildId.map { .elfBuildId($0) }) {
        case .found(let path, _):
            do { sym = try ElfSymbolFile.shared(path: path) } catch { throw ClrError(error.message) }
            if fileVersion == nil { fileVersion = sym?.versionString }
        case .mismatched(_, let wanted, let found):
            let seen = found.map { "\($0.path) (\($0.identity?.description ?? "no build id"))" }.joined(separator: ", ")
            throw ClrError("no \(runtimeFile) on the image path is the one of this dump (\(wanted), runtime \(info.versionText)); "
                + "found \(seen): put the matching runtime folder on the image path")
        case .notFound: break
        }
        let notFound = "\(runtimeFile) was not found on the image path (\(target.imagePath.joined(separator: ";"))): "
            + "add the runtime folder with .exepath+ or -i"
        if fileVersion == nil { throw ClrError("cannot tell the runtime version: " + notFound) }
        guard let fileVersion, let table = ClrLayoutTable.forFileVersion(fileVersion, runtimeFile: runtimeFile) else { throw unsupported(info, fileVersion) }
        guard let sym else { throw ClrError(notFound) }
        let base = info.module.base
        switch table.globals {
        case .elfSymbols(let names):
            return (table, fileVersion, ElfSymbolGlobals(symbols: sym, names: names, base: base))
        case .dacTable(let dac):
            guard case .exportedSymbol(let name) = dac.source,
                  let globals = DacTableGlobals.exported(name, symbols: sym, base: base, layout: dac, read: { [target] in target.u64($0) }) else {
                throw ClrError("\(sym.path) does not export the runtime's DAC table: cannot find the runtime's globals")
            }
            return (table, fileVersion, globals)
        }
    }

    /// Windows: the version from the module's version resource as the minidump recorded it (else the runtime
    /// folder's name), the globals through the DAC table coreclr.dll carries as a resource, read from the
    /// image in the dump's memory.
    static func openPE(_ info: ClrInfo, _ target: DataTarget) throws(ClrError) -> (ClrLayoutTable, String, any ClrGlobalsSource) {
        let runtimeFile = info.module.fileName
        let recorded = info.module.fileVersion.map { "\($0.major).\($0.minor).\($0.build).\($0.revision)" }
        var table = recorded.flatMap { ClrLayoutTable.forFileVersion($0, runtimeFile: runtimeFile) }
        if table == nil, recorded == nil, let p = info.productVersion {
            table = ClrLayoutTable.supported.first { $0.productVersion == p && $0.runtimeFile == runtimeFile }
        }
        guard let table else { throw unsupported(info, recorded) }
        guard case .dacTable(let dac) = table.globals, case .peResource(let type, let name, let header) = dac.source else {
            throw ClrError("the layout table for \(runtimeFile) \(table.productVersion) does not say where its globals are")
        }
        guard let globals = DacTableGlobals.resource(type: type, name: name, headerWords: header, memory: target.memory,
                                                     base: info.module.base, fileName: runtimeFile, layout: dac,
                                                     read: { [target] in target.u64($0) }) else {
            throw ClrError("\(runtimeFile)'s DAC table (resource \(name)) is not in this dump: a dump with the runtime's image "
                + "(full memory) is needed to find the runtime's globals")
        }
        return (table, table.fileVersions.first ?? recorded ?? "", globals)
    }

    static var supportedText: String {
        "dumpdbg knows CoreCLR " + ClrLayoutTable.supported.map { "\($0.productVersion) (\($0.runtimeFile) \($0.fileVersions.joined(separator: ", ")))" }
            .joined(separator: ", ")
    }

    /// Address of a runtime global.
    public func global(_ g: ClrGlobal) -> UInt64? { globals.address(of: g) }
    /// The pointer a global holds.
    public func globalPointer(_ g: ClrGlobal) -> UInt64? { global(g).flatMap { target.u64($0) } }

    public var memory: AddressSpace { target.memory }

    /// True for server GC, false for workstation GC, nil when the dump does not say (g_heap_type).
    public var isServerGC: Bool? {
        guard let a = global(.gcHeapType), let v = target.u32(a) else { return nil }
        return v == layout.heapTypeServer
    }

    /// The GC heap (built once).
    public func heap() throws(ClrError) -> ClrHeap {
        if let heapCache { return try heapCache.get() }
        do {
            let h = try ClrHeap(runtime: self)
            heapCache = .success(h)
            return h
        } catch {
            heapCache = .failure(error)
            throw error
        }
    }

    // MARK: Modules

    /// The text of an SString (size in bytes at +0, including the terminating NUL; UTF-16 buffer pointer after
    /// its size, allocation and flags words).
    public func sstring(at address: UInt64) -> String? {
        guard let size = target.u32(address), size > 0, size < 0x10000,
              let buf = target.u64(address &+ layout.sstringBuffer), let bytes = target.read(buf, count: Int(size)) else { return nil }
        return String(decodingUTF16LittleEndian: bytes, untilNull: true)
    }

    /// The path a PEFile/PEAssembly's image was loaded from, as the runtime recorded it.
    public func peFilePath(_ peFile: UInt64) -> String? {
        guard let image = target.u64(peFile &+ layout.peFileIdentity), image != 0 else { return nil }
        return sstring(at: image &+ layout.peImagePath)
    }

    public func module(at address: UInt64) -> ClrModule? {
        guard address != 0 else { return nil }
        if let m = moduleCache[address] { return m }
        let l = layout
        var recorded = ""
        var imageBase: UInt64 = 0, imageSize: UInt64 = 0, layoutAddress: UInt64 = 0
        if let peFile = target.u64(address &+ l.moduleFile), let image = target.u64(peFile &+ l.peFileIdentity) {
            recorded = sstring(at: image &+ l.peImagePath) ?? ""
            for k in (0..<UInt64(l.peImageLayoutCount)).reversed() {
                if let layoutPtr = target.u64(image &+ l.peImageLayouts &+ 8 * k), layoutPtr != 0,
                   let b = target.u64(layoutPtr &+ l.layoutBase), b != 0 {
                    imageBase = b
                    imageSize = UInt64(target.u32(layoutPtr &+ l.layoutSize) ?? 0)
                    layoutAddress = layoutPtr
                    break
                }
            }
        }
        guard !recorded.isEmpty else { return nil }
        let map = target.u64(address &+ l.moduleTypeDefMap &+ 8) ?? 0
        let count = target.u32(address &+ l.moduleTypeDefMap &+ 0x10) ?? 0
        let dlm = target.u64(address &+ l.moduleDomainLocalModule) ?? 0
        let m = ClrModule(address: address, recordedPath: recorded, imageBase: imageBase, imageSize: imageSize,
                          typeDefMap: map, typeDefCount: count, domainLocalModule: dlm)
        m.layoutAddress = layoutAddress
        m.layoutVTable = target.u64(layoutAddress) ?? 0
        m.isFlatLayout = global(.flatImageLayoutVTable).map { m.layoutVTable == $0 &+ layout.vtableSymbolOffset } ?? false
        m.load(target: target)
        moduleCache[address] = m
        return m
    }

    /// Every module met so far (through the types looked at).
    public var knownModules: [ClrModule] { moduleCache.values.sorted { $0.address < $1.address } }

    /// The MethodTable a module has loaded for a TypeDef row, if any.
    public func methodTable(module: ClrModule, typeDefRow row: Int) -> UInt64? {
        guard row > 0, UInt32(row) < module.typeDefCount, module.typeDefMap != 0,
              let v = target.u64(module.typeDefMap &+ UInt64(row) * 8) else { return nil }
        let mt = v & ~3
        return mt == 0 ? nil : mt
    }

    /// Finds a loaded type by full name in the modules known so far (CoreLib first).
    public func methodTable(named name: String) -> UInt64? {
        var mods = knownModules
        if let core = coreLib { mods.removeAll { $0 === core }; mods.insert(core, at: 0) }
        for m in mods {
            guard let md = m.metadata, let tok = try? md.typeDef(named: name),
                  let mt = methodTable(module: m, typeDefRow: tok.row) else { continue }
            return mt
        }
        return nil
    }

    public var coreLib: ClrModule? { type(objectMT).flatMap { $0.module } }
}
