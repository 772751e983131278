@testable import Commands
import Foundation
import Testing

/// `!CLRStack -r` against the DAC: Expected/<dump>.dac-frame-registers.txt holds, for every managed frame the
/// runtime's own stack walk visits, the context IXCLRDataStackWalk::GetContext gives there (what SOS prints),
/// made from the DAC oracle's `--args` output by Samples/oracle/frame-registers.py.
enum FrameRegisterOracle {
    /// (OS thread id, frame SP) -> register name -> value.
    typealias Contexts = [String: [String: String]]

    static func expected(_ file: String) throws -> Contexts {
        let text = try String(contentsOf: ClrStackOracle.expected.appendingPathComponent(file), encoding: .utf8)
        var out: Contexts = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let words = line.split(separator: " ").map(String.init)
            guard words.count > 2 else { continue }
            out["\(words[0]) \(words[1])"] = Dictionary(words.dropFirst(2).map { w in
                let kv = w.split(separator: "=").map(String.init)
                return (kv[0], kv[1])
            }, uniquingKeysWith: { a, _ in a })
        }
        return out
    }

    /// dumpdbg's `!CLRStack -r -all`, parsed the same way (managed frames only: explicit Frames have IP 0).
    static func ours(_ s: Session, _ b: Output.Buffer) -> Contexts {
        var out: Contexts = [:]
        var thread: String?, frame: String?
        for raw in ClrFixtures.run(s, b, "!CLRStack -r -all").split(separator: "\n") {
            let line = String(raw)
            if line.hasPrefix("OS Thread Id: 0x") {
                thread = String(line.dropFirst(16).prefix { $0 != " " })
                continue
            }
            let words = line.split(separator: " ")
            if words.count >= 3, words[0].count == 16, words[1].count == 16, let thread {
                frame = words[1] == "0000000000000000" ? nil : "\(thread) \(words[0].lowercased())"
                if let frame { out[frame] = [:] }
                continue
            }
            guard let frame, line.hasPrefix("    ") else { continue }
            for pair in words where pair.contains("=") {
                let kv = pair.split(separator: "=").map(String.init)
                out[frame]?[kv[0]] = kv[1]
            }
        }
        return out
    }

    static func compare(_ s: Session, _ b: Output.Buffer, expectedFile: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let want = try expected(expectedFile)
        let got = ours(s, b)
        var compared = 0
        for (frame, registers) in want.sorted(by: { $0.key < $1.key }) {
            let mine = try #require(got[frame], "frame \(frame) of the DAC's walk is missing", sourceLocation: sourceLocation)
            for (name, value) in registers.sorted(by: { $0.key < $1.key }) {
                #expect(mine[name] == value, "frame \(frame) \(name): dumpdbg \(mine[name] ?? "-"), DAC \(value)", sourceLocation: sourceLocation)
                compared += 1
            }
        }
        #expect(want.count >= 15 && compared == want.count * 12, "\(want.count) frames, \(compared) values", sourceLocation: sourceLocation)
    }
}

@Suite("!CLRStack -r: each frame's registers equal the DAC's frame context")
struct ClrStackRegistersTests {
    @Test(.enabled(if: ClrFixtures.seedAvailable && ClrFixtures.runtimeFolder != nil))
    func linux31() throws {
        let (s, b) = try ClrFixtures.seedSessionWithSos()
        try FrameRegisterOracle.compare(s, b, expectedFile: "linux-3.1.dac-frame-registers.txt")
    }

    /// Includes a frame below an active P/Invoke (LowLevelLifoSemaphore.WaitNative): the runtime resumes there
    /// from the InlinedCallFrame without unwinding the native frames, so its callee-saved registers are the thread's.
    @Test(.enabled(if: Net8.available))
    func linux80() throws {
        let (s, b) = try Net8.session()
        try FrameRegisterOracle.compare(s, b, expectedFile: "linux-8.0.dac-frame-registers.txt")
    }

    @Test(.enabled(if: Win31.available))
    func windows31() throws {
        let (s, b) = try Win31.session()
        try FrameRegisterOracle.compare(s, b, expectedFile: "windows-3.1.dac-frame-registers.txt")
    }

    @Test(.enabled(if: ClrFixtures.seedAvailable && ClrFixtures.runtimeFolder != nil))
    func layoutAndUnsupportedOptions() throws {
        let (s, b) = try ClrFixtures.session(dump: ClrFixtures.seedDump, appFolder: ClrFixtures.seedFolder)
        let out = ClrFixtures.run(s, b, ".loadby sos clr; !CLRStack -r")
        let lines = out.split(separator: "\n").map(String.init)
        let at = try #require(lines.firstIndex { $0.hasPrefix("    rsp=") })
        #expect(lines[at...].prefix(6).map { $0.split(separator: " ").map { $0.split(separator: "=")[0] } }
                == [["rsp", "rbp", "rip"], ["rax", "rbx", "rcx"], ["rdx", "rsi", "rdi"], ["r8", "r9", "r10"], ["r11", "r12", "r13"], ["r14", "r15"]])
        #expect(lines[at + 3].hasPrefix("     r8="), "names right-aligned in three columns, as SOS prints them")
        #expect(ClrFixtures.run(s, b, "!CLRStack -i").contains("ICorDebug"), "-i says it is not there instead of ignoring it")
    }
}
