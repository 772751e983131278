import ClrLayout
import DumpModel
import Foundation

/// `!Threads`: the ThreadStore's managed threads.
struct ClrThreadsCommand: ValueCommand {
    let names = ["!Threads", "!clrthreads"]
    let summary = "list the managed threads"
    let help = """
    !Threads   lists the managed threads: debugger index, managed id, OS id, Thread object, state, GC mode,
               allocation context, lock count and last exception (and which is the finalizer, a pool thread).
    Example: !threads
    """
    var extensionName: String? { "sos" }

    func evaluate(_ inv: Invocation, in s: Session) throws -> any CommandValue {
        _ = try CommandArguments(inv, usage: "!Threads")
        let r = try Sos.run { try SosRuntimes.runtime(for: s) }
        guard let c = r.threadStoreCounts() else { throw CommandError("Failed to request ThreadStore") }
        let rows = r.threads().map { t -> ManagedThreadsValue.Thread in
            let thrown = r.objectFromHandle(t.lastThrownHandle)
            let kind = t.isFinalizer ? "Finalizer" : t.isThreadPoolWorker ? "Threadpool Worker" : t.isCompletionPort ? "Threadpool Completion Port" : nil
            return .init(debuggerIndex: s.dump.threads.firstIndex { $0.id == t.osId }, managedId: Int(t.managedId), osId: HexValue(t.osId),
                         isDead: t.isDead, threadObject: HexValue(t.address), state: HexValue(UInt64(t.state)),
                         gcMode: t.preemptiveGCDisabled ? "Cooperative" : "Preemptive", allocPointer: HexValue(t.allocPtr),
                         allocLimit: HexValue(t.allocLimit), domain: HexValue(t.domain), lockCount: Int(t.lockCount), kind: kind,
                         lastException: thrown == 0 ? nil : .init(address: HexValue(thrown), type: r.objectType(thrown)?.name ?? "<invalid>"))
        }
        return ManagedThreadsValue(threadCount: Int(c.threads), unstarted: Int(c.unstarted), background: Int(c.background),
                                   pending: Int(c.pending), dead: Int(c.dead), threads: rows)
    }
}

/// `!Threads`' value: the ThreadStore's counts and its threads.
struct ManagedThreadsValue: CommandValue {
    struct Exception: Encodable {
        let address: HexValue
        let type: String
    }
    struct Thread: Encodable {
        /// The debugger's thread index (`~N`), nil for a thread the dump does not hold (SOS prints XXXX).
        let debuggerIndex: Int?
        let managedId: Int
        let osId: HexValue
        let isDead: Bool
        let threadObject: HexValue
        let state: HexValue
        let gcMode: String
        let allocPointer: HexValue
        let allocLimit: HexValue
        let domain: HexValue
        let lockCount: Int
        /// "Finalizer", "Threadpool Worker", "Threadpool Completion Port".
        let kind: String?
        let lastException: Exception?
    }
    let threadCount: Int
    let unstarted: Int
    let background: Int
    let pending: Int
    let dead: Int
    let threads: [Thread]

    func textLines() -> [String] {
        var out = ["ThreadCount:      \(threadCount)", "UnstartedThread:  \(unstarted)", "BackgroundThread: \(background)",
                   "PendingThread:    \(pending)", "DeadThread:       \(dead)", "Hosted Runtime:   no",
                   String(repeating: " ", count: 104) + "Lock  ",
                   " DBG   ID     OSID ThreadOBJ           State GC Mode     GC Alloc Context                  Domain           Count Apt Exception"]
        for t in threads {
            let dbg = t.debuggerIndex.map { String($0) } ?? "XXXX"
            var exception = t.kind.map { "(\($0)) " } ?? ""
            if let e = t.lastException { exception += e.type + " " + Sos.p(e.address.value) }
            let os = t.isDead && t.osId.value == 0 ? "0" : String(t.osId.value, radix: 16)
            out.append("\(dbg.leftPad(4)) \(String(t.managedId).leftPad(4)) \(os.leftPad(8)) \(Sos.P(t.threadObject.value)) "
                + "\(String(t.state.value, radix: 16).leftPad(8)) \(t.gcMode.rightPad(11)) "
                + "\(Sos.P(t.allocPointer.value)):\(Sos.P(t.allocLimit.value)) \(Sos.P(t.domain.value)) \(String(t.lockCount).rightPad(5)) Ukn \(exception)")
        }
        return out
    }
}

/// `!PrintException [address]`: an exception's type, message, inner exception and stack trace.
struct PrintExceptionCommand: ValueCommand {
    let names = ["!PrintException", "!pe"]
    let summary = "show a managed exception (the current thread's last one by default)"
    let help = """
    !PrintException [-nested] [<exception address>]   (also !pe)
    the exception's type, message, inner exception, stack trace (SP, IP, method) and HResult; without an
    address, the current thread's last thrown exception; -nested follows the inner exceptions.
    Example: !pe -nested
    """
    var extensionName: String? { "sos" }

    func evaluate(_ inv: Invocation, in s: Session) throws -> any CommandValue {
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
        var value = ExceptionsValue(exceptions: [try Self.exception(addr, r)], nested: parsed.has("-nested"), chainNote: nil)
        guard parsed.has("-nested") else { return value }
        // SOS's -nested walks the thread's nested exception trackers, which dumpdbg does not read; it follows
        // the _innerException chain instead (bounded, cycle-safe).
        var seen: Set<UInt64> = [addr]
        var cur = r.referenceField(addr, "_innerException") ?? 0
        while cur != 0, seen.count < 64 {
            guard seen.insert(cur).inserted else {
                value.chainNote = "(the inner exception chain loops back to \(Sos.p(cur)); stopped there)"
                return value
            }
            do { value.exceptions.append(try Self.exception(cur, r)) } catch let e as CommandError { value.chainNote = e.message; break }
            cur = r.referenceField(cur, "_innerException") ?? 0
        }
        if seen.count == 1 { value.chainNote = "(no inner exceptions; nested exception trackers are not read by dumpdbg)" }
        return value
    }

    static func exception(_ addr: UInt64, _ r: ClrRuntime) throws -> ExceptionsValue.Exception {
        // SOS's own two answers (strike.cpp PrintException): not an object at all, or not an exception.
        guard let t = r.objectType(addr) else { throw CommandError("Invalid object") }
        guard r.isException(t) else { throw CommandError("Not a valid exception object") }
        func text(_ field: String) -> String? {
            guard let p = r.referenceField(addr, field), p != 0 else { return nil }
            return r.stringValue(p, limit: 8192) ?? "<invalid>"
        }
        var inner: ExceptionsValue.Inner?
        if let i = r.referenceField(addr, "_innerException"), i != 0 { inner = .init(address: HexValue(i), type: r.objectType(i)?.name ?? "<invalid>") }
        let frames = r.stackTrace(ofException: addr).map { f in
            ExceptionsValue.Frame(sp: HexValue(f.sp), ip: HexValue(f.ip), function: r.methodName(f.methodDesc),
                                  offset: r.codeOffset(ip: f.ip, methodDesc: f.methodDesc))
        }
        let hr = r.int32Field(addr, "_HResult").map { UInt32(bitPattern: $0) } ?? 0
        return .init(address: HexValue(addr), type: t.name, message: text("_message"), innerException: inner, stackTrace: frames,
                     stackTraceString: text("_stackTraceString"), hresult: HexValue(UInt64(hr)))
    }
}

/// `!pe`'s value: the exception, then (with -nested) its inner exceptions in order.
struct ExceptionsValue: CommandValue {
    struct Inner: Encodable {
        let address: HexValue
        let type: String
    }
    struct Frame: Encodable {
        let sp: HexValue
        let ip: HexValue
        let function: String
        /// The IP's offset into the method's code, when the method's code start is known.
        let offset: UInt64?
    }
    struct Exception: Encodable {
        let address: HexValue
        let type: String
        let message: String?
        let innerException: Inner?
        let stackTrace: [Frame]
        let stackTraceString: String?
        let hresult: HexValue
    }
    var exceptions: [Exception]
    let nested: Bool
    /// What ended the -nested chain, when it says something.
    var chainNote: String?

    enum CodingKeys: String, CodingKey { case exceptions, chainNote }

    func textLines() -> [String] {
        var out: [String] = []
        for (i, e) in exceptions.enumerated() {
            if i > 0 { out += ["", "Nested exception -------------------------------------------------------------"] }
            out.append("Exception object: " + Sos.p(e.address.value))
            out.append("Exception type:   " + e.type)
            out.append("Message:          " + (e.message ?? "<none>"))
            if let inner = e.innerException {
                out.append("InnerException:   \(inner.type), Use !PrintException \(Sos.P(inner.address.value)) to see more.")
            } else {
                out.append("InnerException:   <none>")
            }
            if e.stackTrace.isEmpty {
                out.append("StackTrace (generated): <none>")
            } else {
                out += ["StackTrace (generated):", "    SP               IP               Function"]
                for f in e.stackTrace {
                    out.append("    \(Sos.P(f.sp.value)) \(Sos.P(f.ip.value)) \(f.function)" + (f.offset.map { "+0x" + String($0, radix: 16) } ?? ""))
                }
            }
            out += ["", "StackTraceString: " + (e.stackTraceString ?? "<none>"), "HResult: " + String(e.hresult.value, radix: 16)]
        }
        if nested, let chainNote {
            // A failure inside the chain prints after a separator, as the inner exception would have.
            if !chainNote.hasPrefix("(") { out += ["", "Nested exception -------------------------------------------------------------"] }
            out.append(chainNote)
        }
        return out
    }
}

/// `!DumpStackObjects`: pointers to valid objects in the current thread's registers and stack.
struct DumpStackObjectsCommand: ValueCommand {
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

    func evaluate(_ inv: Invocation, in s: Session) throws -> any CommandValue {
        let args = try CommandArguments(inv, flags: ["-verify"], positionals: 0...2,
                                        usage: "!DumpStackObjects [-verify] [<top> [<bottom>]]")
        let bounds = try args.positionals.map { try Sos.address($0, s) }
        if bounds.count == 2, bounds[1] < bounds[0] { throw CommandError("Invalid range: the bottom \(Sos.p(bounds[1])) is below the top \(Sos.p(bounds[0]))") }
        let (r, heap) = try Sos.run { try SosRuntimes.heap(for: s) }
        guard let thread = s.thread, let ctx = s.context, let stackPointer = ctx.stackPointer else {
            throw CommandError("The current thread has no register context")
        }
        func entry(_ location: String, _ obj: UInt64, _ t: ClrType) -> StackObjectsValue.Object {
            .init(location: location, object: HexValue(obj), type: t.name, text: t.isString ? r.stringValue(obj, limit: 40) : nil)
        }
        var objects: [StackObjectsValue.Object] = []
        let regs = ["rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"]
        if bounds.isEmpty {
            for name in regs {
                guard let v = ctx[name], heap.isValidObject(v), let t = r.objectType(v) else { continue }
                objects.append(entry(name, v, t))
            }
        }
        let sp = bounds.first ?? stackPointer
        let value = { StackObjectsValue(threadId: HexValue(thread.id), threadIndex: s.currentThread, objects: objects) }
        guard let found = try r.objectsOnStack(top: sp, bottom: bounds.count == 2 ? bounds[1] : nil, heap: heap,
                                               limit: Self.maxScan, shouldStop: { try s.checkInterrupt() }) else {
            if !bounds.isEmpty { throw CommandError("The stack range at \(Sos.p(sp)) is not in the dump") }
            return value()
        }
        // objectsOnStack has already checked each object and found its type.
        for f in found { objects.append(entry(Sos.P(f.slot), f.object, f.type)) }
        return value()
    }
}

/// `!dso`'s value: each object found, where (a register name, or the stack slot's address), and its type.
struct StackObjectsValue: CommandValue {
    struct Object: Encodable {
        /// A register name (`rax`) or the stack slot's address as SOS prints it.
        let location: String
        let object: HexValue
        let type: String
        /// The first 40 characters of a string.
        let text: String?
    }
    let threadId: HexValue
    let threadIndex: Int
    let objects: [Object]

    func textLines() -> [String] {
        ["OS Thread Id: 0x\(String(threadId.value, radix: 16)) (\(threadIndex))", "RSP/REG          Object           Name"]
            + objects.map { o in
                "\(o.location.rightPad(16)) \(Sos.p(o.object.value)) \(o.type)" + (o.text.map { "    " + $0 } ?? "")
            }
    }
}
