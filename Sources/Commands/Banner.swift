import DumpModel

/// What WinDbg prints when it opens a dump: the file, its kind, the target, and the stored event.
public enum Banner {
    public static func lines(for s: Session, decompressedFrom: String? = nil) -> [String] {
        let d = s.dump
        var out = ["", "Loading Dump File [\(d.path)]"]
        if let m = d as? Minidump {
            out.append(m.hasFullMemory || m.flags & 0x2 != 0
                ? "User Mini Dump File with Full Memory: Only application data is available"
                : "User Mini Dump File: Only registers, stack and portions of memory are available")
        } else {
            out.append("ELF Core Dump File: registers and the memory segments the core holds are available")
        }
        if let c = decompressedFrom { out.append("Decompressed into: \(c)") }
        out.append("")
        for w in d.warnings { out.append("WARNING: \(w)") }
        if !d.warnings.isEmpty { out.append("") }
        out.append("Executable search path is: " + s.imagePath.joined(separator: ";"))
        out.append(contentsOf: VertargetCommand.lines(d).filter { !$0.hasPrefix("Machine Name") })
        if d.format == .elfCore, let name = d.processName { out.append("Process: \(name)" + (d.commandLine.map { " (\($0))" } ?? "")) }
        out.append("Producer: \(d.producer)")
        if let c = d.comment, !c.isEmpty { out.append("Comment: '\(c)'") }
        if let e = d.exception {
            out.append("")
            out.append("This dump file has an exception of interest stored in it.")
            out.append("The stored exception information can be accessed via .ecxr.")
            let pid = String(d.processId ?? 0, radix: 16)
            out.append("(\(pid).\(String(e.threadId, radix: 16))): \(Describe.exceptionName(e, os: d.system.os)) - code \(Hex.pad(UInt64(e.code), 8)) (first/second chance not available)")
        }
        return out
    }
}
