import ClrLayout
import DumpModel
import Foundation

/// The SOS commands dumpdbg implements on its own CLR reader (no DAC). `!` commands answer only after
/// `.loadby sos clr` / `.load sos` / `.cordll` registered the "sos" extension.
let sosCommands: [any DebuggerCommand] = [
    LoadExtensionCommand(), CorDllCommand(), ExePathCommand(), SymbolPathCommand(), ReloadCommand(),
    EEHeapCommand(), DumpHeapCommand(), DumpObjCommand(), DumpArrayCommand(), DumpMTCommand(),
    DumpClassCommand(), DumpModuleCommand(), Name2EECommand(), DumpVCCommand(),
    ClrThreadsCommand(), PrintExceptionCommand(), DumpStackObjectsCommand(), EEVersionCommand(), ClrStackCommand(), IP2MDCommand(),
    DumpMDCommand(), DumpILCommand(), ManagedUnassembleCommand(), SosHelpCommand(), DumpStackCommand(), DumpAsyncCommand(), SyncBlkCommand(), FinalizeQueueCommand(), GCHandlesCommand(), GCRootCommand(), DumpDomainCommand(), ThreadPoolCommand(),
]

/// The session's CLR runtime, built on first use and rebuilt when the image path changes (a file found on
/// the new path may be the right one where the old path had none).
enum SosRuntimes {
    static func runtime(for s: Session) throws -> ClrRuntime {
        if let cached = s.clrRuntime, cached.imagePath == s.imagePath { return try cached.result.get() }
        let target = DataTarget(dump: s.dump, imagePath: s.imagePath)
        let result: Result<ClrRuntime, ClrError>
        do { result = .success(try ClrRuntime(target: target)) } catch { result = .failure(error) }
        s.clrRuntime = (s.imagePath, result)
        return try result.get()
    }

    static func heap(for s: Session) throws -> (ClrRuntime, ClrHeap) {
        let r = try runtime(for: s)
        return (r, try r.heap())
    }
}

extension ClrError {
    var command: CommandError { CommandError(message, kind: .unavailable) }
}

/// Shared formatting for the SOS commands.
enum Sos {
    static func p(_ v: UInt64) -> String { Hex.pad(v, 16) }
    static func P(_ v: UInt64) -> String { Hex.pad(v, 16).uppercased() }

    /// sos::BuildTypeWithExtraInfo: an array's element type with "[]", a string with its first 31 characters
    /// quoted, else the type name; nil for null, and `<invalid object>` for what is not an object.
    static func typeWithExtraInfo(_ object: UInt64, _ r: ClrRuntime) -> String? {
        guard object != 0 else { return nil }
        guard let t = r.objectType(object) else { return "<invalid object>" }
        if t.isArray { return (t.elementType?.name ?? "<unknown>") + "[]" }
        if t.isString { return "\(t.name): \"\(r.stringValue(object, limit: 31) ?? "")\"" }
        return t.name
    }

    /// Runs `body`, turning CLR errors into command errors.
    static func run<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as ClrError { throw e.command }
    }

    static func address(_ text: String, _ s: Session) throws -> UInt64 {
        try ExpressionEvaluator.evaluate(text, environment: s.expressionEnvironment)
    }

    /// SOS's `%20.20s` for type names: longer names keep their last 17 characters after "...".
    static func typeColumn(_ name: String) -> String {
        let n = name.count > 20 ? "..." + String(name.suffix(17)) : name
        return n.leftPad(20)
    }

    static func sizeText(_ n: UInt64) -> String { "\(n)(0x\(String(n, radix: 16))) bytes" }
}
