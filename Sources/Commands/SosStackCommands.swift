import ClrLayout
import DumpModel
import Unwind

/// `!CLRStack`'s value: each thread's managed frames (and, with -f, the native ones between them).
struct ManagedStacksValue: CommandValue {
    struct Frame: Encodable {
        let childSP: HexValue
        let ip: HexValue
        /// `Namespace.Type.Method(Signature)` for managed frames; `module!function+0xoff` for native ones (-f).
        let callSite: String
        let managed: Bool
        /// "jit" or "readyToRun" for managed frames.
        let codeKind: String?
        let methodDesc: HexValue?
    }
    struct Thread: Encodable {
        let threadIndex: Int
        let osId: HexValue
        let frames: [Frame]
    }
    let threads: [Thread]
    /// -a/-p/-l asked for arguments and locals, which dumpdbg does not decode yet.
    let variablesRequested: Bool

    func textLines() -> [String] {
        var out: [String] = []
        for (n, t) in threads.enumerated() {
            if n > 0 { out.append("") }
            out.append("OS Thread Id: 0x\(String(t.osId.value, radix: 16)) (\(t.threadIndex))")
            out.append("        Child SP               IP Call Site")
            for f in t.frames {
                out.append("\(Sos.P(f.childSP.value)) \(Sos.P(f.ip.value)) \(f.callSite)")
                if variablesRequested && f.managed {
                    out += ["    PARAMETERS:", "        <not decoded: dumpdbg does not read the JIT's variable locations yet>",
                            "    LOCALS:", "        <not decoded: dumpdbg does not read the JIT's variable locations yet>"]
                }
            }
        }
        return out
    }
}

/// `!CLRStack [-a|-p|-l] [-f] [-all]`: the managed call stack, found by unwinding from the thread's context through
/// native code (call frame information) and managed code (the JIT's unwind info), with method names from the
/// runtime's MethodDescs.
struct ClrStackCommand: ValueCommand {
    let names = ["!CLRStack", "!clrstack"]
    let summary = "show the managed call stack of the current thread (-all: every managed thread)"
    let help = """
    !CLRStack [-a | -p | -l] [-f] [-all]
    Unwinds the thread from its context: native frames by call frame information (libcoreclr's .eh_frame,
    coreclr.dll's .pdata), JIT-compiled frames by the unwind info in their code headers, ReadyToRun frames by
    the image's .pdata; each managed frame is named from its MethodDesc (Docs/clr/code-lookup.md).
    -f adds the native frames between the managed ones; -all does every managed thread.
    The runtime's explicit Frames ([HelperMethodFrame: ...], [GCFrame: ...]) are listed where they sit on the stack.
    -a, -p and -l (arguments and locals) are accepted, but their values are not decoded yet.
    Example: !CLRStack -f
    """
    var extensionName: String? { "sos" }

    func evaluate(_ inv: Invocation, in s: Session) throws -> any CommandValue {
        let args = try CommandArguments(inv, flags: ["-a", "-p", "-l", "-f", "-all", "-i", "-r"], positionals: 0...0,
                                        usage: "!CLRStack [-a | -p | -l] [-f] [-all]")
        let r = try Sos.run { try SosRuntimes.runtime(for: s) }
        var indices: [Int]
        if args.has("-all") {
            let managed = Set(r.threads().filter { !$0.isDead }.map(\.osId))
            indices = s.dump.threads.indices.filter { managed.contains(s.dump.threads[$0].id) }
        } else {
            guard let t = s.thread, r.threads().contains(where: { $0.osId == t.id && !$0.isDead }) else {
                throw CommandError("The current thread is unmanaged")
            }
            indices = [s.currentThread]
        }
        var threads: [ManagedStacksValue.Thread] = []
        for i in indices {
            try s.checkInterrupt()
            let context = i == s.currentThread ? s.context : s.dump.threads[i].context
            threads.append(.init(threadIndex: i, osId: HexValue(s.dump.threads[i].id),
                                 frames: Self.frames(thread: i, context: context, native: args.has("-f"), r, s)))
        }
        return ManagedStacksValue(threads: threads, variablesRequested: args.has("-a") || args.has("-p") || args.has("-l"))
    }

    static func frames(thread i: Int, context: RegisterContext?, native: Bool, _ r: ClrRuntime, _ s: Session) -> [ManagedStacksValue.Frame] {
        guard let context, let sp = context.stackPointer,
              var walker = StackWalker(modules: s.nativeModules, stack: StackWalker.stackRange(thread: s.dump.threads[i], stackPointer: sp, memory: s.memory))
        else { return [] }
        let map = r.codeMap
        walker.codeUnwinder = { regs, pc in map.unwind(regs, pc: pc) }
        var out: [ManagedStacksValue.Frame] = []
        // The runtime's explicit Frames live on the stack: SOS prints them where their address falls among the
        // managed frames' SPs, with IP 0.
        let osId = s.dump.threads[i].id
        var explicit = r.threads().first { $0.osId == osId }.map { r.explicitFrames(thread: $0.address) } ?? []
        func flush(below sp: UInt64?) {
            while let e = explicit.first, sp.map({ e.address < $0 }) ?? true {
                explicit.removeFirst()
                out.append(.init(childSP: HexValue(e.address), ip: HexValue(0),
                                 callSite: "[\(e.name ?? "Frame"): \(Hex.pad(e.address, 16))] ", managed: false,
                                 codeKind: nil, methodDesc: nil))
            }
        }
        for f in walker.walk(context).frames {
            if let code = map.code(at: f.lookupAddress) {
                flush(below: f.stackPointer)
                out.append(.init(childSP: HexValue(f.stackPointer), ip: HexValue(f.instructionPointer),
                                 callSite: r.methodName(code.methodDesc, withModule: false), managed: true, codeKind: code.kind.rawValue,
                                 methodDesc: HexValue(code.methodDesc)))
            } else if native {
                out.append(.init(childSP: HexValue(f.stackPointer), ip: HexValue(f.instructionPointer),
                                 callSite: s.nativeModules.name(f.instructionPointer) ?? s.address(f.instructionPointer),
                                 managed: false, codeKind: nil, methodDesc: nil))
            }
        }
        flush(below: nil)
        return out
    }
}
