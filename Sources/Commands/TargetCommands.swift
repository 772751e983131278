import DumpModel
import Foundation

/// `||`: the dump being debugged.
struct SystemStatusCommand: ValueCommand {
    let names = ["||"]
    let summary = "show the target (the dump file)"
    let help = "||            shows the system (dump) being debugged.\nExample: ||"
    func evaluate(_ inv: Invocation, in s: Session) throws -> any CommandValue {
        TargetValue(kind: Self.kind(s.dump), path: s.dump.path)
    }

    static func kind(_ d: any Dump) -> String {
        if let m = d as? Minidump {
            return m.hasFullMemory || m.flags & 0x2 != 0 ? "Full memory user mini dump" : "User mini dump"
        }
        return "ELF core user dump"
    }
}

/// `|`: the process.
struct ProcessStatusCommand: ValueCommand {
    let names = ["|"]
    let summary = "show the process"
    let help = "|             shows the process: its id and image name.\nExample: |"
    func evaluate(_ inv: Invocation, in s: Session) throws -> any CommandValue {
        ProcessValue(processId: HexValue(s.dump.processId ?? 0), name: s.dump.modules.first?.path ?? s.dump.processName ?? "<unknown>")
    }
}

/// `||`'s value: the dump's kind and file.
struct TargetValue: CommandValue {
    let kind: String
    let path: String
    func textLines() -> [String] { [".  0 \(kind): \(path)"] }
}

/// `|`'s value: the process id and image name.
struct ProcessValue: CommandValue {
    let processId: HexValue
    let name: String
    func textLines() -> [String] { [".  0\tid: \(String(processId.value, radix: 16))\texamine\tname: \(name)"] }
}

/// `vertarget` and `.time`'s values: what the dump records about its system and times.
struct TimesValue: CommandValue {
    /// The dump's time (as WinDbg prints it), nil when the dump has none.
    let debugSessionTime: String?
    let processUptime: String?
    func textLines() -> [String] {
        ["Debug session time: " + (debugSessionTime ?? "not available"), "System Uptime: not available",
         "Process Uptime: " + (processUptime ?? "not available")]
    }

    static func of(_ d: any Dump) -> TimesValue {
        var uptime: String?
        if let t = d.dumpTime, let c = d.processCreateTime, t >= c { uptime = Describe.duration(t - c) }
        return TimesValue(debugSessionTime: d.dumpTime.map(Describe.time), processUptime: uptime)
    }
}

struct TargetVersionValue: CommandValue {
    /// WinDbg's first line ("Windows 10 Version 19041 MP (8 procs) Free x64").
    let target: String
    let product: String?
    /// The dump's own details (producer, process name...), as "key: value" pairs.
    let details: [Detail]
    let times: TimesValue
    struct Detail: Encodable {
        let key: String
        let value: String
    }
    func textLines() -> [String] {
        var out = [target]
        if let product { out.append("Product: \(product)") }
        out += details.map { "\($0.key): \($0.value)" }
        out.append("Machine Name:")
        return out + times.textLines()
    }
}

/// `vertarget`: the target's OS, CPUs and times.
struct VertargetCommand: ValueCommand {
    let names = ["vertarget"]
    let summary = "show the target computer's version"
    let help = "vertarget     shows the OS version, processors and times recorded in the dump.\nExample: vertarget"
    func evaluate(_ inv: Invocation, in s: Session) throws -> any CommandValue { Self.value(s.dump) }

    static func value(_ d: any Dump) -> TargetVersionValue {
        let sys = d.system
        var product: String?
        if sys.os == .windows, let pt = sys.productType { product = [1: "WinNt", 2: "LanManNt", 3: "ServerNt"][Int(pt)] ?? "WinNt" }
        return TargetVersionValue(target: Describe.target(sys), product: product,
                                  details: d.details.map { .init(key: $0.0, value: $0.1) }, times: TimesValue.of(d))
    }

    static func lines(_ d: any Dump) -> [String] { value(d).textLines() }
}

/// `.time`: times recorded in the dump.
struct TimeCommand: ValueCommand {
    let names = [".time"]
    let summary = "show the dump's time and process uptime"
    let help = ".time         shows when the dump was written and how long the process had run.\nExample: .time"
    func evaluate(_ inv: Invocation, in s: Session) throws -> any CommandValue { TimesValue.of(s.dump) }
}

/// `.lastevent`: the event (exception) that the dump was written for.
struct LastEventCommand: ValueCommand {
    let names = [".lastevent"]
    let summary = "show the last event (the exception in the dump)"
    let help = ".lastevent    shows the event the dump was written for.\nExample: .lastevent"
    func evaluate(_ inv: Invocation, in s: Session) throws -> any CommandValue {
        // A createdump snapshot of a running process: its SIGABRT marks are createdump's, not an event.
        let event = s.isLiveSnapshot ? nil : s.eventException.map { e in
            LastEventValue.Event(processId: HexValue(s.dump.processId ?? 0), threadId: HexValue(e.threadId), code: HexValue(UInt64(e.code)),
                                 description: Describe.exceptionName(e, os: s.dump.system.os),
                                 source: s.dump.exception == nil || s.reattributedException != nil ? "runtime" : "dump")
        }
        return LastEventValue(event: event, debuggerTime: s.dump.dumpTime.map(Describe.time), snapshot: s.isLiveSnapshot)
    }
}

/// `q`, `qq`, `qd`: end the session.
struct QuitCommand: DebuggerCommand {
    let names = ["q", "qq", "qd", "qq"]
    let summary = "quit"
    let help = "q             ends the debugging session.\nExample: q"
    func run(_ inv: Invocation, in s: Session) throws {
        guard inv.arguments.isEmpty else { throw CommandError.syntax(inv.name + " " + inv.arguments) }
        s.quitRequested = true
    }
}

/// `.echo`: print text.
struct EchoCommand: DebuggerCommand {
    let names = [".echo"]
    let summary = "print text"
    let help = ".echo TEXT    prints TEXT (quotes are removed).\nExample: .echo \"hello\""
    func run(_ inv: Invocation, in s: Session) throws {
        var t = inv.arguments
        if t.hasPrefix("\""), t.hasSuffix("\""), t.count >= 2 { t = String(t.dropFirst().dropLast()) }
        s.output.line(t)
    }
}

/// `?`: evaluate a MASM expression.
struct EvaluateCommand: ValueCommand {
    let names = ["?"]
    let summary = "evaluate a MASM expression"
    let help = """
    ? EXPR        evaluates EXPR: numbers are hex unless 0n (decimal), 0t (octal), 0y (binary);
                  @reg and $ip/$csp/$teb/$peb/$tid; module names; poi(addr); + - * / % << >> & | ^.
    Example: ? poi(@rsp)+0n10
    """
    func evaluate(_ inv: Invocation, in s: Session) throws -> any CommandValue {
        guard !inv.arguments.isEmpty else { throw CommandError("Evaluate expression: ? <expression>", kind: .usage) }
        let v = try ExpressionEvaluator.evaluate(inv.arguments, environment: s.expressionEnvironment)
        let value = s.pointerSize == 8 ? v : v & 0xFFFF_FFFF
        return ExpressionValue(value: HexValue(value), signed: s.pointerSize == 8 ? Int64(bitPattern: v) : Int64(Int32(truncatingIfNeeded: v)),
                               pointerSize: s.pointerSize)
    }
}

/// `?`'s value: the number, and how WinDbg shows it signed.
struct ExpressionValue: CommandValue {
    let value: HexValue
    /// The value as a signed number of the target's pointer size.
    let signed: Int64
    let pointerSize: Int

    enum CodingKeys: String, CodingKey { case value, signed }

    func textLines() -> [String] { ["Evaluate expression: \(signed) = \(Hex.address(value.value, pointerSize: pointerSize))"] }
}

/// `.logopen`, `.logappend`, `.logclose`: copy the session's output to a file.
struct LogCommand: DebuggerCommand {
    let names = [".logopen", ".logappend", ".logclose"]
    let summary = "copy output to a log file"
    let help = ".logopen FILE | .logappend FILE | .logclose\nExample: .logopen /tmp/session.log"
    func run(_ inv: Invocation, in s: Session) throws {
        switch inv.name.lowercased() {
        case ".logclose":
            if let p = s.output.logPath {
                s.output.line("Closing open log file \(p)")
                s.output.closeLog()
            } else {
                s.output.line("No log file open")
            }
        default:
            let words = inv.words.filter { !$0.hasPrefix("/") || $0.count > 2 }
            guard let path = words.last else { throw CommandError("Usage: \(inv.name) FILE") }
            if let p = s.output.logPath {
                s.output.line("Closing open log file \(p)")
                s.output.closeLog()
            }
            try s.output.openLog(path: path, append: inv.name.lowercased() == ".logappend")
            s.output.line("Opened log file '\(path)'")
        }
    }
}

/// `.help`: list commands or explain one.
struct HelpCommand: DebuggerCommand {
    let names = [".help", "help", ".hh"]
    let summary = "list commands, or explain one"
    let help = ".help [COMMAND]   lists every command, or shows one command's usage.\nExample: .help db"
    func run(_ inv: Invocation, in s: Session) throws {
        let arg = inv.arguments.trimmed(" ")
        if !arg.isEmpty {
            guard let c = s.registry.command(named: arg) ?? s.registry.command(named: "." + arg) ?? s.registry.command(named: "!" + arg) else {
                throw CommandError("No help for '\(arg)': no such command (.help lists them)")
            }
            s.output.line(CommandReference.names(c).joined(separator: ", ") + " - " + c.summary)
            s.output.line(c.help)
            return
        }
        s.output.line("dumpdbg commands (.help COMMAND for details):")
        for c in s.registry.commands {
            if let ext = c.extensionName, !s.registry.loadedExtensions.contains(ext) { continue }
            // `k`'s letter combinations are its options: the list shows the base forms.
            s.output.line("  " + CommandReference.names(c).joined(separator: ", ").rightPad(28) + " " + c.summary)
        }
    }
}
