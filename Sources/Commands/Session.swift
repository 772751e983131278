import DumpModel
import Foundation
import Native
import ClrLayout
import Synchronization
import Unwind

/// Set by the SIGINT handler while a command runs; long commands poll it.
public let interruptRequested = Atomic<Bool>(false)

/// Everything a command may consult or change: the dump, the current thread and context, paths, logs.
/// One per debugging session; nothing is global except the Ctrl-C flag.
public final class Session: @unchecked Sendable {
    // @unchecked: a session lives on one thread; the REPL and script runner drive it sequentially.
    public let dump: any Dump
    public let namer: AddressNamer
    public let output: Output
    public let registry: CommandRegistry
    /// Index into dump.threads of the current thread (`~Ns`). Switching threads drops a `.cxr` context.
    public var currentThread: Int { didSet { contextOverride = nil } }
    /// A context `.cxr ADDRESS` read from memory; commands use it until `.cxr` alone or a thread switch.
    public var contextOverride: RegisterContext?
    /// Index of the thread that raised the event (the exception), shown with `#` by `~`.
    /// Set from the dump's exception at open, and refined by `.loadby sos` where only the runtime knows it.
    public var eventThread: Int?
    /// The exception the dump was written for: the dump's own record, else one `.loadby sos` rebuilt from the
    /// runtime (a Windows minidump written without an exception stream: the CLR exception 0xe0434352 on the
    /// thread that threw it). `reconstructed` says which, so the commands can say so.
    public var eventException: ExceptionInfo? { reattributedException ?? dump.exception ?? reconstructedException }
    /// createdump 3.1 cores: the dump's signal, moved to the thread the runtime says crashed (every thread of
    /// such a core carries the same SIGABRT), so `.lastevent`, `.ecxr`, `~` and `!analyze` agree on one thread.
    public var reattributedException: ExceptionInfo?
    public var reconstructedException: ExceptionInfo?
    /// True when that record is the one the runtime raised (found through its exception tracker), false when
    /// dumpdbg rebuilt it from the exception object.
    public var reconstructedFromTracker = false
    /// A createdump core of a process that was running, not crashing (see `adoptManagedEventThread`): its SIGABRT
    /// marks are createdump's, not an event, and `!analyze -v` analyses a hang.
    public var isLiveSnapshot = false
    /// Set by `.ecxr`: commands use the exception context instead of the thread's own until the thread changes.
    public var useExceptionContext = false
    /// Where `db`/`dd`/... continue when given no address.
    public var nextDumpAddress: UInt64?
    /// The CLR runtime SOS commands read, with the image path it was found on (see SosRuntimes).
    var clrRuntime: (imagePath: [String], result: Result<ClrRuntime, ClrError>)?
    /// The runtime SOS has already found for this image path, if any (never searches for it).
    var loadedClrRuntime: ClrRuntime? {
        guard let c = clrRuntime, c.imagePath == imagePath, case .success(let r) = c.result else { return nil }
        return r
    }
    /// Where `u` continues when given no address.
    public var nextUnassembleAddress: UInt64?
    /// Capstone for the dump's architecture (nil where Capstone has none).
    public lazy var disassembler: Disassembler? = Disassembler(architecture: dump.system.architecture)
    /// Native modules' debug information, for the image path it was loaded with (see `nativeModules`).
    var nativeModulesCache: NativeModules?
    /// `.exepath` / `-i`: folders searched for images by file name.
    public var imagePath: [String] = []
    /// `.sympath` / `-y` / `_NT_SYMBOL_PATH`: local folders holding Breakpad symbol files.
    public var symbolPath = SymbolPath("")

    /// Sets the symbol path from its text form (`-y`, `_NT_SYMBOL_PATH`, `.sympath`).
    public func setSymbolPath(_ text: String) { symbolPath = SymbolPath(text) }
    /// Set when a command failed, so a script run can exit non-zero.
    public var failures = 0
    /// How many `.catch` blocks the running script is inside (an error there ends the block, not the script).
    var catchDepth = 0
    /// Aliases (`as`, `aS`), expanded as `${Name}` when a command runs.
    public var aliases: [String: String] = [:]
    /// The pseudo-registers `$t0`...`$t19` (`r $t0 = expr`).
    public var pseudoRegisters = [UInt64](repeating: 0, count: 20)
    /// The script file running (`$<`, `$$><`...) and the line of the statement running in it, for error messages.
    var scriptFile: String?
    var scriptLine: Int?
    /// Nested `$<` depth, to stop a script that includes itself.
    var scriptDepth = 0
    public var quitRequested = false
    /// Text (WinDbg's) or JSON documents (`--json`, `.outputformat json`).
    public var outputFormat: OutputFormat = .text
    /// One-line hints after some commands (Hints.swift): on in interactive sessions, never in scripts.
    public var hintsEnabled = false
    var hintsShown: Set<String> = []
    /// The value the running command computed, written as its JSON document when it ends.
    var pendingValue: (any CommandValue)?
    /// The last value a command gave in JSON mode (tests compare renderings of it).
    var lastValue: (any CommandValue)?
    /// The terminal progress line for long commands.
    public var progress = ProgressLine()
    /// How many threads walk the GC heap at once (`!dumpheap -stat`); nil is one per core. The fuzz target
    /// sets 1, so that no worker thread's allocations outlive a run and trip libFuzzer's per-run leak check.
    public var heapWalkThreads: Int?

    public init(dump: any Dump, output: Output, registry: CommandRegistry = .standard()) {
        self.dump = dump
        self.output = output
        self.registry = registry
        namer = AddressNamer(dump: dump)
        if let e = dump.exception, let i = dump.threads.firstIndex(where: { $0.id == e.threadId }) {
            eventThread = i
        } else {
            eventThread = nil
        }
        currentThread = eventThread ?? 0
    }

    public var pointerSize: Int { dump.system.architecture.pointerSize }
    public var memory: AddressSpace { dump.memory }

    public var thread: DumpThread? {
        dump.threads.indices.contains(currentThread) ? dump.threads[currentThread] : nil
    }

    /// The register context commands see: the exception's after `.ecxr`, else the current thread's.
    public var context: RegisterContext? {
        if let contextOverride { return contextOverride }
        if useExceptionContext, let c = eventException?.context { return c }
        return thread?.context
    }

    /// `0:000>`, WinDbg's prompt: process index and current thread index.
    public var prompt: String {
        "0:" + String(dump.threads.isEmpty ? 0 : currentThread).leftPad(3, with: "0") + "> "
    }

    public func address(_ v: UInt64) -> String { Hex.address(v, pointerSize: pointerSize) }

    public func checkInterrupt() throws {
        if interruptRequested.load(ordering: .relaxed) { throw CommandError.interrupted }
    }

    // MARK: - Running commands

    /// Runs a line typed at the prompt (or given with -c): clears a Ctrl-C left from before, then executes it.
    public func executeTopLevel(line: String) {
        interruptRequested.store(false, ordering: .relaxed)
        execute(line: line)
        output.flush()
    }

    /// Runs one input line: splits it into commands at `;` and runs each; errors are printed, never thrown.
    /// After Ctrl-C, the remaining commands (and enclosing scripts and `~* e` loops) stop silently: the
    /// interrupted command has already said so.
    public func execute(line: String) { execute(text: line, firstLine: 1) }

    /// Runs command text (one input line, or a script's body whose first line is `firstLine` of its file).
    func execute(text line: String, firstLine: Int) {
        let statements: [ScriptStatement]
        do { statements = try ScriptParser.parse(line, firstLine: firstLine) } catch {
            failures += 1
            output.line(located("Syntax error: \(error.message)", line: error.line))
            return
        }
        do { try run(statements) } catch let e as CommandError {
            failures += 1
            output.line(located(e.message, line: scriptLine))
        } catch ScriptControl.leave {
        } catch {
            failures += 1
            let word = (error as? ScriptControl) == .breakLoop ? ".break" : (error as? ScriptControl) == .continueLoop ? ".continue" : "\(error)"
            output.line(located("\(word) outside a loop", line: scriptLine))
        }
    }

    /// A message, with the script file and line when a script is running.
    func located(_ message: String, line: Int?) -> String {
        guard let scriptFile, let line else { return message }
        return message + "  [\((scriptFile as NSString).lastPathComponent) line \(line)]"
    }

    func run(_ text: String) {
        progress.commandStarted()
        defer { progress.commandEnded() }
        guard outputFormat == .json else {
            if let failure = dispatch(text) { output.line(located(failure.message, line: scriptLine)) }
            return
        }
        // One document per command: its value, or the text it wrote where it computes none yet.
        pendingValue = nil
        let (failure, written) = output.capture { dispatch(text) }
        let value = pendingValue
        lastValue = value
        pendingValue = nil
        if let streamed = value as? any StreamedJSONValue {
            output.document(ResultDocument.streamedLine(command: text, failure: failure.map { ResultDocument.Failure(kind: $0.kind, message: $0.message) },
                                                        value: streamed))
            return
        }
        var lines = written.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        let document = ResultDocument(command: text, ok: failure == nil, result: value.map { ResultDocument.AnyValue(value: $0) },
                                      text: value == nil && !lines.isEmpty ? lines : nil,
                                      error: failure.map { ResultDocument.Failure(kind: $0.kind, message: $0.message) })
        output.document(document.line)
    }

    /// Runs one command; its failure (counted) as a kind and a one-line message.
    private func dispatch(_ text: String) -> (kind: String, message: String)? {
        do {
            try registry.dispatch(text, in: self)
            return nil
        } catch let e as CommandError {
            failures += 1
            return (e.kind.rawValue, e.message)
        } catch let e as DumpError {
            failures += 1
            return ("dump", e.description)
        } catch {
            failures += 1
            return ("failed", "\(error)")
        }
    }
}
