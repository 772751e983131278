import ClrLayout
@testable import Commands
import DumpModel
import Foundation
import TestSupport
import Testing

/// dumpdbg's walk of every managed thread against the DAC's (IXCLRDataStackWalk, Expected/<dump>.dac-frames.txt):
/// the same frames in the same order, each managed frame with its SP, IP and name, each explicit Frame with the SP
/// and IP the walk has where it meets it (what SOS prints as the Frame line's IP), its class and its method. Eight
/// Linux dumps: the shared async crash, and the project's hang, pool starvation and transition-frame samples, each
/// on 3.1 and 8.0.
enum StackWalkOracle {
    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let dump: String
        let appFolder: String
        let runtime: String?
        var testDescription: String { name }
        var frames: String { name + ".dac-frames.txt" }
    }

    static let samples = ClrFixtures.projectRoot.appendingPathComponent("Samples/dumps").path

    static let all: [Case] = [
        Case(name: "linux-3.1", dump: ClrFixtures.seedDump, appFolder: ClrFixtures.seedFolder, runtime: installedRuntime31()),
        Case(name: "linux-8.0", dump: Net8.dump, appFolder: ClrFixtures.seedFolder, runtime: installedRuntime80()),
    ] + ["hang", "pool", "transition-frames"].flatMap { sample in
        [Case(name: "\(sample)-3.1", dump: "\(samples)/\(sample)/linux-3.1.core.xz", appFolder: "\(samples)/\(sample)", runtime: installedRuntime31()),
         Case(name: "\(sample)-8.0", dump: "\(samples)/\(sample)/linux-8.0.core.xz", appFolder: "\(samples)/\(sample)", runtime: installedRuntime80())]
    }

    /// The cases whose dump and runtime are here (a missing one is said, and skipped).
    static let available = all.filter { c in
        guard FileManager.default.fileExists(atPath: c.dump), c.runtime != nil else {
            print("skip stack walk oracle \(c.name): no dump at \(c.dump) or no runtime for it")
            return false
        }
        return true
    }

    static func session(_ c: Case) throws -> (Session, Output.Buffer) {
        setenv("DUMPDBG_CACHE", ClrFixtures.cacheDirectory, 1)
        let buffer = Output.Buffer()
        let s = Session(dump: try DumpLoader.open(path: c.dump).dump, output: Output(sink: { buffer.append($0) }))
        s.imagePath = [try ClrFixtures.linkFolder([c.runtime!]), try ClrFixtures.linkFolder([c.appFolder], files: ["app.exe"])]
        _ = ClrFixtures.run(s, buffer, ".loadby sos clr")
        return (s, buffer)
    }

    /// OS thread id -> the DAC's frame lines, for threads with managed frames.
    static func expected(_ file: String) throws -> [UInt64: [String]] {
        let text = try String(contentsOf: ClrStackOracle.expected.appendingPathComponent(file), encoding: .utf8)
        var out: [UInt64: [String]] = [:]
        var current: UInt64?
        for line in text.split(separator: "\n").map(String.init) {
            if line.hasPrefix("# Thread ") {
                current = line.split(separator: " ").last.flatMap { UInt64($0) }
            } else if let c = current, line.hasPrefix("SP "), !line.hasSuffix("<not managed>") {
                out[c, default: []].append(line)
            }
        }
        return out
    }

    /// Two things the oracle's own output lacks: the 3.1 DAC names no method of app.exe (it looks for the file
    /// where the dump was made: `app.exe!Unknown`), and gives no MethodDesc for a 3.1 HelperMethodFrame whose
    /// machine state is lazy (the method SOS prints for it, from the FCall table, was checked against
    /// `IXCLRDataFrame::GetMethodInstance` in Docs/clr/fcall-frames.md). There only the part before is compared.
    static func matches(_ ours: String, _ dac: String) -> Bool {
        if dac.hasSuffix("!Unknown"), let ip = dac.range(of: " IP ") {
            return ours.hasPrefix(String(dac[..<ip.upperBound]) + dac[ip.upperBound...].prefix(17))
        }
        if dac.hasSuffix("]") { return ours == dac || ours.hasPrefix(dac + " ") }
        return ours == dac
    }

    /// The same lines from dumpdbg's walk.
    static func ours(_ s: Session) throws -> [UInt64: [String]] {
        let r = try SosRuntimes.runtime(for: s)
        var out: [UInt64: [String]] = [:]
        for t in r.threads() where !t.isDead {
            guard let i = s.dump.threads.firstIndex(where: { $0.id == t.osId }), let context = s.dump.threads[i].context else { continue }
            for f in r.stackFrames(thread: s.dump.threads[i], context: context, modules: s.nativeModules) {
                let line: String
                switch f.kind {
                case .managed(let code):
                    line = "SP \(Hex.pad(f.stackPointer, 16)) IP \(Hex.pad(f.instructionPointer, 16)) \(r.methodName(code.methodDesc, withModule: false))"
                case .explicit(let e):
                    line = "SP \(Hex.pad(f.callerStackPointer ?? 0, 16)) IP \(Hex.pad(f.instructionPointer, 16)) [\(e.name ?? "Frame"): \(Hex.pad(e.address, 16))]"
                        + (e.methodDesc.map { " " + r.methodName($0, withModule: false) } ?? "")
                case .native:
                    continue
                }
                out[t.osId, default: []].append(line)
            }
        }
        return out
    }
}

@Suite("Managed stack walk: every frame and explicit Frame as the DAC walks them")
struct StackWalkOracleTests {
    @Test(arguments: StackWalkOracle.available)
    func framesEqualTheDACs(_ c: StackWalkOracle.Case) throws {
        let (s, _) = try StackWalkOracle.session(c)
        let want = try StackWalkOracle.expected(c.frames), got = try StackWalkOracle.ours(s)
        #expect(want.values.map(\.count).reduce(0, +) >= 15, "the oracle file should hold the frames of several threads")
        for (tid, lines) in want.sorted(by: { $0.key < $1.key }) {
            let ours = got[tid] ?? []
            #expect(ours.count == lines.count && zip(ours, lines).allSatisfy(StackWalkOracle.matches),
                    "thread \(tid):\n--- dumpdbg\n\(ours.joined(separator: "\n"))\n--- DAC\n\(lines.joined(separator: "\n"))")
        }
    }

    /// The transition-frame sample's precise references: a class constructor run from JIT'd code, a P/Invoke
    /// with a callback, IL stubs, and the frame a hardware fault interrupted (reported as execution aborted).
    @Test(arguments: StackWalkOracle.available.filter { $0.name.hasPrefix("transition-frames") })
    func transitionFrameReferencesEqualTheDACs(_ c: StackWalkOracle.Case) throws {
        let (s, _) = try StackWalkOracle.session(c)
        try PreciseStackReferenceOracle.check(s, c.name + ".dac-stackrefs.txt", atLeast: 35)
    }
}

/// The transition-frame sample's PrestubMethodFrame: the prestub compiling Loader.Parse, blocked inside it, protects
/// the call's arguments, which no managed frame holds yet. Its references must be the objects the program passed,
/// in the order the calling convention placed them: on Linux the references in registers, then the 24-byte struct
/// on the stack, the seventh argument in r9 and the eighth on the stack; on Windows every argument in its slot, the
/// 16- and 24-byte structs as pointers to the caller's copies.
enum PrestubFrame {
    static func describe(_ r: ClrRuntime, _ o: UInt64?) -> String {
        guard let o, o != 0, let t = r.objectType(o) else { return "?" }
        if t.isString { return "\"" + (r.stringValue(o) ?? "?") + "\"" }
        if case .reference(let name)? = r.fieldValue(o, named: "Name") { return t.name + " " + (r.stringValue(name) ?? "?") }
        return t.name
    }

    static func references(_ s: Session, facts: [String: String], windows: Bool) throws -> [String] {
        let r = try SosRuntimes.runtime(for: s)
        let tid = try #require(facts["thread.Prestub.os_tid"].flatMap { UInt64($0) })
        let i = try #require(s.dump.threads.firstIndex { $0.id == tid })
        let frames = r.stackFrames(thread: s.dump.threads[i], context: try #require(s.dump.threads[i].context), modules: s.nativeModules)
        let prestub = try #require(frames.compactMap { f -> ClrExplicitFrame? in
            if case .explicit(let e) = f.kind, e.name == "PrestubMethodFrame" { return e } else { return nil }
        }.first)
        #expect(r.methodName(try #require(prestub.methodDesc), withModule: false).hasPrefix("Samples.Frames.Loader.Parse(Samples.Frames.Keeper, System.String"))
        let refs = r.stackReferences(frames, windowsABI: windows, heap: try r.heap())
        #expect(!refs.failedFrames.contains(prestub.address))
        // Each slot as its offset from the TransitionBlock (+0x10 in the Frame) and what it holds.
        let block = try #require(r.target.u64(prestub.address + 0x10))
        return refs.references.filter { $0.fromExplicitFrame && $0.source == prestub.address }.map { ref in
            let offset = "+0x" + String((ref.address ?? 0) &- block, radix: 16) + " "
            guard ref.interior else { return offset + describe(r, ref.object) }
            // A struct passed by reference: the caller's copy, whose references are the struct's.
            let copy = ref.object ?? 0
            return offset + "&{" + [0, 8].map { describe(r, r.target.u64(copy &+ $0)) }.joined(separator: ", ") + "}"
        }
    }
}

@Suite("PrestubMethodFrame: the arguments of the call being prepared")
struct PrestubFrameTests {
    @Test(arguments: StackWalkOracle.available.filter { $0.name.hasPrefix("transition-frames") })
    func linux(_ c: StackWalkOracle.Case) throws {
        let (s, _) = try StackWalkOracle.session(c)
        let facts = try SampleFacts.read(c.appFolder + "/linux-\(c.name.suffix(3)).facts.txt")
        // rdi, rsi, rcx (Pair's first eightbyte; Pair took rcx and r8), the stack (Big), r9, the stack again.
        #expect(try PrestubFrame.references(s, facts: facts, windows: false) == [
            "+0x0 Samples.Frames.Keeper prestub-keeper", "+0x8 \"<prestub/>\"", "+0x18 \"pair-name\"", "+0x68 \"big-first\"",
            "+0x70 Samples.Frames.Keeper big-owner", "+0x28 Samples.Frames.Keeper last-keeper", "+0x80 Samples.Frames.Keeper spilled-keeper",
        ])
    }
}

extension PrestubFrameTests {
    /// A Frame whose arguments dumpdbg cannot place (in a copy of the 3.1 core, the prestub's Frame with its method
    /// rewritten to NULL): !CLRStack -gc says so under it, and !gcroot scans the Frame's stack words instead, so the
    /// keeper only the Frame's saved registers hold is still found there.
    @Test(arguments: StackWalkOracle.available.filter { $0.name == "transition-frames-3.1" })
    func unplacedArgumentsAreScanned(_ c: StackWalkOracle.Case) throws {
        let (plainSession, _) = try StackWalkOracle.session(c)
        let r = try SosRuntimes.runtime(for: plainSession)
        let facts = try SampleFacts.read(c.appFolder + "/linux-3.1.facts.txt")
        let tid = try #require(facts["thread.Prestub.os_tid"].flatMap { UInt64($0) })
        let thread = try #require(r.threads().first { $0.osId == tid })
        let frame = try #require(r.explicitFrames(thread: thread.address).first { $0.name == "PrestubMethodFrame" })
        let block = try #require(r.target.u64(frame.address + 0x10))
        let keeper = try #require(r.target.u64(block))   // rdi: the first argument, `new Keeper("prestub-keeper")`
        #expect(PrestubFrame.describe(r, keeper) == "Samples.Frames.Keeper prestub-keeper")

        let opened = try DumpLoader.open(path: c.dump)
        let path = try ClrFixtures.mutant(try #require(opened.decompressedPath), opened.dump, [(frame.address + 0x18, 0)])
        defer { unlink(path) }

        let (s, b) = try StackWalkOracle.session(.init(name: c.name, dump: path, appFolder: c.appFolder, runtime: c.runtime))
        let stack = ClrFixtures.run(s, b, "~~[\(String(tid, radix: 16))]s; !clrstack -gc")
        #expect(stack.contains("[PrestubMethodFrame: \(Hex.pad(frame.address, 16))] \n" + String(repeating: " ", count: 34)
                               + "Failed to enumerate GC references.\n"), "\(stack)")
        let roots = ClrFixtures.run(s, b, "!gcroot \(Hex.pad(keeper, 16))")
        #expect(roots.contains("    \(String(frame.address, radix: 16)) [PrestubMethodFrame] \n         \(Hex.pad(block, 16))\n"), "\(roots)")
    }
}

/// The transition-frame sample on Windows (.NET Core 3.1 under Wine; made by `Samples/install-deps.sh --tests` into
/// the sample cache): no DAC oracle reads Windows dumps here, so the walk is checked against what the program
/// itself printed (its stacks, as FACT lines) and the runtime's own structures: the Frames the scenario puts on each
/// thread, named by the vtable entries the Windows layout lists, and precise references that are all objects.
@Suite("Transition frames on Windows: the walk and its references")
struct WindowsTransitionFramesTests {
    static var folder: String {
        if let dir = ProcessInfo.processInfo.environment["DUMPDBG_SAMPLES_WINDOWS_FRAMES"], !dir.isEmpty { return dir }
        return AsyncCrashSample.sampleCache + "/transition-frames"
    }
    static var dump: String { folder + "/windows-3.1.mdmp.xz" }
    static var available: Bool {
        let here = FileManager.default.fileExists(atPath: dump)
        if !here { print("skip Windows transition frames: no dump at \(dump) (Samples/install-deps.sh --tests makes it under Wine)") }
        return here
    }

    @Test(.enabled(if: available))
    func framesAndReferences() throws {
        setenv("DUMPDBG_CACHE", ClrFixtures.cacheDirectory, 1)
        let buffer = Output.Buffer()
        let s = Session(dump: try DumpLoader.open(path: Self.dump).dump, output: Output(sink: { buffer.append($0) }))
        s.imagePath = [try ClrFixtures.linkFolder([Self.folder], files: ["app.exe"])]
        _ = ClrFixtures.run(s, buffer, ".loadby sos clr")
        let facts = try SampleFacts.read(Self.folder + "/windows-3.1.facts.txt")
        let r = try SosRuntimes.runtime(for: s)
        func walk(_ name: String) throws -> [String] {
            let tid = try #require(facts["thread.\(name).os_tid"].flatMap { UInt64($0) })
            let i = try #require(s.dump.threads.firstIndex { $0.id == tid })
            return r.stackFrames(thread: s.dump.threads[i], context: try #require(s.dump.threads[i].context), modules: s.nativeModules).map { f in
                switch f.kind {
                case .managed(let code): return r.methodName(code.methodDesc, withModule: false)
                case .explicit(let e): return "[\(e.name ?? "Frame")]" + (e.methodDesc.map { " " + r.methodName($0, withModule: false) } ?? "")
                case .native: return "native"
                }
            }
        }
        // The hardware fault: a FaultingExceptionFrame (DAC entry 161) over the faulting frame.
        let main = try walk("main")
        #expect(Array(main.prefix(3)) == ["[FaultingExceptionFrame]", "Samples.Frames.Program.Crash(Samples.Frames.Keeper)",
                                          "Samples.Frames.Program.Main(System.String[])"], "\(main)")
        // The class constructor run from Gate.Hold's code, with the runtime's Frames between.
        let classInit = try walk("ClassInit")
        let cctor = try #require(classInit.firstIndex(of: "Samples.Frames.Gate..cctor()"))
        #expect(Array(classInit[(cctor + 1)...].prefix(4)) == ["[GCFrame]", "[HelperMethodFrame]",
                "Samples.Frames.Gate.Hold(System.String, Samples.Frames.Keeper, Int32)", "Samples.Frames.Program.ClassInitThread()"], "\(classInit)")
        // The assembly-load handler run inside the prestub compiling Loader.Parse (DAC entry 174), and what it protects:
        // every argument in its 8-byte slot after the block's 0x48 bytes, the structs as pointers to the caller's copies.
        let prestub = try walk("Prestub")
        let parse = try #require(prestub.firstIndex { $0.hasPrefix("[PrestubMethodFrame] Samples.Frames.Loader.Parse(") }, "\(prestub)")
        #expect(prestub[..<parse].contains("Samples.Frames.Loader.OnAssemblyLoad(System.Object, System.AssemblyLoadEventArgs)"))
        #expect(prestub[parse + 1] == "Samples.Frames.Program.PrestubThread()")
        #expect(try PrestubFrame.references(s, facts: facts, windows: true) == [
            "+0x48 Samples.Frames.Keeper prestub-keeper", "+0x50 \"<prestub/>\"", "+0x68 &{\"pair-name\", ?}",
            "+0x70 &{\"big-first\", Samples.Frames.Keeper big-owner}", "+0x78 Samples.Frames.Keeper last-keeper",
            "+0x80 Samples.Frames.Keeper spilled-keeper",
        ])
        // The callback: both IL stubs, and the active InlinedCallFrame met twice, with its P/Invoke.
        let callback = try walk("Callback")
        let icf = "[InlinedCallFrame] Samples.Frames.Program.qsort_msvcrt(IntPtr, UIntPtr, UIntPtr, Compare)"
        let reverse = try #require(callback.firstIndex(of: "ILStubClass.IL_STUB_ReversePInvoke(Int64, Int64)"))
        #expect(Array(callback[(reverse + 1)...].prefix(4)) == [icf, icf, "ILStubClass.IL_STUB_PInvoke(IntPtr, UIntPtr, UIntPtr, Compare)",
                                                                 "Samples.Frames.Program.CallbackThread()"], "\(callback)")
        // Every reference from every thread decodes, and each one in stack memory is null or an object.
        let heap = try r.heap()
        var checked = 0
        for t in r.threads() where !t.isDead {
            guard let i = s.dump.threads.firstIndex(where: { $0.id == t.osId }), let context = s.dump.threads[i].context else { continue }
            let refs = r.stackReferences(r.stackFrames(thread: s.dump.threads[i], context: context, modules: s.nativeModules), windowsABI: true, heap: heap)
            #expect(refs.failedFrames.isEmpty)
            for ref in refs.references where ref.address != nil && !ref.interior {
                let o = try #require(ref.object)
                #expect(o == 0 || heap.isValidObject(o), "\(ref)")
                checked += 1
            }
        }
        #expect(checked >= 30)
    }
}

/// The JIT's native-to-IL maps (the debug info's bounds stream) against the DAC's GetILAddressMap for every
/// managed frame the DAC walks (Expected/<dump>.dac-ilmaps.txt): JIT'd and ReadyToRun code, 3.1 and 8.0.
@Suite("IL offsets: the native-to-IL map of every managed frame equals the DAC's")
struct ILAddressMapTests {
    @Test(arguments: StackWalkOracle.available.filter { ["linux-3.1", "linux-8.0", "transition-frames-3.1", "transition-frames-8.0"].contains($0.name) })
    func mapsEqualTheDACs(_ c: StackWalkOracle.Case) throws {
        let (s, _) = try StackWalkOracle.session(c)
        let r = try SosRuntimes.runtime(for: s)
        let text = try String(contentsOf: ClrStackOracle.expected.appendingPathComponent(c.name + ".dac-ilmaps.txt"), encoding: .utf8)
        var frames = 0
        for line in text.split(separator: "\n") where line.hasPrefix("IP ") {
            let words = line.split(separator: " ")
            let ip = try #require(UInt64(words[1], radix: 16))
            let code = try #require(r.codeMap.code(at: ip - 1), "no code at \(words[1])")
            let map = try #require(r.ilAddressMap(code), "no IL map for \(words[1])")
            let ours = map.map { String($0.ilOffset, radix: 16) + ":" + Hex.pad(code.start + UInt64($0.nativeOffset), 16) }
            #expect(ours == words.dropFirst(2).map(String.init), "frame at \(words[1])")
            frames += 1
        }
        #expect(frames >= 8)
    }

    /// `!CLRStack`'s JSON names each frame's IL offset: Main's call of Thread.Sleep on the 3.1 dump is at IL 0xe7
    /// (the row before the return address 0x...183d, which starts IL 0xed).
    @Test(.enabled(if: ClrFixtures.seedAvailable && ClrFixtures.runtimeFolder != nil))
    func clrStackJSONHasTheILOffset() throws {
        let (s, _) = try ClrFixtures.seedSessionWithSos()
        let r = try SosRuntimes.runtime(for: s)
        let code = try #require(r.codeMap.code(at: 0x7fb0_9766_183c))
        #expect(r.ilOffset(code, ip: 0x7fb0_9766_183d, isReturnAddress: true) == 0xe7)
        #expect(r.ilOffset(code, ip: 0x7fb0_9766_183d, isReturnAddress: false) == 0xed)
        let frames = ClrStackCommand.frames(thread: 0, context: s.dump.threads[0].context, native: false, r, s)
        #expect(frames.first { $0.callSite.hasPrefix("CrashLab.Program.Main") }?.ilOffset == 0xe7)
    }
}
