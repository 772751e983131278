/// One-line hints after a step that leads to a next one, for people learning the WinDbg workflow. Shown in
/// interactive sessions (each once per session), never inside scripts or in JSON output, so replayed
/// scripts print exactly what WinDbg would. `.hints off` turns them off, `.hints on` back on.
enum Hints {
    /// By the command's primary name (and, where it matters, its first argument).
    static func after(_ name: String, arguments: String) -> (key: String, text: String)? {
        let args = arguments.lowercased()
        switch name {
        case ".loadby", ".cordll": return (".loadby", "!analyze -v names the crash; !threads lists the managed threads")
        case "~": return ("~", "~Ns switches to thread N; ~* k shows every thread's stack")
        case "lm": return ("lm", "lmv m NAME shows one module in detail (file, version, symbols)")
        case "!Threads": return ("!Threads", "~Ns (N from the DBG column), then !clrstack, shows that thread's managed stack")
        case "!DumpStackObjects": return ("!dso", "!do ADDRESS shows an object's fields; !gcroot ADDRESS what keeps it alive")
        case "!PrintException": return ("!pe", "!clrstack -a shows the thread's managed frames with their arguments and locals")
        case "!CLRStack": return ("!clrstack", args.contains("-a") ? "!dso lists the objects the thread's stack references"
                                                          : "!clrstack -a adds each frame's arguments and locals")
        case "!dumpheap" where args.contains("-stat"): return ("!dumpheap", "!dumpheap -mt MT lists the objects of one type; !do ADDRESS shows one")
        case "!analyze" where args.contains("-hang"): return ("!analyze-hang", "!syncblk lists the monitors; ~Ns; !clrstack -a shows a blocked thread")
        case "!analyze": return ("!analyze", ".ecxr then kb shows the faulting context's stack; !pe the managed exception")
        case "!SyncBlk": return ("!syncblk", "!analyze -v -hang looks for a cycle of threads waiting on each other's monitors")
        case "!DumpObj": return ("!do", "!gcroot ADDRESS shows what keeps it alive; !DumpMT -MD MT its type's methods")
        default: return nil
        }
    }
}

/// `.hints on|off`: the one-line hints an interactive session prints after some commands.
struct HintsCommand: DebuggerCommand {
    let names = [".hints"]
    let summary = "turn the learning hints after commands on or off"
    let help = """
    .hints [on|off]   interactive sessions print a one-line hint after some commands (after !dso: how to
                      !do an object; after !pe: !clrstack -a), each once per session. Scripts, -c commands
                      and JSON output never get hints. Without an argument, says whether they are on.
    Example: .hints off
    """

    func run(_ inv: Invocation, in s: Session) throws {
        switch inv.arguments.trimmed(" ").lowercased() {
        case "on": s.hintsEnabled = true
        case "off": s.hintsEnabled = false
        case "": break
        default: throw CommandError("Usage: .hints [on|off]", kind: .usage)
        }
        s.output.line("Hints are " + (s.hintsEnabled ? "on" : "off"))
    }
}
