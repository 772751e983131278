import DumpModel
import Foundation

/// `||`: the dump being debugged.
struct SystemStatusCommand: DebuggerCommand {
    let names = ["||"]
    let summary = "show the target (the dump file)"
    let help = "||            shows the system (dump) being debugged.\nExample: ||"
    func run(_ inv: Invocation, in s: Session) throws {
        s.output.line(".  0 \(Self.kind(s.dump)): \(s.dump.path)")
    }

    static func kind(_ d: any Dump) -> String {
        if let m = d as? Minidump {
            return m.hasFullMemory || m.flags & 0x2 != 0 ? "Full memory user mini dump" : "User mini dump"
        }
        return "ELF core user dump"
    }
}

/// `|`: the process.
struct ProcessStatusCommand: DebuggerCommand {
    let names = ["|"]
    let summary = "show the process"
    let help = "|             shows the process: its id and image name.\nExample: |"
    func run(_ inv: Invocation, in s: Session) throws {
        let pid = s.dump.processId.map { String($0, radix: 16) } ?? "0"
        let name = s.dump.modules.first?.path ?? s.dump.processName ?? "<unknown>"
        s.output.line(".  0\tid: \(pid)\texamine\tname: \(name)")
    }
}

/// `vertarget`: the target's OS, CPUs and times.
struct VertargetCommand: DebuggerCommand {
    let names = ["vertarget"]
    let summary = "show the target computer's version"
    let help = "vertarget     shows the OS version, processors and times recorded in the dump.\nExample: vertarget"
    func run(_ inv: Invocation, in s: Session) throws {
        for line in Self.lines(s.dump) { s.output.line(line) }
    }

    static func lines(_ d: any Dump) -> [String] {
        var out = [Describe.target(d.system)]
        let sys = d.system
        if sys.os == .windows, let pt = sys.productType {
            let product = [1: "WinNt", 2: "LanManNt", 3: "ServerNt"][Int(pt)] ?? "WinNt"
            out.append("Product: \(product)")
        }
        for (k, v) in d.details { out.append("\(k): \(v)") }
        out.append("Machine Name:")
        if let t = d.dumpTime {
            out.append("Debug session time: \(Describe.time(t))")
        } else {
            out.append("Debug session time: not available")
        }
        out.append("System Uptime: not available")
        if let t = d.dumpTime, let c = d.processCreateTime, t >= c {
            out.append("Process Uptime: \(Describe.duration(t - c))")
        } else {
            out.append("Process Uptime: not available")
        }
        return out
    }
}

/// `.time`: times recorded in the dump.
struct TimeCommand: DebuggerCommand {
    let names = [".time"]
    let summary = "show the dump's time and process uptime"
    let help = ".time         shows when the dump was written and how long the process had run.\nExample: .time"
    func run(_ inv: Invocation, in s: Session) throws {
        let d = s.dump
        s.output.line("Debug session time: " + (d.dumpTime.map(Describe.time) ?? "not available"))
        s.output.line("System Uptime: not available")
        if let t = d.dumpTime, let c = d.processCreateTime, t >= c {
            s.output.line("Process Uptime: \(Describe.duration(t - c))")
        } else {
            s.output.line("Process Uptime: not available")
        }
    }
}

/// `.lastevent`: the event (exception) that the dump was written for.
struct LastEventCommand: ValueCommand {
    let names = [".lastevent"]
    let summary = "show the last event (the exception in the dump)"
    let help = ".lastevent    shows the event the dump was written for.\nExample: .lastevent"
    func evaluate(_ inv: Invocation, in s: Session) throws -> any CommandValue {
        let event = s.eventException.map { e in
            LastEventValue.Event(processId: HexValue(s.dump.processId ?? 0), threadId: HexValue(e.threadId), code: HexValue(UInt64(e.code)),
                                 description: Describe.exceptionName(e, os: s.dump.system.os),
                                 source: s.dump.exception == nil || s.reattributedException != nil ? "runtime" : "dump")
        }
        return LastEventValue(event: event, debuggerTime: s.dump.dumpTime.map(Describe.time))
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
