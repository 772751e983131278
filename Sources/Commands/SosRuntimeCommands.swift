import ClrLayout
import DumpModel

/// `!eeversion`: which runtime this is and how dumpdbg reads it.
struct EEVersionCommand: ValueCommand {
    let names = ["!eeversion"]
    let summary = "show the runtime's version, GC mode (workstation/server) and heap layout (segments/regions)"
    let help = """
    !eeversion    the runtime's file version and product version, workstation or server GC, whether the GC
                  heap is made of segments or regions, and where dumpdbg found the runtime's globals.
    Example: !eeversion
    """
    var extensionName: String? { "sos" }

    func evaluate(_ inv: Invocation, in s: Session) throws -> any CommandValue {
        _ = try CommandArguments(inv, usage: "!eeversion")
        let r = try Sos.run { try SosRuntimes.runtime(for: s) }
        return RuntimeVersionValue(fileVersion: r.fileVersion, productVersion: r.layout.productVersion, runtimeFile: r.info.module.fileName,
                                   gcMode: r.isServerGC.map { $0 ? "server" : "workstation" }, heapKind: r.layout.heapKind.rawValue,
                                   globals: r.globals.provenance)
    }
}
