import ClrLayout
import DumpModel
import Foundation

/// `.loadby sos clr|coreclr`, `.load sos`: find the runtime, say what was found, and enable the `!` commands.
struct LoadExtensionCommand: DebuggerCommand {
    let names = [".loadby", ".load"]
    let summary = "load an extension (.loadby sos clr, .load sos)"
    let help = """
    .loadby sos clr | .loadby sos coreclr | .load sos
    Finds the CLR in the dump and enables the SOS commands (!dumpheap, !do, !dso, !pe, !Threads...).
    dumpdbg reads the runtime's structures itself; it needs libcoreclr.so and the assemblies on the image path (.exepath).
    Example: .loadby sos clr
    """

    func run(_ inv: Invocation, in s: Session) throws {
        let words = inv.words
        guard let ext = words.first else { throw CommandError.syntax(inv.name) }
        let extName = DumpModule(base: 0, size: 0, path: ext).fileName.lowercased()
        guard ["sos", "sos.dll", "libsosplugin.so", "libsos.so"].contains(extName) else {
            throw CommandError("The call to LoadLibrary(\(ext)) failed, Win32 error 0n2\n    \"The system cannot find the file specified.\"")
        }
        if inv.name.lowercased() == ".loadby" {
            guard words.count >= 2 else { throw CommandError.syntax(inv.name + " " + inv.arguments) }
            let mod = words[1].lowercased()
            guard ["clr", "coreclr", "libcoreclr", "mscorwks"].contains(mod) else {
                throw CommandError("Unable to find module '\(words[1])'")
            }
        }
        try CorDllCommand.load(s, quietIfLoaded: false)
    }
}

/// `.cordll`: the same discovery, WinDbg's way of loading the runtime's debugging support.
struct CorDllCommand: DebuggerCommand {
    let names = [".cordll"]
    let summary = "find the CLR runtime and enable SOS"
    let help = """
    .cordll [-ve] [-l]    finds the CLR runtime in the dump, prints what was found and enables the SOS commands.
    Example: .cordll -ve
    """

    func run(_ inv: Invocation, in s: Session) throws { try Self.load(s, quietIfLoaded: false) }

    static func load(_ s: Session, quietIfLoaded: Bool) throws {
        let target = DataTarget(dump: s.dump, imagePath: s.imagePath)
        guard let info = ClrInfo.find(in: target) else {
            throw CommandError("Unable to find module 'coreclr': no CLR runtime (libcoreclr.so / coreclr.dll) in this dump")
        }
        s.registry.loadedExtensions.insert("sos")
        s.output.line("CLR runtime: \(info.module.fileName) \(info.versionText) at \(s.address(info.module.base))")
        do {
            let r = try SosRuntimes.runtime(for: s)
            s.output.line("Runtime globals: \(r.globals.provenance)")
            s.output.line("Layouts: CoreCLR \(r.layout.productVersion); SOS commands read the runtime's structures directly (no DAC)")
            adoptManagedEventThread(s, r)
        } catch let e as ClrError {
            s.output.line("SOS commands will fail: \(e.message)")
        }
    }
}

/// createdump (3.1) marks every thread with SIGABRT and writes no NT_SIGINFO, so the dump cannot say which
/// thread crashed. The runtime can: the thread whose last thrown exception is set. Make it the event thread,
/// as WinDbg's !analyze does through SOS, so `~#s` and `!pe` start where the crash is.
///
/// A Windows minidump written without an exception stream (AeDebug, Wine) has no event at all: there the
/// runtime's thrown exception becomes the event, as the CLR raised it: code 0xe0434352 with the exception's
/// HRESULT, marked as rebuilt wherever it is shown.
func adoptManagedEventThread(_ s: Session, _ r: ClrRuntime) {
    let createdumpCore: Bool
    if let core = s.dump as? ElfCore, !core.hasSigInfo {
        let signals = Set(core.threads.map { $0.signal ?? 0 })
        createdumpCore = signals.count == 1 && signals.first != 0
    } else {
        createdumpCore = false
    }
    let noEvent = s.dump.exception == nil && !(s.dump is ElfCore)
    guard createdumpCore || noEvent else { return }
    let throwing = r.threads().filter { !$0.isDead && $0.lastThrownHandle != 0 && r.objectFromHandle($0.lastThrownHandle) != 0 }
    if createdumpCore && throwing.isEmpty && !anyThreadIsAborting(s) {
        // createdump marks every thread SIGABRT whether the process crashed or was dumped from outside; with no
        // managed exception and no thread on its way out (abort, raise, the runtime's crash dump launcher), this
        // is a snapshot of a running process: no event, and !analyze looks for a hang.
        s.isLiveSnapshot = true
        return
    }
    guard throwing.count == 1, let i = s.dump.threads.firstIndex(where: { $0.id == throwing[0].osId }) else { return }
    s.eventThread = i
    s.currentThread = i
    s.useExceptionContext = false
    if createdumpCore, var e = s.dump.exception {
        let t = s.dump.threads[i]
        e.threadId = t.id
        e.context = t.context
        e.address = t.context?.instructionPointer ?? e.address
        s.reattributedException = e
    }
    if noEvent, let (raised, contextAddress) = r.raisedException(of: throwing[0]), raised.code == 0xE043_4352 {
        // The record the runtime raised, still held by the thread's exception tracker.
        var e = raised
        e.context = contextAddress.flatMap { s.memory.windowsContext(at: $0, architecture: s.dump.system.architecture) }
        s.reconstructedException = e
        s.reconstructedFromTracker = true
    } else if noEvent {
        let object = r.objectFromHandle(throwing[0].lastThrownHandle)
        var e = ExceptionInfo(threadId: throwing[0].osId, code: 0xE043_4352, address: 0)
        e.flags = 1  // EXCEPTION_NONCONTINUABLE, as the CLR raises it
        // The CLR's RaiseException arguments: the HRESULT, three zeros, the runtime module's base.
        let hr = r.int32Field(object, "_HResult").map { UInt64(bitPattern: Int64($0)) } ?? 0
        e.parameters = [hr, 0, 0, 0, r.info.module.base]
        s.reconstructedException = e
    }
    s.output.line("Event thread: ~\(i) (OS thread 0x\(String(throwing[0].osId, radix: 16))), the managed thread with the unhandled exception")
}

/// `.exepath [folders]`, `.exepath+ folders`: shows or sets the folders searched for images by file name.
struct ExePathCommand: DebuggerCommand {
    let names = [".exepath"]
    let summary = "show or set the executable image search path"
    let help = """
    .exepath            shows the image path
    .exepath DIR[;DIR]  replaces it;  .exepath+ DIR  appends
    The runtime (libcoreclr.so, System.Private.CoreLib.dll) and the app's assemblies are found there by file name.
    Example: .exepath+ /opt/dotnet/shared/Microsoft.NETCore.App/3.1.23
    """

    func run(_ inv: Invocation, in s: Session) throws {
        let (append, args) = inv.pathArguments
        if !args.isEmpty {
            let folders = args.split(separator: ";").map { String($0).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            s.imagePath = append ? s.imagePath + folders.filter { !s.imagePath.contains($0) } : folders
        }
        s.output.line("Executable image search path is: " + s.imagePath.joined(separator: ";"))
    }
}

/// True when some thread's native stack shows the process on its way out: libc's abort or raise, or the
/// runtime's own crash path (PROCAbort, PROCCreateCrashDump..., which launches createdump and waits for it).
func anyThreadIsAborting(_ s: Session) -> Bool {
    let markers = ["abort", "raise", "__GI_abort", "__GI_raise", "__pthread_kill_implementation", "PROCAbort", "PROCEndProcess"]
    for (i, t) in s.dump.threads.enumerated() {
        guard let frames = StackCommand.walk(of: i, context: t.context, limit: 24, in: s)?.frames else { continue }
        for f in frames {
            guard let m = s.namer.module(containing: f.instructionPointer), let (name, _) = s.nativeModules.symbol(at: f.instructionPointer, in: m)
            else { continue }
            if markers.contains(name) || name.hasPrefix("PROCCreateCrashDump") { return true }
        }
    }
    return false
}

