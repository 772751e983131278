/// An ELF core file (ET_CORE) from the Linux kernel, gdb's gcore, .NET's createdump or NetBSD.
/// Program headers give memory (PT_LOAD) and notes (PT_NOTE): threads, process info, signal, mapped files.
// @unchecked: every property is set while parsing in init and never changes afterwards.
public final class ElfCore: Dump, @unchecked Sendable {
    public let file: MappedFile
    /// The file the user opened (for a compressed dump, not the decompressed cache copy).
    public let path: String
    public let format = DumpFormat.elfCore
    public let is64: Bool
    public let bigEndian: Bool
    public let machine: UInt16

    public private(set) var system: SystemInfo
    public private(set) var threads: [DumpThread] = []
    public private(set) var modules: [DumpModule] = []
    public let unloadedModules: [UnloadedModule] = []
    public private(set) var exception: ExceptionInfo?
    public private(set) var memory: AddressSpace
    public private(set) var regions: [MemoryRegion]?
    public private(set) var processId: UInt64?
    public private(set) var processName: String?
    public private(set) var commandLine: String?
    public let dumpTime: UInt32? = nil
    public let processCreateTime: UInt32? = nil
    public let handles: [HandleInfo]? = nil
    public let comment: String? = nil
    public private(set) var warnings: [String] = []
    public private(set) var details: [(String, String)] = []
    /// NT_FILE: every file-backed mapping (start, end, its byte offset in the file, path).
    public private(set) var mappedFiles: [(start: UInt64, end: UInt64, fileOffset: UInt64, path: String)] = []
    /// `mappedFiles` by address: thousands of segments are labelled, and every read of memory a core left out
    /// asks which file holds it.
    private var mappedFileIndex = OverlapIndex([])
    public private(set) var auxv: [(type: UInt64, value: UInt64)] = []
    public private(set) var hasSigInfo = false
    /// The thread whose note group is being read: NT_SIGINFO belongs to the NT_PRSTATUS before it.
    private var noteThread: Int?
    /// pr_cursig per thread, before NT_SIGINFO (if any) refines it.
    private var cursig: [Int] = []
    private var noteNames: Set<String> = []

    public var producer: String {
        if noteNames.contains(where: { $0.hasPrefix("NetBSD-CORE") }) { return "NetBSD kernel" }
        // createdump 3.1 writes no NT_SIGINFO; 8.0 does, but sets pr_cursig on the crashing thread only, where
        // the kernel sets it on every thread.
        if modules.contains(where: { $0.fileName == "libcoreclr.so" })
            && (!hasSigInfo || (cursig.contains(0) && cursig.contains { $0 != 0 })) { return ".NET createdump" }
        // The kernel records the fatal signal in every thread's pr_cursig; gcore leaves it 0.
        if !cursig.isEmpty && cursig.allSatisfy({ $0 == 0 }) { return "gdb gcore" }
        return "Linux kernel"
    }

    public init(file: MappedFile, displayPath: String? = nil) throws(DumpError) {
        self.file = file
        let path = displayPath ?? file.path
        self.path = path
        let ident = ByteView(file: file, offset: 0, count: 64)
        guard ident.count >= 16, ident.bytes(0, 4) == [0x7F, 0x45, 0x4C, 0x46] else {
            throw DumpError(path: path, problem: "not an ELF file")
        }
        let cls = ident.u8(4)!, data = ident.u8(5)!
        guard cls == 1 || cls == 2 else { throw DumpError(path: path, problem: "unknown ELF class \(cls)") }
        guard data == 1 || data == 2 else { throw DumpError(path: path, problem: "unknown ELF data encoding \(data)") }
        is64 = cls == 2
        bigEndian = data == 2
        let h = ByteView(file: file, offset: 0, count: is64 ? 64 : 52, bigEndian: bigEndian)
        guard h.count >= (is64 ? 64 : 52) else { throw DumpError(path: path, problem: "truncated ELF header") }
        guard h.u16(16) == 4 else { throw DumpError(path: path, problem: "ELF file is not a core dump (e_type \(h.u16(16)!), expected 4 ET_CORE)") }
        machine = h.u16(18)!
        let ws = is64 ? 8 : 4
        let phoff = h.word(is64 ? 32 : 28, size: ws)!
        let phentsize = UInt64(h.u16(is64 ? 54 : 42)!)
        var phnum = UInt64(h.u16(is64 ? 56 : 44)!)
        let arch = ElfCore.architecture(machine: machine, is64: is64, bigEndian: bigEndian)
        system = SystemInfo(architecture: arch, os: .linux)
        memory = AddressSpace(file: file, ranges: [], pointerSize: arch.pointerSize, bigEndian: bigEndian)
        guard phentsize >= (is64 ? 56 : 32) else { throw DumpError(path: path, problem: "bad program header size \(phentsize)") }
        if phnum == 0xFFFF {
            // PN_XNUM: the real count lives in section header 0's sh_info.
            let shoff = h.word(is64 ? 40 : 32, size: ws) ?? 0
            let sh = ByteView(file: file, offset: shoff, count: is64 ? 64 : 40, bigEndian: bigEndian)
            phnum = UInt64(sh.u32(is64 ? 44 : 28) ?? 0)
        }
        let table = ByteView(file: file, offset: phoff, count: phnum * phentsize, bigEndian: bigEndian)
        let usable = table.count / phentsize
        if usable < phnum { warnings.append("program header table is truncated: \(usable) of \(phnum) headers are in the file") }
        var loads: [AddressSpace.Range] = []
        var regionList: [MemoryRegion] = []
        var notes: [ByteView] = []
        let readers = table.elfReaders(is64: is64)
        for i in 0..<usable {
            guard let ph = ElfProgramHeader.read(is64: is64, at: i * phentsize, u32: readers.u32, word: readers.word) else { break }
            let offset = ph.offset, vaddr = ph.vaddr, filesz = ph.fileSize, memsz = ph.memorySize, flags = ph.flags
            switch ph.type {
            case ElfProgramHeader.load:
                let present = min(filesz, memsz, file.available(from: offset))
                if present < min(filesz, memsz) {
                    warnings.append("segment at 0x\(String(vaddr, radix: 16)) is cut short by the end of the file")
                }
                loads.append(.init(start: vaddr, size: memsz, fileOffset: offset, present: present))
                regionList.append(MemoryRegion(base: vaddr, size: memsz, allocationBase: vaddr, allocationProtect: 0,
                                               state: 0, protect: 0, type: 0, mappedPath: nil, elfFlags: flags))
            case ElfProgramHeader.note:
                notes.append(ByteView(file: file, offset: offset, count: filesz, bigEndian: bigEndian))
            default: break
            }
        }
        memory = AddressSpace(file: file, ranges: loads, pointerSize: arch.pointerSize, bigEndian: bigEndian)
        for n in notes { parseNotes(n) }
        settleSignals()
        buildModules()
        mappedFileIndex = OverlapIndex(mappedFiles.enumerated().map { (start: $1.start, end: $1.end, owner: $0) })
        for i in regionList.indices {
            regionList[i].mappedPath = mappedFileIndex.firstOwner(containing: regionList[i].base).map { mappedFiles[$0].path }
        }
        regions = regionList
        if threads.isEmpty { warnings.append("no thread notes (NT_PRSTATUS) in the core") }
    }

    /// The first NT_FILE mapping, in the note's order, that holds all of [address, address + count).
    public func mappedFile(holding address: UInt64, count: Int) -> (start: UInt64, end: UInt64, fileOffset: UInt64, path: String)? {
        let end = address &+ UInt64(max(count, 0))
        guard count >= 0, end >= address else { return nil }
        if count > 0 {
            // The first mapping that holds the first byte is the answer when it also holds the last; when no
            // mapping holds the first byte there is none. Only a read straddling two mappings is left to the scan.
            guard let i = mappedFileIndex.firstOwner(containing: address) else { return nil }
            if end <= mappedFiles[i].end { return mappedFiles[i] }
        }
        return mappedFiles.first { $0.start <= address && end <= $0.end }
    }

    static func architecture(machine: UInt16, is64: Bool, bigEndian: Bool) -> CPUArchitecture {
        switch machine {
        case 3: return .x86
        case 62: return is64 ? .amd64 : .x32
        case 183: return .arm64
        case 40: return .arm
        case 20: return .ppc
        case 21: return bigEndian ? .ppc64 : .ppc64le
        case 22: return .s390x
        case 243: return .riscv64
        case 8: return .mips
        case 2, 43: return .sparc
        default: return .unknown(UInt32(machine))
        }
    }

    // MARK: - Notes

    private func parseNotes(_ v: ByteView) {
        var o: UInt64 = 0
        var guardCount = 0
        while o + 12 <= v.count, guardCount < 1_000_000 {
            guardCount += 1
            guard let namesz = v.u32(o), let descsz = v.u32(o + 4), let type = v.u32(o + 8) else { break }
            let nameStart = o + 12
            let descStart = nameStart + align4(UInt64(namesz))
            let next = descStart + align4(UInt64(descsz))
            guard descStart <= v.count, let desc = v.sub(descStart, UInt64(descsz)) else {
                warnings.append("a note is cut short by the end of its segment")
                break
            }
            let name = namesz > 0 ? (v.cString(nameStart, limit: Int(namesz)) ?? "") : ""
            noteNames.insert(name)
            if desc.count < UInt64(descsz) { warnings.append("note \(name)/\(type) is cut short by the end of the file") }
            handleNote(name: name, type: type, desc: desc)
            o = next
        }
    }

    private func align4(_ x: UInt64) -> UInt64 { (x + 3) & ~3 }

    private func handleNote(name: String, type: UInt32, desc: ByteView) {
        if name == "CORE" {
            switch type {
            case 1: parsePrStatus(desc)
            case 3: parsePrPsInfo(desc)
            case 6: parseAuxv(desc)
            case 0x4649_4C45: parseFileNote(desc)
            case 0x5349_4749: parseSigInfo(desc)
            default: break
            }
        } else if name.hasPrefix("NetBSD-CORE") {
            parseNetBSD(name: name, type: type, desc: desc)
        }
    }

    private var wordSize: Int { is64 ? 8 : 4 }

    private func parsePrStatus(_ d: ByteView) {
        // elf_prstatus: siginfo (12), cursig u16 @12, then sigpend/sighold words, then pid, ppid, pgrp, sid,
        // four timevals, then pr_reg. 64-bit: pid @32, regs @112; 32-bit (and x32): pid @24, regs @72.
        let cursig = d.u16(12).map(Int.init) ?? 0
        let pid = d.u32(is64 ? 32 : 24) ?? 0
        let regOff: UInt64 = is64 ? 112 : 72
        var t = DumpThread(id: UInt64(pid))
        t.signal = cursig
        // pr_utime and pr_stime: struct timeval (seconds, microseconds) in words, after pid/ppid/pgrp/sid.
        let w = UInt64(wordSize), times: UInt64 = is64 ? 48 : 40
        func timeval(_ at: UInt64) -> UInt64? {
            guard let sec = is64 ? d.u64(at) : d.u32(at).map(UInt64.init),
                  let usec = is64 ? d.u64(at + w) : d.u32(at + w).map(UInt64.init),
                  sec < 1 << 40, usec < 1_000_000 else { return nil }
            return sec * 10_000_000 + usec * 10
        }
        t.userTime = timeval(times)
        t.kernelTime = timeval(times + 2 * w)
        if let regs = d.sub(regOff, d.remaining(after: regOff)) { t.context = decodeRegisters(regs) }
        if t.context == nil { warnings.append("thread \(pid): registers in NT_PRSTATUS are too short") }
        if threads.isEmpty { processId = UInt64(pid) }
        threads.append(t)
        self.cursig.append(cursig)
        noteThread = threads.count - 1
    }

    /// Decides each thread's signal and the dump's event. With NT_SIGINFO notes, a thread's signal is the one
    /// in its own note group (the kernel writes one, for the faulting thread; gcore one per thread, SIGSTOP).
    /// Without them (createdump), pr_cursig is all there is. The event is the first signal that pr_cursig
    /// confirms, so a gcore snapshot (pr_cursig 0) has none.
    private func settleSignals() {
        guard !threads.isEmpty, system.os != .netBSD else { return }
        if hasSigInfo {
            for i in threads.indices where sigInfoByThread[i] == nil { threads[i].signal = 0 }
        }
        let event = threads.indices.first { i in
            hasSigInfo ? (sigInfoByThread[i] != nil && cursig[i] != 0) : cursig[i] != 0
        }
        guard let i = event else { return }
        let t = threads[i]
        var e = ExceptionInfo(threadId: t.id, code: UInt32(t.signal ?? 0), address: t.context?.instructionPointer ?? 0)
        e.isSignal = true
        e.context = t.context
        if let info = sigInfoByThread[i] {
            e.code = info.signo
            // SIGSEGV/SIGBUS/SIGILL/SIGFPE carry a fault address; keep it with the si_code.
            e.parameters = [4, 5, 7, 8, 11].contains(Int(info.signo)) ? [UInt64(info.code), info.address] : [UInt64(info.code)]
        }
        exception = e
    }

    private var sigInfoByThread: [Int: (signo: UInt32, code: UInt32, address: UInt64)] = [:]

    private func decodeRegisters(_ r: ByteView) -> RegisterContext? {
        let arch = system.architecture
        func regs(_ names: [String], size: Int) -> [RegisterContext.Register]? {
            guard r.count >= UInt64(names.count * size) else { return nil }
            return names.enumerated().map { i, n in
                RegisterContext.Register(name: n, value: r.word(UInt64(i * size), size: size) ?? 0, bits: size * 8)
            }
        }
        switch arch {
        case .amd64, .x32:
            // struct user_regs_struct
            let names = ["r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8", "rax", "rcx", "rdx", "rsi", "rdi",
                         "orig_rax", "rip", "cs", "efl", "rsp", "ss", "fs_base", "gs_base", "ds", "es", "fs", "gs"]
            guard let list = regs(names, size: 8) else { return nil }
            return RegisterContext(architecture: arch, registers: reorder(list, first: [
                "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rip", "rsp", "rbp", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
                "efl", "cs", "ss", "ds", "es", "fs", "gs", "fs_base", "gs_base", "orig_rax"], narrow: ["cs", "ss", "ds", "es", "fs", "gs"]))
        case .x86:
            let names = ["ebx", "ecx", "edx", "esi", "edi", "ebp", "eax", "ds", "es", "fs", "gs", "orig_eax", "eip", "cs", "efl", "esp", "ss"]
            guard let list = regs(names, size: 4) else { return nil }
            return RegisterContext(architecture: arch, registers: reorder(list, first: [
                "eax", "ebx", "ecx", "edx", "esi", "edi", "eip", "esp", "ebp", "efl", "cs", "ss", "ds", "es", "fs", "gs", "orig_eax"],
                narrow: ["cs", "ss", "ds", "es", "fs", "gs"]))
        case .arm64:
            var names = (0..<29).map { "x\($0)" }
            names += ["fp", "lr", "sp", "pc", "cpsr"]
            return regs(names, size: 8).map { RegisterContext(architecture: arch, registers: $0) }
        case .arm:
            let names = ["r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11", "r12", "sp", "lr", "pc", "cpsr"]
            return regs(names, size: 4).map { RegisterContext(architecture: arch, registers: $0) }
        case .riscv64:
            let names = ["pc", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7",
                         "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6"]
            return regs(names, size: 8).map { RegisterContext(architecture: arch, registers: $0) }
        case .ppc64le, .ppc64:
            var names = (0..<32).map { "r\($0)" }
            names += ["nip", "msr", "orig_r3", "ctr", "lr", "xer", "cr", "softe", "trap", "dar", "dsisr", "result"]
            return regs(names, size: 8).map { RegisterContext(architecture: arch, registers: $0) }
        case .s390x:
            var names = ["pswm", "pswa"]
            names += (0..<16).map { "r\($0)" }
            return regs(names, size: 8).map { RegisterContext(architecture: arch, registers: $0) }
        default:
            // Unknown machine: show the raw register words.
            let n = Int(r.count) / wordSize
            return regs((0..<min(n, 64)).map { "reg\($0)" }, size: wordSize).map { RegisterContext(architecture: arch, registers: $0) }
        }
    }

    /// Puts registers in the order debuggers print them and marks segment selectors as 16-bit.
    private func reorder(_ list: [RegisterContext.Register], first order: [String], narrow: Set<String>) -> [RegisterContext.Register] {
        var byName: [String: RegisterContext.Register] = [:]
        for r in list { byName[r.name] = r }
        return order.compactMap { n in
            guard let r = byName[n] else { return nil }
            if narrow.contains(n) { return .init(name: n, value: r.value & 0xFFFF, bits: 16) }
            if n == "efl" { return .init(name: n, value: r.value & 0xFFFF_FFFF, bits: 32) }
            return r
        }
    }

    private func parsePrPsInfo(_ d: ByteView) {
        // pr_fname[16] and pr_psargs[80] close the struct on every ABI; pid, ppid, pgrp and sid precede them.
        guard d.count >= 96 + 16 else { return }
        let fnameOff = d.count - 96
        processName = d.cString(fnameOff, limit: 16)
        let args = d.cString(fnameOff + 16, limit: 80)?.trimmed(" ")
        if let args, !args.isEmpty { commandLine = args }
        if let pid = d.u32(fnameOff - 16), pid != 0 { processId = UInt64(pid) }
    }

    private func parseAuxv(_ d: ByteView) {
        var o: UInt64 = 0
        let ws = UInt64(wordSize)
        while o + 2 * ws <= d.count, let t = d.word(o, size: wordSize), let v = d.word(o + ws, size: wordSize) {
            if t == 0 { break }
            auxv.append((t, v))
            o += 2 * ws
        }
    }

    private func parseFileNote(_ d: ByteView) {
        let ws = UInt64(wordSize)
        guard let count = d.word(0, size: wordSize), let pageSize = d.word(ws, size: wordSize) else { return }
        let n = min(count, d.count / (3 * ws))
        var names = 2 * ws + n * 3 * ws
        var out: [(UInt64, UInt64, UInt64, String)] = []
        for i in 0..<n {
            let o = 2 * ws + i * 3 * ws
            guard let s = d.word(o, size: wordSize), let e = d.word(o + ws, size: wordSize), let off = d.word(o + 2 * ws, size: wordSize) else { break }
            guard let name = d.cString(names, limit: 4096) else { break }
            names += UInt64(name.utf8.count) + 1
            // A mapping that ends before it starts is damage, not a file: keep the note's other entries.
            guard e > s else {
                warnings.append("NT_FILE entry for \(name) has end 0x\(String(e, radix: 16)) below its start 0x\(String(s, radix: 16)); ignored")
                continue
            }
            out.append((s, e, off &* pageSize, name))
        }
        mappedFiles = out.map { (start: $0.0, end: $0.1, fileOffset: $0.2, path: $0.3) }
    }

    private func parseSigInfo(_ d: ByteView) {
        guard let signo = d.u32(0) else { return }
        hasSigInfo = true
        let code = d.u32(8) ?? 0
        let addr = d.word(is64 ? 16 : 12, size: wordSize) ?? 0
        guard let i = noteThread else { return }
        sigInfoByThread[i] = (signo, code, addr)
        threads[i].signal = Int(signo)
    }

    private func parseNetBSD(name: String, type: UInt32, desc: ByteView) {
        system.os = .netBSD
        if name == "NetBSD-CORE", type == 1 {
            // struct netbsd_elfcore_procinfo: signo @8, pid @80, name[32] @124, siglwp @156.
            if let pid = desc.u32(80) { processId = UInt64(pid) }
            processName = desc.cString(124, limit: 32)
            if let signo = desc.u32(8), signo != 0 {
                let lwp = desc.u32(156) ?? 1
                var e = ExceptionInfo(threadId: UInt64(lwp), code: signo, address: 0)
                e.isSignal = true
                exception = e
            }
        } else if let at = name.firstIndex(of: "@"), let lwp = UInt64(name[name.index(after: at)...]) {
            var idx = threads.firstIndex(where: { $0.id == lwp })
            if idx == nil {
                threads.append(DumpThread(id: lwp))
                idx = threads.count - 1
            }
            // PT_GETREGS is machine-specific: 33 on amd64, 32 (+1 ignored) elsewhere; the general registers are
            // the first register note of the LWP.
            if threads[idx!].context == nil, type == 33 || (system.architecture == .arm64 && type == 32) {
                threads[idx!].context = netbsdRegisters(desc)
            }
        }
        if let e = exception, e.context == nil, let t = threads.first(where: { $0.id == e.threadId }), let ctx = t.context {
            var e2 = e
            e2.context = ctx
            e2.address = ctx.instructionPointer ?? 0
            exception = e2
        }
    }

    private func netbsdRegisters(_ r: ByteView) -> RegisterContext? {
        func regs(_ names: [String]) -> [RegisterContext.Register]? {
            guard r.count >= UInt64(names.count * 8) else { return nil }
            return names.enumerated().map { .init(name: $1, value: r.u64(UInt64($0 * 8)) ?? 0, bits: 64) }
        }
        switch system.architecture {
        case .amd64:
            let names = ["rdi", "rsi", "rdx", "rcx", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rbp", "rbx", "rax",
                         "gs", "fs", "es", "ds", "trapno", "err", "rip", "cs", "efl", "rsp", "ss"]
            guard let list = regs(names) else { return nil }
            return RegisterContext(architecture: .amd64, registers: reorder(list, first: [
                "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rip", "rsp", "rbp", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
                "efl", "cs", "ss", "ds", "es", "fs", "gs"], narrow: ["cs", "ss", "ds", "es", "fs", "gs"]))
        case .arm64:
            var names = (0..<29).map { "x\($0)" }
            names += ["fp", "lr", "sp", "pc", "cpsr"]
            return regs(names).map { RegisterContext(architecture: .arm64, registers: $0) }
        default:
            return nil
        }
    }

    // MARK: - Modules

    /// Modules are the files mapped from offset 0. A module spans its image: the ELF image's loadable segments or
    /// the PE image's SizeOfImage, read from its headers in memory; without headers, the mappings of the file
    /// that follow its first one without a gap. (.NET 8 maps managed assemblies again far away, and its
    /// W^X `memfd:doublemapper` is no image at all: neither may swallow other modules' ranges.)
    private func buildModules() {
        var order: [String] = []
        var spans: [String: (base: UInt64, end: UInt64)] = [:]
        for m in mappedFiles where !m.path.hasPrefix("memfd:") && !m.path.hasPrefix("/memfd:") {
            if var s = spans[m.path] {
                if m.start == s.end { s.end = m.end; spans[m.path] = s }
            } else if m.fileOffset == 0 {
                spans[m.path] = (m.start, m.end)
                order.append(m.path)
            }
        }
        modules = order.compactMap { p in
            guard let s = spans[p] else { return nil }
            let end = ElfImageInMemory.imageEnd(memory: memory, base: s.base).map { max($0, s.end) } ?? s.end
            var m = DumpModule(base: s.base, size: end - s.base, path: p)
            m.buildId = ElfImageInMemory.buildId(memory: memory, base: s.base)
            return m
        }.sorted { $0.base < $1.base }
        // The kernel's vDSO is no file, so NT_FILE omits it; system calls sit in it (__kernel_vsyscall on
        // i386), and its call frame information is how stacks get out. AT_SYSINFO_EHDR says where it is.
        if let vdso = auxv.first(where: { $0.type == 33 })?.value, vdso != 0, !modules.contains(where: { $0.contains(vdso) }),
           memory.readExact(vdso, count: 4) == [0x7F, 0x45, 0x4C, 0x46], let i = memory.rangeIndex(containing: vdso) {
            let r = memory.ranges[i]
            var m = DumpModule(base: vdso, size: r.end &- vdso, path: is64 ? "linux-vdso.so.1" : "linux-gate.so.1")
            m.buildId = ElfImageInMemory.buildId(memory: memory, base: vdso)
            modules.append(m)
            modules.sort { $0.base < $1.base }
        }
    }
}

/// Reads what an ELF image mapped in the target reveals about itself, when its header pages are in the dump.
enum ElfImageInMemory {
    /// Where the image mapped at `base` ends: its last loadable ELF segment, or a PE image's SizeOfImage; nil
    /// without readable headers. Bounded to 4 GiB, since the headers are untrusted.
    static func imageEnd(memory: AddressSpace, base: UInt64) -> UInt64? {
        guard let ident = memory.readExact(base, count: 6) else { return nil }
        if ident[0] == 0x4D, ident[1] == 0x5A, let lfanew = memory.readU32(base &+ 0x3C), lfanew < 0x1000,
           memory.readU32(base &+ UInt64(lfanew)) == 0x4550, let size = memory.readU32(base &+ UInt64(lfanew) &+ 24 &+ 56), size > 0 {
            return base &+ UInt64(size)
        }
        guard ident[0...3] == [0x7F, 0x45, 0x4C, 0x46], ident[5] == 1 else { return nil }
        let is64 = ident[4] == 2
        let r = memory.elfReaders(base: base, is64: is64, bigEndian: false)
        guard let table = ElfProgramHeader.table(is64: is64, u16: r.u16, word: r.word), table.count < 256 else { return nil }
        var first: UInt64?, last: UInt64 = 0
        for ph in ElfProgramHeader.all(is64: is64, table: table, limit: 256, u32: r.u32, word: r.word) where ph.type == ElfProgramHeader.load {
            if first == nil { first = ph.vaddr & ~0xFFF }
            last = max(last, ph.vaddr &+ ph.memorySize)
        }
        guard let first, last > first, last - first < 1 << 32 else { return nil }
        return base &+ ((last - first + 0xFFF) & ~0xFFF)
    }

    /// Every address here comes from the image's own (untrusted) headers, so the arithmetic wraps rather than traps.
    static func buildId(memory: AddressSpace, base: UInt64) -> [UInt8]? {
        guard let ident = memory.readExact(base, count: 6), ident[0...3] == [0x7F, 0x45, 0x4C, 0x46] else { return nil }
        let is64 = ident[4] == 2
        let image = memory.elfReaders(base: base, is64: is64, bigEndian: ident[5] == 2)
        // The notes are read at absolute addresses, in the image's byte order.
        let absolute = memory.elfReaders(base: 0, is64: is64, bigEndian: ident[5] == 2)
        let u32 = absolute.u32
        guard let table = ElfProgramHeader.table(is64: is64, u16: image.u16, word: image.word), table.count < 256 else { return nil }
        // The first PT_LOAD's vaddr is where the image's own addresses start (0 for PIE/shared objects).
        var loadBias: UInt64?
        var notes: [(UInt64, UInt64)] = []
        for ph in ElfProgramHeader.all(is64: is64, table: table, limit: 256, stopAtGap: true, u32: image.u32, word: image.word) {
            if ph.type == ElfProgramHeader.load, loadBias == nil { loadBias = base &- (ph.vaddr & ~0xFFF) }
            if ph.type == ElfProgramHeader.note { notes.append((ph.vaddr, ph.memorySize)) }
        }
        guard let bias = loadBias else { return nil }
        for (vaddr, size) in notes where size < 1 << 16 {
            var o: UInt64 = 0
            let start = bias &+ vaddr
            while o + 12 <= size {
                guard let namesz = u32(start &+ o), let descsz = u32(start &+ o &+ 4), let type = u32(start &+ o &+ 8) else { break }
                let nameAt = start &+ o &+ 12
                let descAt = nameAt &+ ((UInt64(namesz) + 3) & ~3)
                if type == 3, namesz == 4, memory.readExact(nameAt, count: 4) == [0x47, 0x4E, 0x55, 0], descsz <= 64 {
                    return memory.readExact(descAt, count: Int(descsz))
                }
                o = (descAt &- start) &+ ((UInt64(descsz) + 3) & ~3)
            }
        }
        return nil
    }
}
