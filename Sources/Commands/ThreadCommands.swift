import DumpModel

/// Which threads a `~` command means: `.` current, `#` event, `*` all, `N` index, `~[tid]` OS id.
enum ThreadSelector: Equatable {
    case current, event, all, index(Int), osId(UInt64)

    /// Parses a selector at the start of `text` (after the leading `~`); returns it and the rest.
    static func parse(_ text: Substring) -> (ThreadSelector, Substring)? {
        guard let c = text.first else { return nil }
        switch c {
        case ".": return (.current, text.dropFirst())
        case "#": return (.event, text.dropFirst())
        case "*": return (.all, text.dropFirst())
        case "~":
            let r = text.dropFirst()
            guard r.first == "[", let close = r.firstIndex(of: "]") else { return nil }
            let inner = r[r.index(after: r.startIndex)..<close]
            guard let id = ExpressionEvaluator.number(String(inner)) else { return nil }
            return (.osId(id), r[r.index(after: close)...])
        default:
            let digits = text.prefix { $0.isNumber }
            guard !digits.isEmpty, let n = Int(digits) else { return nil }
            return (.index(n), text.dropFirst(digits.count))
        }
    }

    /// For `~* e CMD` style input: the selector and the command text, once the ` e ` has been typed.
    static func parseEachPrefix(_ lead: Substring) -> (ThreadSelector, Substring)? {
        guard lead.first == "~", let (sel, rest) = parse(lead.dropFirst()) else { return nil }
        let r = rest.drop { $0 == " " }
        guard r.first == "e", r.count >= 2 else { return nil }
        let afterE = r.dropFirst()
        guard afterE.first == " " || afterE.first == "\t" else { return nil }
        return (sel, afterE.drop { $0 == " " || $0 == "\t" })
    }

    func indices(in s: Session) -> [Int] {
        let threads = s.dump.threads
        switch self {
        case .current: return threads.isEmpty ? [] : [s.currentThread]
        case .event: return s.eventThread.map { [$0] } ?? []
        case .all: return Array(threads.indices)
        case .index(let i): return threads.indices.contains(i) ? [i] : []
        case .osId(let id): return threads.indices.filter { threads[$0].id == id }
        }
    }
}

/// `~`: list threads, switch (`~3s`, `~~[tid]s`, `~#s`), run a command on threads (`~* e r`).
struct ThreadCommand: DebuggerCommand {
    let names = ["~"]
    let summary = "list threads, switch thread (~Ns), run a command per thread (~* e CMD)"
    let help = """
    ~             lists threads: '.' marks the current one, '#' the one that raised the exception.
    ~Ns           makes thread N current (~~[TID]s by OS id, ~#s the event thread).
    ~* e CMD      runs CMD on every thread; ~N e CMD on one.
    ~* k          every thread's native stack (any k variant: ~* kn, ~2 kb 5).
    Example: ~3s
    """
    var acceptsGluedOptions: Bool { true }

    func run(_ inv: Invocation, in s: Session) throws {
        let text = Substring(inv.arguments)
        if text.isEmpty {
            s.emit(ThreadListValue(Array(s.dump.threads.indices), s))
            return
        }
        guard let (sel, rest) = ThreadSelector.parse(text) else { throw CommandError.syntax("~" + inv.arguments) }
        let indices = sel.indices(in: s)
        let tail = rest.trimmed(" \t")
        if let (_, cmd) = ThreadSelector.parseEachPrefix(Substring("~" + inv.arguments)) {
            guard !indices.isEmpty else { throw CommandError("Illegal thread error in '~\(inv.arguments)'") }
            let saved = s.currentThread, savedEcxr = s.useExceptionContext
            defer { s.currentThread = saved; s.useExceptionContext = savedEcxr }
            for i in indices {
                if interruptRequested.load(ordering: .relaxed) { return }
                s.currentThread = i
                s.useExceptionContext = false
                s.execute(line: String(cmd))
            }
            return
        }
        // `~* k`, `~3 kb 5`: WinDbg lets stack commands take a thread prefix.
        let word = String(tail.prefix { $0.isLetter })
        if !word.isEmpty, StackOptions.names.contains(word) {
            guard !indices.isEmpty else { throw CommandError("Illegal thread error in '~\(inv.arguments)'") }
            let count = try StackCommand.frameCount(String(tail.dropFirst(word.count)), s)
            var entries: [ThreadStacksValue.Entry] = []
            for i in indices {
                try s.checkInterrupt()
                // Each thread's own context: `.ecxr` applies to the current thread only.
                let context = i == s.currentThread ? s.context : s.dump.threads[i].context
                entries.append(.init(thread: ThreadListValue([i], s),
                                     stack: try StackCommand.stack(of: i, context: context, options: StackOptions(name: word), limit: count, in: s)))
            }
            s.emit(ThreadStacksValue(threads: entries))
            return
        }
        switch tail {
        case "":
            guard !indices.isEmpty else { throw CommandError("Illegal thread error in '~\(inv.arguments)'") }
            s.emit(ThreadListValue(indices, s))
        case "s":
            guard indices.count == 1 else { throw CommandError("Illegal thread error in '~\(inv.arguments)'") }
            s.currentThread = indices[0]
            s.useExceptionContext = false
            RegisterCommand.printAll(s)
        default:
            throw CommandError.syntax("~" + inv.arguments)
        }
    }
}
