import ClrLayout
import DumpModel
import Foundation

/// `!Threads`: the ThreadStore's managed threads.
struct ClrThreadsCommand: DebuggerCommand {
    let names = ["!Threads", "!clrthreads"]
    let summary = "list the managed threads"
    let help = "!Threads   lists the managed threads: debugger index, managed id, OS id, Thread object, state, GC mode, last exception."
    var extensionName: String? { "sos" }

    func run(_ inv: Invocation, in s: Session) throws {
        _ = try CommandArguments(inv, usage: "!Threads")
        let r = try Sos.run { try SosRuntimes.runtime(for: s) }
        let o = s.output
        guard let c = r.threadStoreCounts() else { throw CommandError("Failed to request ThreadStore") }
        o.line("ThreadCount:      \(c.threads)")
        o.line("UnstartedThread:  \(c.unstarted)")
        o.line("BackgroundThread: \(c.background)")
        o.line("PendingThread:    \(c.pending)")
        o.line("DeadThread:       \(c.dead)")
        o.line("Hosted Runtime:   no")
        o.line(String(repeating: " ", count: 104) + "Lock  ")
        o.line(" DBG   ID     OSID ThreadOBJ           State GC Mode     GC Alloc Context                  Domain           Count Apt Exception")
        for t in r.threads() {
            let dbg = s.dump.threads.firstIndex { $0.id == t.osId }.map { String($0) } ?? "XXXX"
            var exception = ""
            if t.isFinalizer { exception = "(Finalizer) " }
            else if t.isThreadPoolWorker { exception = "(Threadpool Worker) " }
            else if t.isCompletionPort { exception = "(Threadpool Completion Port) " }
            let thrown = r.objectFromHandle(t.lastThrownHandle)
            if thrown != 0 { exception += (r.objectType(thrown)?.name ?? "<invalid>") + " " + Sos.p(thrown) }
            let os = t.isDead && t.osId == 0 ? "0" : String(t.osId, radix: 16)
            o.line("\(dbg.leftPad(4)) \(String(t.managedId).leftPad(4)) \(os.leftPad(8)) \(Sos.P(t.address)) "
                + "\(String(t.state, radix: 16).leftPad(8)) \((t.preemptiveGCDisabled ? "Cooperative" : "Preemptive").rightPad(11)) "
                + "\(Sos.P(t.allocPtr)):\(Sos.P(t.allocLimit)) \(Sos.P(t.domain)) \(String(t.lockCount).rightPad(5)) Ukn \(exception)")
        }
    }
}

/// `!PrintException [address]`: an exception's type, message, inner exception and stack trace.
struct PrintExceptionCommand: DebuggerCommand {
    let names = ["!PrintException", "!pe"]
    let summary = "show a managed exception (the current thread's last one by default)"
    let help = "!PrintException [-nested] [<exception address>]   (also !pe)"
    var extensionName: String? { "sos" }

    func run(_ inv: Invocation, in s: Session) throws {
        let r = try Sos.run { try SosRuntimes.runtime(for: s) }
        let parsed = try CommandArguments(inv, flags: ["-nested"], positionals: 0...1,
                                          usage: "!PrintException [-nested] [<exception address>]")
        var addr: UInt64
        if let a = parsed.positionals.first {
            addr = try Sos.address(a, s)
        } else {
            guard let tid = s.thread?.id, let t = r.threads().first(where: { $0.osId == tid }) else {
                throw CommandError("The current thread is unmanaged")
            }
            addr = r.objectFromHandle(t.lastThrownHandle)
            guard addr != 0 else { throw CommandError("There is no current managed exception on this thread") }
        }
        try Self.print(addr, r, s.output)
        guard parsed.has("-nested") else { return }
        // SOS's -nested walks the thread's nested exception trackers, which dumpdbg does not read; it follows
        // the _innerException chain instead (bounded, cycle-safe).
        var seen: Set<UInt64> = [addr]
        var cur = r.referenceField(addr, "_innerException") ?? 0
        while cur != 0, seen.count < 64 {
            guard seen.insert(cur).inserted else {
                s.output.line("(the inner exception chain loops back to \(Sos.p(cur)); stopped there)")
                return
            }
            s.output.line()
            s.output.line("Nested exception -------------------------------------------------------------")
            do { try Self.print(cur, r, s.output) } catch let e as CommandError { s.output.line(e.message); break }
            cur = r.referenceField(cur, "_innerException") ?? 0
        }
        if seen.count == 1 { s.output.line("(no inner exceptions; nested exception trackers are not read by dumpdbg)") }
    }

    static func print(_ addr: UInt64, _ r: ClrRuntime, _ o: Output) throws {
        // SOS's own two answers (strike.cpp PrintException): not an object at all, or not an exception.
        guard let t = r.objectType(addr) else { throw CommandError("Invalid object") }
        guard r.isException(t) else { throw CommandError("Not a valid exception object") }
        func text(_ field: String) -> String? {
            guard let p = r.referenceField(addr, field), p != 0 else { return nil }
            return r.stringValue(p, limit: 8192) ?? "<invalid>"
        }
        o.line("Exception object: " + Sos.p(addr))
        o.line("Exception type:   " + t.name)
        o.line("Message:          " + (text("_message") ?? "<none>"))
        if let inner = r.referenceField(addr, "_innerException"), inner != 0 {
            o.line("InnerException:   \(r.objectType(inner)?.name ?? "<invalid>"), Use !PrintException \(Sos.P(inner)) to see more.")
        } else {
            o.line("InnerException:   <none>")
        }
        let frames = r.stackTrace(ofException: addr)
        if frames.isEmpty {
            o.line("StackTrace (generated): <none>")
        } else {
            o.line("StackTrace (generated):")
            o.line("    SP               IP               Function")
            for f in frames {
                let offset = r.codeOffset(ip: f.ip, methodDesc: f.methodDesc).map { "+0x" + String($0, radix: 16) } ?? ""
                o.line("    \(Sos.P(f.sp)) \(Sos.P(f.ip)) \(r.methodName(f.methodDesc))\(offset)")
            }
        }
        o.line()
        o.line("StackTraceString: " + (text("_stackTraceString") ?? "<none>"))
        let hr = r.int32Field(addr, "_HResult").map { UInt32(bitPattern: $0) } ?? 0
        o.line("HResult: " + String(hr, radix: 16))
    }
}

/// `!DumpStackObjects`: pointers to valid objects in the current thread's registers and stack.
struct DumpStackObjectsCommand: DebuggerCommand {
    let names = ["!DumpStackObjects", "!dso"]
    let summary = "list the managed objects referenced from the current thread's stack"
    let help = """
    !DumpStackObjects [-verify] [<top> [<bottom>]]   (also !dso)
    scans the registers, then the stack from RSP up to the end of its mapping; with <top> (and <bottom>),
    that stack range instead.
    Example: !dso
    """
    var extensionName: String? { "sos" }

    static let maxScan: UInt64 = 16 << 20

    func run(_ inv: Invocation, in s: Session) throws {
        let args = try CommandArguments(inv, flags: ["-verify"], positionals: 0...2,
                                        usage: "!DumpStackObjects [-verify] [<top> [<bottom>]]")
        let bounds = try args.positionals.map { try Sos.address($0, s) }
        if bounds.count == 2, bounds[1] < bounds[0] { throw CommandError("Invalid range: the bottom \(Sos.p(bounds[1])) is below the top \(Sos.p(bounds[0]))") }
        let (r, heap) = try Sos.run { try SosRuntimes.heap(for: s) }
        guard let thread = s.thread, let ctx = s.context, let stackPointer = ctx.stackPointer else {
            throw CommandError("The current thread has no register context")
        }
        let o = s.output
        o.line("OS Thread Id: 0x\(String(thread.id, radix: 16)) (\(s.currentThread))")
        o.line("RSP/REG          Object           Name")
        func describe(_ obj: UInt64, _ t: ClrType) -> String {
            var line = t.name
            if t.isString, let text = r.stringValue(obj, limit: 40) { line += "    " + text }
            return line
        }
        let regs = ["rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"]
        if bounds.isEmpty {
            for name in regs {
                guard let v = ctx[name], heap.isValidObject(v), let t = r.objectType(v) else { continue }
                o.line("\(name.rightPad(16)) \(Sos.p(v)) \(describe(v, t))")
            }
        }
        let sp = bounds.first ?? stackPointer
        guard let found = try r.objectsOnStack(top: sp, bottom: bounds.count == 2 ? bounds[1] : nil, heap: heap,
                                               limit: Self.maxScan, shouldStop: { try s.checkInterrupt() }) else {
            if !bounds.isEmpty { throw CommandError("The stack range at \(Sos.p(sp)) is not in the dump") }
            return
        }
        // objectsOnStack has already checked each object and found its type.
        for f in found { o.line("\(Sos.P(f.slot)) \(Sos.p(f.object)) \(describe(f.object, f.type))") }
    }
}
