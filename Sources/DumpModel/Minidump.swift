/// A Windows minidump (MDMP) as written by dbghelp, Breakpad, Crashpad or Wine.
/// The directory and the small streams are parsed at open (O(streams + entries)); memory is read lazily.
// @unchecked: every property is set while parsing in init and never changes afterwards.
public final class Minidump: Dump, @unchecked Sendable {
    public struct DirectoryEntry: Sendable {
        public let type: UInt32
        public let size: UInt32
        public let rva: UInt32
        public var knownType: MinidumpStreamType? { MinidumpStreamType(rawValue: type) }
    }

    public let file: MappedFile
    /// The file the user opened (for a compressed dump, not the decompressed cache copy).
    public let path: String
    public let format = DumpFormat.minidump
    public let version: UInt32
    public let flags: UInt64
    public let dumpTime: UInt32?
    public let directory: [DirectoryEntry]

    public private(set) var system = SystemInfo(architecture: .unknown(0), os: .unknown)
    public private(set) var threads: [DumpThread] = []
    public private(set) var modules: [DumpModule] = []
    public private(set) var unloadedModules: [UnloadedModule] = []
    public private(set) var exception: ExceptionInfo?
    public private(set) var memory: AddressSpace
    public private(set) var regions: [MemoryRegion]?
    public private(set) var processId: UInt64?
    public private(set) var processCreateTime: UInt32?
    public private(set) var handles: [HandleInfo]?
    /// Dynamic function tables (FunctionTableStream): unwind data that code outside every module registered
    /// (RtlAddFunctionTable / RtlInstallFunctionTableCallback), such as a JIT's.
    public private(set) var functionTables: [MinidumpFunctionTable] = []
    public private(set) var comment: String?
    public private(set) var commandLine: String?
    public private(set) var warnings: [String] = []
    public private(set) var details: [(String, String)] = []
    /// Breakpad/Crashpad: the thread that wrote the dump (it is not the crashing one and is often hidden).
    public private(set) var dumpThreadId: UInt32?
    public private(set) var hasFullMemory = false

    public var processName: String? {
        if let cmd = commandLine, let first = cmd.split(separator: " ").first { return String(first) }
        return modules.first?.fileName
    }

    public var producer: String {
        if stream(.crashpadInfo) != nil { return "Crashpad" }
        if stream(.breakpadInfo) != nil || stream(.linuxMaps) != nil { return "Breakpad" }
        if directory.contains(where: { $0.type == 0xFFF0 }) { return "Wine dbghelp" }
        return "dbghelp"
    }

    static let signature: UInt32 = 0x504D_444D  // "MDMP"

    public init(file: MappedFile, displayPath: String? = nil) throws(DumpError) {
        self.file = file
        path = displayPath ?? file.path
        let header = ByteView(file: file, offset: 0, count: 32)
        guard header.count >= 32 else {
            throw DumpError(path: path, problem: "truncated minidump header (\(file.size) bytes, need 32)")
        }
        guard header.u32(0) == Minidump.signature else {
            throw DumpError(path: path, problem: "not a minidump (signature is not MDMP)")
        }
        version = header.u32(4)!
        let streamCount = header.u32(8)!
        let dirRva = header.u32(12)!
        let stamp = header.u32(20)!
        dumpTime = stamp == 0 ? nil : stamp
        flags = header.u64(24)!
        let dirView = ByteView(file: file, offset: UInt64(dirRva), count: UInt64(streamCount) * 12)
        if dirView.count == 0 && streamCount > 0 {
            throw DumpError(path: path, problem: "stream directory at 0x\(String(dirRva, radix: 16)) lies past the end of the file")
        }
        let usable = Int(dirView.count / 12)
        var entries: [DirectoryEntry] = []
        entries.reserveCapacity(usable)
        for i in 0..<usable {
            let o = UInt64(i) * 12
            entries.append(DirectoryEntry(type: dirView.u32(o)!, size: dirView.u32(o + 4)!, rva: dirView.u32(o + 8)!))
        }
        directory = entries
        memory = AddressSpace(file: file, ranges: [], pointerSize: 8)
        if usable < Int(streamCount) {
            warnings.append("stream directory is truncated: \(usable) of \(streamCount) entries are in the file")
        }
        for e in entries where e.type != 0 && UInt64(e.rva) + UInt64(e.size) > file.size {
            let name = e.knownType?.name ?? "stream 0x\(String(e.type, radix: 16))"
            warnings.append("\(name) extends past the end of the file (rva 0x\(String(e.rva, radix: 16)), size 0x\(String(e.size, radix: 16)))")
        }
        parseAll()
    }

    /// The first directory entry of a type (duplicates are ignored, as other readers do).
    public func stream(_ type: MinidumpStreamType) -> ByteView? {
        guard let e = directory.first(where: { $0.type == type.rawValue }) else { return nil }
        return ByteView(file: file, offset: UInt64(e.rva), count: UInt64(e.size))
    }

    // MARK: - Parsing

    private func parseAll() {
        parseSystemInfo()
        parseMisc()
        parseMemory()
        parseThreads()
        parseModules()
        parseUnloadedModules()
        parseException()
        parseFunctionTables()
        parseMemoryInfo()
        parseHandles()
        parseComments()
        parseBreakpad()
        decodedStrings = [:]
    }

    /// MINIDUMP_STRINGs already decoded while parsing, by RVA. A damaged list can point
    /// thousands of modules or handles at one long name; it is decoded once. Emptied when parsing ends.
    private var decodedStrings: [UInt64: String] = [:]

    /// A MINIDUMP_STRING (u32 byte length + UTF-16LE) at `rva`, at most 8192 bytes of it. Names (modules,
    /// threads, handles) are held to 4096 characters, more than any real path, so a damaged length cannot
    /// make every module name tens of kilobytes long.
    func string(at rva: UInt64) -> String? {
        if let known = decodedStrings[rva] { return known }
        guard let len = file.load(UInt32.self, at: rva) else { return nil }
        let n = Int(min(UInt64(len), file.available(from: rva + 4), 8192)) & ~1
        guard let b = file.bytes(at: rva + 4, count: n) else { return nil }
        let s = String(decodingUTF16LittleEndian: b)
        decodedStrings[rva] = s
        return s
    }

    private func parseSystemInfo() {
        guard let v = stream(.systemInfo) else {
            warnings.append("no SystemInfoStream: architecture unknown")
            return
        }
        guard let archRaw = v.u16(0) else {
            warnings.append("SystemInfoStream is truncated")
            return
        }
        let arch = MinidumpProcessorArchitecture(rawValue: archRaw)?.cpu ?? .unknown(UInt32(archRaw))
        let platform = v.u32(20) ?? 0
        var info = SystemInfo(architecture: arch, os: MinidumpPlatform(rawValue: platform)?.os ?? .unknown)
        info.processorLevel = v.u16(2)
        info.processorRevision = v.u16(4)
        info.processorCount = v.u8(6).map(Int.init)
        info.productType = v.u8(7)
        if let major = v.u32(8), let minor = v.u32(12), let build = v.u32(16) { info.osVersion = (major, minor, build) }
        info.platformId = platform
        if let csd = v.u32(24), csd != 0, let s = string(at: UInt64(csd)), !s.isEmpty { info.servicePack = s }
        if arch == .x86, let b = v.bytes(32, 12) { info.cpuVendor = String(decoding: b.prefix(while: { $0 != 0 }), as: UTF8.self) }
        system = info
    }

    private func parseMisc() {
        guard let v = stream(.miscInfo), let size = v.u32(0), let flags1 = v.u32(4) else { return }
        if flags1 & 0x1 != 0, let pid = v.u32(8) { processId = UInt64(pid) }
        if flags1 & 0x2 != 0, let t = v.u32(12), t != 0 { processCreateTime = t }
        // MINIDUMP_MISC_INFO_4 carries the OS build string (e.g. "19041.1.amd64fre.vb_release...").
        if size >= 832, let b = v.bytes(232, 520) {
            let s = String(decodingUTF16LittleEndian: b, untilNull: true)
            if !s.isEmpty { details.append(("Built by", s)) }
        }
    }

    private func parseMemory() {
        var raw: [AddressSpace.Range] = []
        if let v = stream(.memoryList), let n = v.u32(0) {
            let first = listStart(v, count: n, entrySize: 16)
            let count = min(UInt64(n), v.remaining(after: first) / 16)
            if count < n { warnings.append("MemoryListStream holds \(count) of the \(n) ranges it announces") }
            for i in 0..<count {
                let o = first + i * 16
                guard let start = v.u64(o), let size = v.u32(o + 8), let rva = v.u32(o + 12) else { break }
                raw.append(range(start: start, size: UInt64(size), rva: UInt64(rva)))
            }
        }
        if let v = stream(.memory64List), let n = v.u64(0), let baseRva = v.u64(8) {
            hasFullMemory = true
            let count = min(n, v.remaining(after: 16) / 16)
            if count < n { warnings.append("Memory64ListStream holds \(count) of the \(n) ranges it announces") }
            var rva = baseRva
            for i in 0..<count {
                let o = 16 + i * 16
                guard let start = v.u64(o), let size = v.u64(o + 8) else { break }
                raw.append(range(start: start, size: size, rva: rva))
                let (next, overflow) = rva.addingReportingOverflow(size)
                if overflow { break }
                rva = next
            }
        }
        let truncated = raw.filter { $0.present < $0.size }.count
        if truncated > 0 { warnings.append("\(truncated) memory range(s) extend past the end of the file; their missing bytes read as ????????") }
        memory = AddressSpace(file: file, ranges: raw, pointerSize: system.architecture.pointerSize)
    }

    /// Where the entries of a `u32 count; T entries[]` list start. Some writers (old Breakpad on macOS)
    /// pad the count to 8 bytes; the stream size tells which layout it is.
    private func listStart(_ v: ByteView, count: UInt32, entrySize: UInt64) -> UInt64 {
        v.count == 8 + UInt64(count) * entrySize ? 8 : 4
    }

    private func range(start: UInt64, size: UInt64, rva: UInt64) -> AddressSpace.Range {
        AddressSpace.Range(start: start, size: size, fileOffset: rva, present: min(size, file.available(from: rva)))
    }

    private func parseThreads() {
        var names: [UInt32: String] = [:]
        if let v = stream(.threadNames), let n = v.u32(0) {
            let count = min(UInt64(n), v.remaining(after: 4) / 12)
            for i in 0..<count {
                let o = 4 + i * 12
                if let tid = v.u32(o), let rva = v.u64(o + 4), let s = string(at: rva), !s.isEmpty { names[tid] = s }
            }
        }
        var infos: [UInt32: (start: UInt64, create: UInt64, kernel: UInt64?, user: UInt64?)] = [:]
        if let v = stream(.threadInfoList), let hs = v.u32(0), let es = v.u32(4), let n = v.u32(8), es >= 64 {
            let count = min(UInt64(n), v.remaining(after: UInt64(hs)) / UInt64(es))
            for i in 0..<count {
                let o = UInt64(hs) + i * UInt64(es)
                // MINIDUMP_THREAD_INFO: ThreadId, DumpFlags, DumpError, ExitStatus, CreateTime @16, ExitTime,
                // KernelTime @32, UserTime @40, StartAddress @48, Affinity.
                if let tid = v.u32(o), let create = v.u64(o + 16), let start = v.u64(o + 48) {
                    infos[tid] = (start, create, v.u64(o + 32), v.u64(o + 40))
                }
            }
        }
        let isEx = stream(.threadList) == nil && stream(.threadExList) != nil
        guard let v = isEx ? stream(.threadExList) : stream(.threadList), let n = v.u32(0) else {
            warnings.append("no ThreadListStream: no threads")
            return
        }
        let entrySize: UInt64 = isEx ? 64 : 48
        let first = listStart(v, count: n, entrySize: entrySize)
        let count = min(UInt64(n), v.remaining(after: first) / entrySize)
        if count < n { warnings.append("ThreadListStream holds \(count) of the \(n) threads it announces") }
        var out: [DumpThread] = []
        out.reserveCapacity(Int(count))
        var stackRanges: [AddressSpace.Range] = []
        for i in 0..<count {
            let o = first + i * entrySize
            guard let tid = v.u32(o) else { break }
            var t = DumpThread(id: UInt64(tid))
            t.suspendCount = v.u32(o + 4) ?? 0
            t.priorityClass = v.u32(o + 8) ?? 0
            t.priority = v.u32(o + 12) ?? 0
            t.teb = v.u64(o + 16) ?? 0
            t.stackStart = v.u64(o + 24) ?? 0
            let stackSize = v.u32(o + 32) ?? 0
            t.stackSize = UInt64(stackSize)
            if let rva = v.u32(o + 36), stackSize > 0 {
                stackRanges.append(range(start: t.stackStart, size: UInt64(stackSize), rva: UInt64(rva)))
            }
            if let cs = v.u32(o + 40), let crva = v.u32(o + 44), cs > 0 {
                let cv = ByteView(file: file, offset: UInt64(crva), count: UInt64(cs))
                t.context = ContextDecoder.decode(cv, architecture: system.architecture)
                if t.context == nil { warnings.append("thread \(String(tid, radix: 16)): register context is missing or too short") }
            }
            t.name = names[tid]
            if let info = infos[tid] {
                t.startAddress = info.start
                t.createTime = info.create
                t.kernelTime = info.kernel
                t.userTime = info.user
            }
            out.append(t)
        }
        threads = out
        if !stackRanges.isEmpty {
            // Stacks are usually also in the MemoryList; the list's ranges win where both exist.
            memory = AddressSpace(file: file, ranges: memory.ranges + stackRanges, pointerSize: memory.pointerSize)
        }
    }

    private func parseModules() {
        guard let v = stream(.moduleList), let n = v.u32(0) else { return }
        let first = listStart(v, count: n, entrySize: 108)
        let count = min(UInt64(n), v.remaining(after: first) / 108)
        if count < n { warnings.append("ModuleListStream holds \(count) of the \(n) modules it announces") }
        var out: [DumpModule] = []
        for i in 0..<count {
            let o = first + i * 108
            guard let base = v.u64(o), let size = v.u32(o + 8) else { break }
            let nameRva = v.u32(o + 20) ?? 0
            var m = DumpModule(base: base, size: UInt64(size), path: string(at: UInt64(nameRva)) ?? "<unknown module>")
            m.checksum = v.u32(o + 12)
            m.timestamp = v.u32(o + 16)
            // VS_FIXEDFILEINFO at +24: signature, struc version, file MS/LS, product MS/LS.
            if v.u32(o + 24) == 0xFEEF04BD, let fms = v.u32(o + 32), let fls = v.u32(o + 36),
               let pms = v.u32(o + 40), let pls = v.u32(o + 44) {
                m.fileVersion = FileVersion(major: UInt16(fms >> 16), minor: UInt16(fms & 0xFFFF), build: UInt16(fls >> 16), revision: UInt16(fls & 0xFFFF))
                m.productVersion = FileVersion(major: UInt16(pms >> 16), minor: UInt16(pms & 0xFFFF), build: UInt16(pls >> 16), revision: UInt16(pls & 0xFFFF))
            }
            if let cvSize = v.u32(o + 76), let cvRva = v.u32(o + 80), cvSize >= 4 {
                let cv = ByteView(file: file, offset: UInt64(cvRva), count: UInt64(cvSize))
                switch cv.u32(0) {
                case 0x5344_5352:  // "RSDS": PDB 7.0
                    m.pdbGuid = cv.bytes(4, 16)
                    m.pdbAge = cv.u32(20)
                    m.pdbName = cv.cString(24, limit: 1024)
                case 0x4270_454C:  // "LEpB" (MD_CVINFOELF_SIGNATURE): Breakpad ELF build id
                    m.buildId = cv.bytes(4, Int(min(cv.count - 4, 64)))
                default: break
                }
            }
            out.append(m)
        }
        modules = out
    }

    private func parseUnloadedModules() {
        guard let v = stream(.unloadedModuleList), let hs = v.u32(0), let es = v.u32(4), let n = v.u32(8), es >= 24 else { return }
        let count = min(UInt64(n), v.remaining(after: UInt64(hs)) / UInt64(es))
        for i in 0..<count {
            let o = UInt64(hs) + i * UInt64(es)
            guard let base = v.u64(o), let size = v.u32(o + 8), let stamp = v.u32(o + 16), let nameRva = v.u32(o + 20) else { break }
            unloadedModules.append(UnloadedModule(base: base, size: UInt64(size), path: string(at: UInt64(nameRva)) ?? "<unknown>", timestamp: stamp))
        }
    }

    private func parseException() {
        guard let v = stream(.exception), let tid = v.u32(0), let code = v.u32(8) else { return }
        var e = ExceptionInfo(threadId: UInt64(tid), code: code, address: v.u64(24) ?? 0)
        e.flags = v.u32(12) ?? 0
        e.record = v.u64(16) ?? 0
        let np = min(v.u32(32) ?? 0, 15)
        e.parameters = (0..<np).compactMap { v.u64(40 + UInt64($0) * 8) }
        if let cs = v.u32(160), let crva = v.u32(164), cs > 0 {
            e.context = ContextDecoder.decode(ByteView(file: file, offset: UInt64(crva), count: UInt64(cs)), architecture: system.architecture)
        }
        e.isSignal = system.os != .windows
        exception = e
    }

    /// MINIDUMP_FUNCTION_TABLE_STREAM: a header (its size, the descriptor, native descriptor and entry sizes, the
    /// descriptor count, and the pad after the header), then per table a MINIDUMP_FUNCTION_TABLE_DESCRIPTOR
    /// (MinimumAddress, MaximumAddress, BaseAddress, EntryCount, SizeOfAlignPad), the OS's own descriptor, the
    /// entries and the pad. The entries stay in the file; only the descriptors are read here.
    private func parseFunctionTables() {
        guard let v = stream(.functionTable), let headerSize = v.u32(0), let descriptorSize = v.u32(4), let nativeSize = v.u32(8),
              let entrySize = v.u32(12), let count = v.u32(16), let pad = v.u32(20), descriptorSize >= 32, entrySize >= 12 else { return }
        var o = UInt64(headerSize) + UInt64(pad)
        var out: [MinidumpFunctionTable] = []
        for _ in 0..<min(count, 4096) {
            guard let minimum = v.u64(o), let maximum = v.u64(o + 8), let base = v.u64(o + 16), let entries = v.u32(o + 24),
                  let entriesPad = v.u32(o + 28) else { break }
            let first = o + UInt64(descriptorSize) + UInt64(nativeSize)
            let bytes = UInt64(entries) * UInt64(entrySize)
            guard let table = v.sub(first, bytes), table.count == bytes else {
                warnings.append("FunctionTableStream: the table for \(String(minimum, radix: 16))-\(String(maximum, radix: 16)) runs past the stream")
                break
            }
            out.append(MinidumpFunctionTable(minimumAddress: minimum, maximumAddress: maximum, baseAddress: base,
                                             entries: table, entrySize: UInt64(entrySize)))
            o = first + bytes + UInt64(entriesPad)
        }
        functionTables = out
    }

    private func parseMemoryInfo() {
        if let v = stream(.memoryInfoList), let hs = v.u32(0), let es = v.u32(4), let n = v.u64(8), es >= 48 {
            let count = min(n, v.remaining(after: UInt64(hs)) / UInt64(es))
            var out: [MemoryRegion] = []
            out.reserveCapacity(Int(count))
            for i in 0..<count {
                let o = UInt64(hs) + i * UInt64(es)
                guard let base = v.u64(o) else { break }
                out.append(MemoryRegion(base: base, size: v.u64(o + 24) ?? 0, allocationBase: v.u64(o + 8) ?? 0,
                                        allocationProtect: v.u32(o + 16) ?? 0, state: v.u32(o + 32) ?? 0,
                                        protect: v.u32(o + 36) ?? 0, type: v.u32(o + 40) ?? 0))
            }
            regions = out
        }
    }

    private func parseHandles() {
        guard let v = stream(.handleData), let hs = v.u32(0), let ds = v.u32(4), let n = v.u32(8), ds >= 32 else { return }
        let count = min(UInt64(n), v.remaining(after: UInt64(hs)) / UInt64(ds))
        var out: [HandleInfo] = []
        for i in 0..<count {
            let o = UInt64(hs) + i * UInt64(ds)
            guard let h = v.u64(o) else { break }
            let typeRva = v.u32(o + 8) ?? 0, nameRva = v.u32(o + 12) ?? 0
            out.append(HandleInfo(handle: h, typeName: typeRva == 0 ? nil : string(at: UInt64(typeRva)),
                                  objectName: nameRva == 0 ? nil : string(at: UInt64(nameRva)),
                                  attributes: v.u32(o + 16) ?? 0, grantedAccess: v.u32(o + 20) ?? 0,
                                  handleCount: v.u32(o + 24) ?? 0, pointerCount: v.u32(o + 28) ?? 0))
        }
        handles = out
    }

    private func parseComments() {
        if let v = stream(.commentW), let b = v.bytes(0, Int(min(v.count, 65536)) & ~1) {
            comment = String(decodingUTF16LittleEndian: b, untilNull: true)
        } else if let v = stream(.commentA) {
            comment = v.cString(0, limit: 65536)
        }
    }

    private func parseBreakpad() {
        if let v = stream(.breakpadInfo), let validity = v.u32(0) {
            if validity & 1 != 0 { dumpThreadId = v.u32(4) }
        }
        if let v = stream(.linuxCmdLine), let b = v.bytes(0, Int(min(v.count, 65536))) {
            let parts = b.split(separator: 0, omittingEmptySubsequences: true).map { String(decoding: $0, as: UTF8.self) }
            if !parts.isEmpty { commandLine = parts.joined(separator: " ") }
        }
        if let v = stream(.linuxLsbRelease), let s = v.cString(0, limit: 4096) {
            for line in s.split(separator: "\n") where line.hasPrefix("DISTRIB_DESCRIPTION=") {
                details.append(("Distribution", line.dropFirst("DISTRIB_DESCRIPTION=".count).trimmed("\"")))
            }
        }
        if let v = stream(.linuxProcStatus), let s = v.cString(0, limit: 65536), processId == nil {
            for line in s.split(separator: "\n") where line.hasPrefix("Pid:") {
                processId = UInt64(line.dropFirst(4).trimmed(" \t"))
            }
        }
        // Breakpad's Linux dumps name module paths only in /proc/self/maps; fill in unnamed modules.
        if let v = stream(.linuxMaps), let s = v.cString(0, limit: Int(min(v.count, 4 << 20))),
           let maps = Self.regions(fromLinuxMaps: s) {
            var byBase: [UInt64: String] = [:]
            for r in maps { if let p = r.mappedPath, byBase[r.base] == nil { byBase[r.base] = p } }
            for i in modules.indices where modules[i].path.isEmpty || modules[i].path == "<unknown module>" {
                if let p = byBase[modules[i].base] { modules[i].path = p }
            }
            // With no MemoryInfoList, the maps are the process's regions (what `!address` shows).
            if regions == nil { regions = maps }
        }
    }
}

extension Minidump {
    /// `/proc/self/maps` lines (`start-end perms offset dev inode [path]`) as regions, with ELF-style r/w/x flags.
    static func regions(fromLinuxMaps text: String) -> [MemoryRegion]? {
        var out: [MemoryRegion] = []
        for line in text.split(separator: "\n") {
            let cols = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
            guard cols.count >= 5, let dash = cols[0].firstIndex(of: "-"),
                  let start = UInt64(cols[0][..<dash], radix: 16), let end = UInt64(cols[0][cols[0].index(after: dash)...], radix: 16),
                  end > start else { continue }
            let perms = Array(cols[1])
            var flags: UInt32 = 0
            if perms.count >= 3 {
                if perms[0] == "r" { flags |= 4 }
                if perms[1] == "w" { flags |= 2 }
                if perms[2] == "x" { flags |= 1 }
            }
            let path = cols.count == 6 ? cols[5].trimmed(" ") : ""
            out.append(MemoryRegion(base: start, size: end - start, allocationBase: start, allocationProtect: 0, state: 0, protect: 0,
                                    type: 0, mappedPath: path.hasPrefix("/") ? path : nil, elfFlags: flags))
        }
        return out.isEmpty ? nil : out
    }
}

extension StringProtocol {
    /// The string without leading and trailing characters from `set`.
    public func trimmed(_ set: String) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s.removeFirst() }
        while let l = s.last, set.contains(l) { s.removeLast() }
        return String(s)
    }
}

/// One dynamic function table of a minidump: the code range it covers and its RUNTIME_FUNCTION entries
/// (BeginAddress, EndAddress, UnwindInfoAddress, relative to `baseAddress`), sorted by address as the OS keeps them.
public struct MinidumpFunctionTable: Sendable {
    public let minimumAddress: UInt64
    public let maximumAddress: UInt64
    public let baseAddress: UInt64
    let entries: ByteView
    let entrySize: UInt64

    public var count: Int { Int(entries.count / entrySize) }

    public func entry(_ i: Int) -> (begin: UInt32, end: UInt32, unwind: UInt32)? {
        let o = UInt64(i) * entrySize
        guard let b = entries.u32(o), let e = entries.u32(o + 4), let u = entries.u32(o + 8) else { return nil }
        return (b, e, u)
    }

    /// The entry whose [begin, end) holds `address`.
    public func entry(containing address: UInt64) -> (begin: UInt32, end: UInt32, unwind: UInt32)? {
        guard address >= minimumAddress, address < maximumAddress, address >= baseAddress, address - baseAddress < 1 << 32 else { return nil }
        return SortedSearch.runtimeFunction(containing: UInt32(address - baseAddress), count: count, entrySize: entrySize) { entries.u32($0) }
    }
}
