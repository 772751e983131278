import DumpModel
import Foundation
import Testing
import TestSupport

/// The project's own cores: Samples/make-native-core.sh builds Samples/native/threads.c, runs it, and takes
/// a core with gdb's gcore (and, where the kernel can write one, a core of its SIGSEGV crash). The program
/// writes down what it knows (tids, addresses, values); the dump must say the same.
enum NativeSamples {
    typealias Outcome = NativeSampleCores.Outcome
    static var made: Outcome { NativeSampleCores.made }
    static var toolsPresent: Bool { NativeSampleCores.toolsPresent }

    struct Facts: Decodable {
        struct Thread: Decodable { let tid: UInt64; let name: String }
        struct Global: Decodable { let address: String; let magic: String; let pattern_hex: String; let pattern_offset: Int; let tag: String; let tag_offset: Int }
        struct HeapString: Decodable { let address: String; let value: String }
        struct Worker: Decodable {
            let tid: UInt64; let name: String; let marker_address: String; let marker_values: [String]
            let string_address: String; let string: String; let stack_lo: String; let stack_hi: String; let blocked_in: String
        }
        let pid: UInt64
        let pointer_size: Int
        let main_thread: Thread
        let thread_count: Int
        let global: Global
        let heap_string: HeapString
        let workers: [Worker]
    }

    static func hex(_ s: String) -> UInt64 { UInt64(s.dropFirst(2), radix: 16) ?? 0 }

    static func load(_ name: String) throws -> (any Dump, Facts)? {
        let dir = made.directory
        let core = "\(dir)/\(name).core", facts = "\(dir)/\(name).facts.json"
        guard FileManager.default.fileExists(atPath: core) else { return nil }
        let f = try JSONDecoder().decode(Facts.self, from: Data(contentsOf: URL(fileURLWithPath: facts)))
        return (try DumpLoader.open(path: core).dump, f)
    }
}

@Suite(.enabled(if: NativeSamples.toolsPresent, "gcc and gdb are needed to make the sample cores (.ci/run installs them)"),
       .serialized)
struct NativeSampleTests {
    @Test func scriptMakesTheCores() {
        #expect(NativeSamples.made.ok, "make-native-core.sh failed:\n\(NativeSamples.made.log)")
    }

    @Test(arguments: ["threads", "threads-opt", "threads-dbgframe", "threads32"])
    func gcoreMatchesWhatTheProgramKnew(_ name: String) throws {
        guard NativeSamples.made.ok else { return }
        guard let (dump, facts) = try NativeSamples.load(name) else {
            #expect(name == "threads32", "\(name).core was not made")
            return
        }
        #expect(dump.format == .elfCore)
        #expect(dump.system.architecture == (facts.pointer_size == 8 ? .amd64 : .x86))
        #expect(dump.processId == facts.pid)
        #expect(dump.threads.count == facts.thread_count)
        #expect(Set(dump.threads.map(\.id)) == Set([facts.main_thread.tid] + facts.workers.map(\.tid)))
        #expect(dump.exception == nil, "a gcore snapshot has no event")
        #expect(dump.producer == "gdb gcore")
        let mem = dump.memory
        // The global struct: magic, 64-byte pattern, tag.
        let g = NativeSamples.hex(facts.global.address)
        #expect(mem.readU64(g) == NativeSamples.hex(facts.global.magic))
        let pattern = try #require(mem.readExact(g + UInt64(facts.global.pattern_offset), count: 64))
        #expect(pattern.map { String(format: "%02x", $0) }.joined() == facts.global.pattern_hex)
        #expect(mem.readCString(g + UInt64(facts.global.tag_offset)) == facts.global.tag)
        #expect(mem.readCString(NativeSamples.hex(facts.heap_string.address)) == facts.heap_string.value)
        // Each worker: its stack markers, its string, and a stack pointer inside its stack.
        for w in facts.workers {
            let at = NativeSamples.hex(w.marker_address)
            for (k, v) in w.marker_values.enumerated() {
                #expect(mem.readU64(at + UInt64(k * 8)) == NativeSamples.hex(v), "\(w.name) marker \(k)")
            }
            #expect(mem.readCString(NativeSamples.hex(w.string_address)) == w.string)
            let thread = try #require(dump.threads.first { $0.id == w.tid })
            let sp = try #require(thread.context?.stackPointer)
            #expect(sp >= NativeSamples.hex(w.stack_lo) && sp < NativeSamples.hex(w.stack_hi), "\(w.name) sp")
        }
        // The executable is the module mapped at exe_base.
        #expect(dump.modules.contains { $0.fileName == name })
        #expect(dump.modules.first { $0.fileName == name }?.buildId?.isEmpty == false, "build id read from the ELF header in memory")
    }

    @Test(arguments: ["threads", "threads32"])
    func kernelCrashCore(_ name: String) throws {
        guard NativeSamples.made.ok else { return }
        guard let (dump, facts) = try NativeSamples.load(name + ".crash") else { return }  // kernel cores can be off here
        let crashed = try #require(facts.workers.first { $0.blocked_in == "dumpdbg_crash_here" })
        let e = try #require(dump.exception)
        #expect(e.code == 11)
        #expect(e.threadId == crashed.tid)
        #expect(e.parameters.last == 0x10, "fault address from NT_SIGINFO")
        #expect(dump.producer == "Linux kernel")
        #expect(dump.threads.first { $0.id == crashed.tid }?.signal == 11)
    }
}
