import DumpModel
import Foundation
import Testing

/// Breakpad's `minidump_dump` output: blocks of `Header` then `  key = value` lines.
struct BreakpadDumpOutput {
    struct Block {
        let kind: String
        var fields: [String: String] = [:]
        func hex(_ key: String) -> UInt64? {
            guard let v = fields[key]?.split(separator: " ").first else { return nil }
            return v.hasPrefix("0x") ? UInt64(v.dropFirst(2), radix: 16) : UInt64(v)
        }
        func string(_ key: String) -> String? {
            guard let v = fields[key], v.hasPrefix("\""), v.hasSuffix("\"") else { return nil }
            return String(v.dropFirst().dropLast())
        }
    }

    var blocks: [Block] = []
    /// The hex bytes under each MDMemoryDescriptor's "Memory" line, by start address.
    var memory: [(start: UInt64, bytes: [UInt8])] = []

    init(text: String) {
        var current: Block?
        var pendingMemoryStart: UInt64?
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = String(raw)
            if line.hasPrefix("  "), let eq = line.range(of: " = ") {
                let key = line[..<eq.lowerBound].trimmingCharacters(in: .whitespaces)
                current?.fields[key] = String(line[eq.upperBound...]).trimmingCharacters(in: .whitespaces)
            } else if line.hasPrefix("MD") {
                if let c = current { blocks.append(c) }
                current = Block(kind: line.trimmingCharacters(in: .whitespaces))
            } else if line == "Memory", let c = current, c.kind == "MDMemoryDescriptor" {
                pendingMemoryStart = c.hex("start_of_memory_range")
            } else if line.hasPrefix("0x"), let start = pendingMemoryStart {
                let hex = Array(line.dropFirst(2).utf8)
                var bytes: [UInt8] = []
                var i = 0
                while i + 1 < hex.count {
                    bytes.append(UInt8(String(decoding: hex[i...i + 1], as: UTF8.self), radix: 16) ?? 0)
                    i += 2
                }
                memory.append((start, bytes))
                pendingMemoryStart = nil
            }
        }
        if let c = current { blocks.append(c) }
    }

    func all(_ kind: String) -> [Block] { blocks.filter { $0.kind == kind } }
}

/// The dumps rust-minidump's human-readable snapshots describe.
let rustMinidumpSnapshots = [
    ("rust-minidump/linux-mini.dmp", "test_minidump_stackwalk__linux_human.snap"),
    ("rust-minidump/pipeline-inlines-macos-segv.dmp", "test_minidump_stackwalk__macos_inlines_human.snap"),
    ("breakpad/minidump2.dmp", "test_minidump_stackwalk__human.snap"),
]

@Suite(.enabled(if: SharedDumps.available, Comment(rawValue: SharedDumps.absentMessage)))
struct ExpectedOutputTests {
    /// breakpad/minidump2.dmp against Breakpad's own minidump_dump output shipped beside it.
    @Test func minidump2MatchesBreakpadDump() throws {
        let text = try String(contentsOfFile: SharedDumps.path("breakpad/minidump2.dump.out"), encoding: .utf8)
        let expected = BreakpadDumpOutput(text: text)
        let dump = try #require(try SharedDumps.open("breakpad/minidump2.dmp") as? Minidump)

        let threads = expected.all("MDRawThread")
        #expect(threads.count == 2)
        #expect(dump.threads.count == threads.count)
        let contexts = expected.all("MDRawContextX86")
        for (i, t) in threads.enumerated() where i < dump.threads.count {
            let mine = dump.threads[i]
            #expect(mine.id == t.hex("thread_id"))
            #expect(UInt64(mine.suspendCount) == t.hex("suspend_count"))
            #expect(mine.teb == t.hex("teb"))
            #expect(mine.stackStart == t.hex("stack.start_of_memory_range"))
            #expect(mine.stackSize == t.hex("stack.memory.data_size"))
            // The i-th context block belongs to the i-th thread.
            let ctx = try #require(mine.context)
            for reg in ["eax", "ebx", "ecx", "edx", "esi", "edi", "ebp", "eip", "esp", "cs", "ss", "ds", "es", "fs", "gs"] {
                #expect(ctx[reg] == contexts[i].hex(reg), "thread \(i) \(reg)")
            }
            #expect(ctx["efl"] == contexts[i].hex("eflags"))
        }

        let modules = expected.all("MDRawModule")
        #expect(dump.modules.count == modules.count)
        for (m, e) in zip(dump.modules, modules) {
            #expect(m.base == e.hex("base_of_image"))
            #expect(m.size == e.hex("size_of_image"))
            #expect(m.checksum.map(UInt64.init) == e.hex("checksum"))
            #expect(m.timestamp.map(UInt64.init) == e.hex("time_date_stamp"))
            #expect(m.path == e.string("(code_file)"))
            if let pdb = e.string("(cv_record).pdb_file_name") {
                #expect(m.pdbName == pdb)
                #expect(m.pdbAge.map(UInt64.init) == e.hex("(cv_record).age"))
                let debugId = try #require(e.string("(debug_identifier)"))
                #expect(debugIdentifier(m) == debugId)
            }
        }

        let exc = try #require(expected.all("MDException").first)
        let e = try #require(dump.exception)
        #expect(UInt64(e.threadId) == exc.hex("thread_id"))
        #expect(UInt64(e.code) == exc.hex("exception_record.exception_code"))
        #expect(e.address == exc.hex("exception_record.exception_address"))
        #expect(e.parameters == [exc.hex("exception_record.exception_information[ 0]")!, exc.hex("exception_record.exception_information[ 1]")!])
        #expect(e.context?["eip"] == contexts.last?.hex("eip"))

        let sys = try #require(expected.all("MDRawSystemInfo").first)
        #expect(dump.system.architecture == .x86)
        #expect(dump.system.processorCount.map(UInt64.init) == sys.hex("number_of_processors"))
        #expect(dump.system.osVersion?.build == UInt32(sys.hex("build_number") ?? 0))
        #expect(dump.system.servicePack == sys.string("(csd_version)"))
        #expect(dump.system.cpuVendor == sys.string("(cpu_vendor)"))
        #expect(dump.processId == expected.all("MDRawMiscInfo").first?.hex("process_id"))

        // Memory: every captured region's bytes read back through the address space.
        #expect(expected.memory.count == 3)
        for region in expected.memory {
            #expect(dump.memory.readExact(region.start, count: region.bytes.count) == region.bytes)
        }
    }

    /// Breakpad's debug identifier: GUID (as Data1-Data2-Data3 words, then bytes) and age, in hex.
    func debugIdentifier(_ m: DumpModule) -> String {
        guard let g = m.pdbGuid, g.count == 16 else { return "" }
        func le(_ r: Range<Int>) -> String { g[r].reversed().map { String(format: "%02X", $0) }.joined() }
        return le(0..<4) + le(4..<6) + le(6..<8) + g[8..<16].map { String(format: "%02X", $0) }.joined() + String(m.pdbAge ?? 0, radix: 16)
    }

    /// rust-minidump's expected "Loaded modules" lists: base and end of each module, in order of base.
    @Test(arguments: rustMinidumpSnapshots)
    func moduleRangesMatchRustMinidump(_ dumpPath: String, _ snap: String) throws {
        let text = try String(contentsOfFile: SharedDumps.path("rust-minidump/expected/" + snap), encoding: .utf8)
        var expected: [(UInt64, UInt64, String)] = []
        var inModules = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("Loaded modules:") { inModules = true; continue }
            if inModules {
                if line.isEmpty { break }
                let parts = line.split(separator: " ")
                guard parts.count >= 4, let lo = UInt64(parts[0].dropFirst(2), radix: 16), let hi = UInt64(parts[2].dropFirst(2), radix: 16) else { continue }
                expected.append((lo, hi + 1, String(parts[3])))
            }
        }
        #expect(!expected.isEmpty)
        let dump = try SharedDumps.open(dumpPath)
        let mine = dump.modules.sorted { $0.base < $1.base }.map { ($0.base, $0.end, $0.fileName) }
        #expect(mine.count == expected.count)
        for (a, b) in zip(mine, expected.sorted { $0.0 < $1.0 }) {
            #expect(a.0 == b.0 && a.1 == b.1, "module \(b.2)")
            #expect(a.2.hasPrefix(b.2) || b.2.hasPrefix(a.2), "name \(a.2) vs \(b.2)")
        }
    }

    /// The crashing thread's frame-0 registers in rust-minidump's snapshots equal the exception context.
    @Test(arguments: rustMinidumpSnapshots)
    func crashRegistersMatchRustMinidump(_ dumpPath: String, _ snap: String) throws {
        let text = try String(contentsOfFile: SharedDumps.path("rust-minidump/expected/" + snap), encoding: .utf8)
        var regs: [String: UInt64] = [:]
        var inCrashed = false
        for line in text.split(separator: "\n") {
            if line.hasPrefix("Thread "), line.contains("(crashed)") { inCrashed = true; continue }
            guard inCrashed else { continue }
            // Inlined frames come first and carry no registers; frame 0's context ends at its "Found by".
            if line.contains("Found by:") { if line.contains("inlining") { continue } else { break } }
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            var i = 0
            while i + 2 < parts.count {
                if parts[i + 1] == "=", parts[i + 2].hasPrefix("0x"), let v = UInt64(parts[i + 2].dropFirst(2), radix: 16) {
                    regs[String(parts[i])] = v
                    i += 3
                } else { i += 1 }
            }
        }
        #expect(regs.count >= 10, "registers parsed from the snapshot")
        let dump = try SharedDumps.open(dumpPath)
        let ctx = try #require(dump.exception?.context)
        for (name, value) in regs {
            let mine = name == "eflags" ? ctx["efl"] : ctx[name]
            #expect(mine == value, "\(dumpPath) \(name)")
        }
    }

    /// Thread ids in rust-minidump's macOS snapshot ("Thread N ... - tid: T").
    @Test func macThreadIdsMatchRustMinidump() throws {
        let text = try String(contentsOfFile: SharedDumps.path("rust-minidump/expected/test_minidump_stackwalk__macos_inlines_human.snap"), encoding: .utf8)
        let tids = text.split(separator: "\n").filter { $0.hasPrefix("Thread ") }.compactMap { line -> UInt64? in
            guard let r = line.range(of: "tid: ") else { return nil }
            return UInt64(line[r.upperBound...].prefix { $0.isNumber })
        }
        let dump = try SharedDumps.open("rust-minidump/pipeline-inlines-macos-segv.dmp")
        #expect(dump.threads.map(\.id) == tids)
        #expect(dump.threads.first?.name == "main")
        #expect(dump.system.os == .macOS)
    }

    /// Values transcribed from lldb's tests (lldb/EXPECTED.md).
    @Test func lldbElfCores() throws {
        let pids: [(String, UInt64)] = [("lldb/elf-core/linux-i386.core", 32306), ("lldb/elf-core/linux-x86_64.core", 32259),
                                        ("lldb/elf-core/linux-s390x.core", 1045), ("lldb/elf-core/linux-ppc64le.core", 28147),
                                        ("lldb/elf-core/altmain.core", 32259)]
        for (path, pid) in pids {
            let d = try SharedDumps.open(path)
            #expect(d.processId == pid, "\(path) pid")
            #expect(d.threads.map(\.id) == [pid], "\(path) tid")
            #expect(d.exception?.code == 11, "\(path) SIGSEGV")
            #expect(d.threads[0].context?.instructionPointer != nil)
        }
        let names = [("lldb/elf-core/linux-x86_64.core", "a.out"), ("lldb/elf-core/linux-ppc64le.core", "linux-ppc64le.ou")]
        for (path, name) in names { #expect(try SharedDumps.open(path).processName == name) }
        // Memory region counts (PT_LOAD segments).
        for (path, n) in [("lldb/elf-core/linux-i386.core", 4), ("lldb/elf-core/linux-x86_64.core", 5), ("lldb/elf-core/linux-s390x.core", 2), ("lldb/elf-core/linux-ppc64le.core", 2)] {
            #expect(try SharedDumps.open(path).regions?.count == n, "\(path) regions")
        }
        #expect(try SharedDumps.open("lldb/elf-core/linux-s390x.core").memory.bigEndian)
    }

    @Test func lldbGcoreAndThreadCrash() throws {
        for (path, pid) in [("lldb/elf-core/gcore/linux-i386.core", UInt64(5586)), ("lldb/elf-core/gcore/linux-x86_64.core", 5669)] {
            let d = try SharedDumps.open(path)
            #expect(d.processId == pid)
            #expect(d.threads.count == 3)
            #expect(d.threads.allSatisfy { $0.signal == 19 }, "gcore stops every thread with SIGSTOP")
        }
        for (path, pid, tid) in [("lldb/elf-core/thread_crash/linux-i386.core", UInt64(5193), UInt64(5195)),
                                 ("lldb/elf-core/thread_crash/linux-x86_64.core", 5222, 5250)] {
            let d = try SharedDumps.open(path)
            #expect(d.processId == pid)
            #expect(d.threads.count == 3)
            let crashed = d.threads.filter { $0.signal == 4 }
            #expect(crashed.map(\.id) == [tid])
            #expect(d.threads.filter { $0.signal == 0 }.count == 2)
            #expect(d.exception?.threadId == tid)
            // Segments with p_filesz == 0 read as missing, not zeros.
            let core = try #require(d as? ElfCore)
            let empty = core.memory.ranges.filter { $0.present == 0 }
            #expect(!empty.isEmpty)
            for r in empty { #expect(core.memory.readExact(r.start, count: 1) == nil) }
        }
    }

    @Test func lldbNetBSDCores() throws {
        let one = try SharedDumps.open("lldb/netbsd-core/1lwp_SIGSEGV.aarch64.core")
        #expect(one.processId == 8339)
        #expect(one.threads.count == 1)
        #expect(one.regions?.count == 32)
        #expect(one.exception?.threadId == 1 && one.exception?.code == 11)
        let two = try SharedDumps.open("lldb/netbsd-core/2lwp_t2_SIGSEGV.amd64.core")
        #expect(two.processId == 622)
        #expect(two.threads.map(\.id).sorted() == [1, 2])
        #expect(two.regions?.count == 24)
        #expect(two.exception?.threadId == 2 && two.exception?.code == 11)
        #expect(two.system.os == .netBSD)
    }

    @Test func lldbMinidumps() throws {
        let fizz = try SharedDumps.open("lldb/minidump/fizzbuzz_no_heap.dmp")
        #expect(fizz.processId == 4440)
        #expect(fizz.threads.count == 1)
        #expect(fizz.exception?.code == 0xC000_0005)
        #expect(fizz.threads[0].context?.instructionPointer == 0x0016_4d14)
        let guids = ["0F45B791-9A96-46F9-BF8F-2D6076EA421A-00000011", "BBB0846A-402C-4052-A16B-67650BBFE6B0-00000002",
                     "E5CB7E1B-005E-4113-AB98-98D6913B52D8-00000002", "0BF95241-CB0D-4BD4-AC5D-186A6452E522-00000001",
                     "3C05516E-57E7-40EB-8D3F-9722C5BD80DD-00000001", "6382FB86-46C4-4046-AE42-8D97B3F91FF2-00000001"]
        #expect(fizz.modules.count == 6)
        for (m, g) in zip(fizz.modules, guids) { #expect(lldbUUID(m) == g) }
        #expect(fizz.modules.first?.path == "C:\\Users\\amccarth\\Documents\\Visual Studio 2013\\Projects\\fizzbuzz\\Debug\\fizzbuzz.exe")

        let segv = try SharedDumps.open("lldb/Shell-Minidump-Windows-Sigsegv/sigsegv.dmp")
        #expect(segv.exception?.address == 0x7ff7_a131_10d9)
        #expect(segv.exception?.context?["rip"] == 0x7ff7_a131_10d9, "the exception stream's own context")
        // The faulting instruction `movl $0x0, 0x0` is c7 04 25 00 00 00 00 00 00 00 00.
        #expect(segv.memory.readExact(0x7ff7_a131_10d9, count: 11) == [0xC7, 0x04, 0x25, 0, 0, 0, 0, 0, 0, 0, 0])
    }

    func lldbUUID(_ m: DumpModule) -> String {
        guard let g = m.pdbGuid, g.count == 16 else { return "" }
        func le(_ r: Range<Int>) -> String { g[r].reversed().map { String(format: "%02X", $0) }.joined() }
        let b = g[8..<16].map { String(format: "%02X", $0) }.joined()
        return "\(le(0..<4))-\(le(4..<6))-\(le(6..<8))-\(b.prefix(4))-\(b.dropFirst(4))-" + String(format: "%08X", m.pdbAge ?? 0)
    }
}
