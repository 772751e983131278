import ClrLayout
@testable import Commands
import Foundation
import Testing

/// dumpdbg's precise stack references (each managed frame's GC info decoded at its IP, each GCFrame's protected
/// slots) against the DAC's (ISOSDacInterface::GetStackReferences, Expected/<dump>.dac-stackrefs.txt): the same
/// references, each with the same frame, SP, register or frame-relative slot, object and flags.
enum PreciseStackReferenceOracle {
    /// The oracle's reference lines, without the thread lines.
    static func expected(_ file: String) throws -> [String] {
        let text = try String(contentsOf: ClrStackOracle.expected.appendingPathComponent(file), encoding: .utf8)
        return text.split(separator: "\n").filter { $0.hasPrefix("  ref ") }.map(String.init)
    }

    /// dumpdbg's references for every live managed thread, in the oracle's line format.
    static func computed(_ s: Session) throws -> [String] {
        let r = try SosRuntimes.runtime(for: s)
        let heap = try r.heap()
        var out: [String] = []
        for t in r.threads() where !t.isDead {
            guard let i = s.dump.threads.firstIndex(where: { $0.id == t.osId }), let context = s.dump.threads[i].context else { continue }
            let frames = r.stackFrames(thread: s.dump.threads[i], context: context, modules: s.nativeModules)
            let refs = r.stackReferences(frames, windowsABI: false, heap: heap)
            #expect(refs.failedFrames.isEmpty, "GC info not decoded for frames at \(refs.failedFrames.map { Hex.pad($0, 16) })")
            for ref in refs.references {
                let (reg, offset): (String, Int32)
                switch ref.location {
                case .register(let name): (reg, offset) = (name, 0)
                case .stack(let base, let o): (reg, offset) = (base, o)
                case .frame: (reg, offset) = ("-", 0)
                }
                let flags = (ref.interior ? 1 : 0) | (ref.pinned ? 2 : 0)
                out.append("  ref source \(Hex.pad(ref.source, 16)) sp \(Hex.pad(ref.stackPointer, 16)) type \(ref.fromExplicitFrame ? 1 : 0) "
                           + "reg \(reg) offset \(offset) address \(Hex.pad(ref.address ?? 0, 16)) object \(Hex.pad(ref.object ?? 0, 16)) flags \(flags)")
            }
        }
        return out
    }

    /// An interior pointer's object is the one it points into. The DAC resolves it by walking the heap and
    /// reports the pointer itself when that fails (8.0's DAC does for the pinned object heap); dumpdbg resolves
    /// every one it can. So interior references compare with the object left out, and dumpdbg's object must
    /// start at or below the DAC's.
    static func split(_ line: String) -> (key: String, object: UInt64?) {
        guard line.hasSuffix(" flags 1") || line.hasSuffix(" flags 3"), let r = line.range(of: " object ") else { return (line, nil) }
        let hex = line[r.upperBound...].prefix(16)
        return (String(line[..<r.lowerBound]) + " object (interior)" + line[r.upperBound...].dropFirst(16), UInt64(hex, radix: 16))
    }

    /// The sources (Frame addresses) where the DAC's own enumeration stopped with an error ("  error source X"): the
    /// 3.1 and 8.0 DACs stop on the transition-frame sample's PrestubMethodFrame after its third reference, so there
    /// its references must be among dumpdbg's and the rest are checked against the program (PrestubFrameTests).
    static func failedSources(_ file: String) throws -> Set<String> {
        let text = try String(contentsOf: ClrStackOracle.expected.appendingPathComponent(file), encoding: .utf8)
        return Set(text.split(separator: "\n").filter { $0.hasPrefix("  error source ") }.map { String($0.split(separator: " ")[2]) })
    }

    static func check(_ s: Session, _ file: String, atLeast: Int = 40, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let dac = try expected(file).map(split), ours = try computed(s).map(split)
        let stopped = try failedSources(file)
        #expect(dac.count >= atLeast, "the oracle file should hold the references of several threads", sourceLocation: sourceLocation)
        for d in dac {
            guard let o = ours.first(where: { $0.key == d.key }) else { Issue.record("missing: \(d.key)", sourceLocation: sourceLocation); continue }
            if let mine = o.object, let theirs = d.object, mine > theirs || theirs - mine > 1 << 20 {
                Issue.record("interior \(d.key): dumpdbg's object \(Hex.pad(mine, 16)) is not below the DAC's \(Hex.pad(theirs, 16))", sourceLocation: sourceLocation)
            }
        }
        for o in ours where !dac.contains(where: { $0.key == o.key }) {
            if let source = o.key.split(separator: " ").dropFirst(2).first, stopped.contains(String(source)) { continue }
            Issue.record("not reported by the DAC: \(o.key)", sourceLocation: sourceLocation)
        }
    }
}

@Suite("Precise stack roots: the GC references of every frame equal the DAC's")
struct PreciseStackReferenceTests {
    @Test(.enabled(if: ClrFixtures.seedAvailable && ClrFixtures.runtimeFolder != nil))
    func linux31() throws {
        let (s, _) = try ClrFixtures.seedSessionWithSos()
        try PreciseStackReferenceOracle.check(s, "linux-3.1.dac-stackrefs.txt")
    }

    @Test(.enabled(if: Net8.available))
    func linux80() throws {
        let (s, _) = try Net8.session()
        try PreciseStackReferenceOracle.check(s, "linux-8.0.dac-stackrefs.txt")
    }

    /// `!CLRStack -gc` in SOS's shape, and `!gcroot` rooting an object through a frame's slot by its GC info.
    @Test(.enabled(if: ClrFixtures.seedAvailable && ClrFixtures.runtimeFolder != nil))
    func clrStackAndGCRoot() throws {
        let (s, b) = try ClrFixtures.seedSessionWithSos()
        let stack = ClrFixtures.run(s, b, "~0s; !clrstack -gc")
        #expect(stack.contains("00007FFF382B4DF0 00007FB09766183D CrashLab.Program.Main(System.String[])\n"
                               + "                                  rbp-80: 00007fff382b4df0 -> 00007fb070010f98 - System.Threading.ManualResetEvent\n"))
        #expect(stack.contains("                                  rbp-38: 00007fff382b4e38 -> 00007fb07000b9b8 - System.String: \"crash\"\n"))
        #expect(stack.contains("[GCFrame: 00007fff382b5178] \n                                  00007fff382b5138 -> 00007fb07000b998 - System.String[]\n"))
        let root = ClrFixtures.run(s, b, "!gcroot 00007fb070010f98")
        #expect(root.contains("    7fff382b4df0 7fb09766183d CrashLab.Program.Main(System.String[])\n        rbp-80: 00007fff382b4df0\n"))
    }
}
