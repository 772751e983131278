import ClrLayout
import DumpModel

/// `!eeversion`: which runtime this is and how dumpdbg reads it.
struct EEVersionCommand: DebuggerCommand {
    let names = ["!eeversion"]
    let summary = "show the runtime's version, GC mode (workstation/server) and heap layout (segments/regions)"
    let help = """
    !eeversion    the runtime's file version and product version, workstation or server GC, whether the GC
                  heap is made of segments or regions, and where dumpdbg found the runtime's globals.
    Example: !eeversion
    """
    var extensionName: String? { "sos" }

    func run(_ inv: Invocation, in s: Session) throws {
        _ = try CommandArguments(inv, usage: "!eeversion")
        let r = try Sos.run { try SosRuntimes.runtime(for: s) }
        let o = s.output
        o.line("\(r.fileVersion) (.NET \(r.layout.productVersion), \(r.info.module.fileName))")
        switch r.isServerGC {
        case true?: o.line("Server mode")
        case false?: o.line("Workstation mode")
        case nil: o.line("GC mode: not known (the GC heap type is not in this dump)")
        }
        o.line("GC heap: \(r.layout.heapKind.rawValue)")
        o.line("Runtime globals: \(r.globals.provenance)")
        o.line("SOS Version: dumpdbg (reads the runtime's structures itself, no DAC)")
    }
}
