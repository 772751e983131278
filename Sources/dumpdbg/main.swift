import ArgumentParser
import Commands
import DumpModel
import Foundation
import LineEditor
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The version `--version` prints.
let dumpdbgVersion = "0.4.0"

/// dumpdbg's command line, in cdb's shape: `dumpdbg -z DUMP [-c "cmds"] [-cf FILE] [-i PATHS]`.
struct DumpDbg: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dumpdbg",
        abstract: "A WinDbg-compatible crash dump debugger for Windows minidumps and ELF core files.",
        discussion: """
        Exit codes: 0 success; 1 a command failed in a script (-c, -cf, piped input); 2 the dump cannot be
        opened; 64 a usage error on the command line.

        Examples:
          dumpdbg -z crash.dmp
          dumpdbg -z core.1234.xz -c "~; lm; q"
          dumpdbg -z crash.dmp -cf triage.txt
          dumpdbg triage crashes/ > triage.jsonl     (one JSON line per dump; dumpdbg triage --help)
        """,
        version: dumpdbgVersion)

    @Option(name: .customShort("z"), help: ArgumentHelp("The dump to open (minidump or ELF core; .xz/.gz/.bz2 are decompressed into a cache).", valueName: "dump-file"))
    var dumpOption: String?

    @Argument(help: "The dump to open, when -z is not given.")
    var dumpArgument: String?

    @Option(name: .customShort("c"), help: ArgumentHelp("Commands to run first, separated by ';' (as cdb's -c).", valueName: "commands"))
    var commands: String?

    @Option(name: .customLong("cf", withSingleDash: true), help: ArgumentHelp("A file of commands to run first (as cdb's -cf).", valueName: "script-file"))
    var commandFile: String?

    @Option(name: .customShort("i"), help: ArgumentHelp("Image path: ';'-separated folders searched for images by file name.", valueName: "folders"))
    var imagePath: String?

    @Option(name: .customShort("y"), help: ArgumentHelp("Symbol path: ';'-separated folders holding Breakpad symbol files (debug-file/debug-id/name.sym); as .sympath.", valueName: "folders"))
    var symbolPath: String?

    @Option(name: .customLong("transcript"), help: ArgumentHelp("Write the session after the banner (prompts, commands, output) to this file; the same script on the same dump writes the same bytes.", valueName: "file"))
    var transcript: String?

    @Option(name: .customLong("check"), help: ArgumentHelp("Replay the commands and compare the session with this transcript: a diff where the output changed, and exit code 1.", valueName: "transcript-file"))
    var check: String?

    @Flag(name: .customLong("no-banner"), help: "Do not print the banner when the dump opens.")
    var noBanner = false

    @Flag(name: .customLong("json"), help: "Print each command's result as one JSON document per line (Docs/json.md); no banner.")
    var json = false

    @Option(name: .customLong("write-command-reference"), help: ArgumentHelp("Write the command reference (one Markdown page per command family, from the commands' own help) into this folder, then exit; no dump is needed.", valueName: "folder"))
    var referenceFolder: String?

    /// What the parsed command line asks for.
    var options: LaunchOptions {
        LaunchOptions(dumpOption: dumpOption, dumpArgument: dumpArgument, commands: commands, commandFile: commandFile,
                      imagePath: imagePath, symbolPath: symbolPath, transcript: transcript, check: check,
                      noBanner: noBanner, json: json, referenceFolder: referenceFolder)
    }

    mutating func run() throws {
        try Launch(options: options).run()
    }
}

/// A session started from `LaunchOptions`, whichever parser read the command line.
struct Launch {
    let options: LaunchOptions

    func run() throws {
        let o = options
        if let folder = o.referenceFolder {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            for page in CommandReference.pages(CommandRegistry.standard()) {
                try page.text.write(toFile: folder + "/" + page.file, atomically: true, encoding: .utf8)
            }
            return
        }
        guard let path = o.dumpOption ?? o.dumpArgument else {
            throw ValidationError("no dump given: use -z FILE")
        }
        let opened: DumpLoader.Opened
        do {
            opened = try DumpLoader.open(path: path)
        } catch {
            FileHandle.standardError.write(Data("dumpdbg: \(error.description)\n".utf8))
            throw ExitCode(2)
        }
        let output = Output.standardOutput()
        let session = Session(dump: opened.dump, output: output)
        session.imagePath = SearchPaths.images(o.imagePath)
        session.setSymbolPath(SearchPaths.symbols(o.symbolPath))
        if o.json { session.outputFormat = .json }
        if !o.noBanner && !o.json {
            for l in Banner.lines(for: session, decompressedFrom: opened.decompressedPath) { output.line(l) }
        }
        installInterruptHandler()
        // The transcript starts after the banner, which names this machine's path to the dump.
        let checking = o.check.map { _ in FileManager.default.temporaryDirectory.appendingPathComponent("dumpdbg-check-\(getpid()).txt").path }
        if let file = o.transcript ?? checking {
            do { try output.openLog(path: file, append: false) } catch {
                FileHandle.standardError.write(Data("dumpdbg: cannot write the transcript \(file): \(error)\n".utf8))
                throw ExitCode(2)
            }
        }

        let interactive = isatty(0) != 0
        if let commandFile = o.commandFile {
            session.executeTopLevel(line: "$<\(commandFile)")
        }
        if let commands = o.commands, !session.quitRequested {
            if !o.json { output.line(session.prompt + commands) }
            session.executeTopLevel(line: commands)
        }
        if !session.quitRequested {
            if interactive {
                session.hintsEnabled = !o.json
                runInteractive(session)
            } else {
                runPiped(session)
            }
        }
        output.flush()
        output.closeLog()
        if let check = o.check, let checking {
            defer { try? FileManager.default.removeItem(atPath: checking) }
            let differences = Transcript.compare(expectedPath: check, actualPath: checking)
            for line in differences.lines { output.line(line) }
            output.flush()
            if !differences.same { throw ExitCode(1) }
            return
        }
        if !interactive && session.failures > 0 { throw ExitCode(1) }
    }

    func runInteractive(_ session: Session) {
        let history = ProcessEnvironment.value("DUMPDBG_HISTORY")
            ?? (UserFolders.home + "/.dumpdbg_history")
        let names = session.registry.allNames
        guard let editor = LineEditor(programName: "dumpdbg", historyPath: history, completions: { typed in
            names.filter { $0.lowercased().hasPrefix(typed.lowercased()) && !typed.isEmpty }
        }) else {
            runPiped(session)
            return
        }
        while !session.quitRequested {
            switch editor.readLine(prompt: session.prompt) {
            case .line(let l): session.executeTopLevel(line: l)
            case .interrupted: continue
            case .endOfInput: return
            }
        }
    }

    /// Standard input that is not a terminal: one command line per input line, echoed after the prompt
    /// so that a transcript reads like a session.
    func runPiped(_ session: Session) {
        while !session.quitRequested, let line = Swift.readLine(strippingNewline: true) {
            if session.outputFormat == .text { session.output.line(session.prompt + line) }
            session.executeTopLevel(line: line)
        }
    }

    func installInterruptHandler() {
        var action = sigaction()
        #if canImport(Glibc)
        action.__sigaction_handler.sa_handler = { _ in
            interruptRequested.store(true, ordering: .relaxed)
            LineEditor.sigintSeen.store(true, ordering: .relaxed)
        }
        #else
        action.__sigaction_u.__sa_handler = { _ in
            interruptRequested.store(true, ordering: .relaxed)
            LineEditor.sigintSeen.store(true, ordering: .relaxed)
        }
        #endif
        sigemptyset(&action.sa_mask)
        // A parent may have started us with SIGINT blocked; Ctrl-C must work regardless.
        var unblock = sigset_t()
        sigemptyset(&unblock)
        sigaddset(&unblock, SIGINT)
        sigprocmask(SIG_UNBLOCK, &unblock, nil)
        // No SA_RESTART: a read at the prompt must return so the line can be abandoned.
        action.sa_flags = 0
        sigaction(SIGINT, &action, nil)
    }
}

// `dumpdbg triage ...` is a second tool over the same analysis; the session's own command line has no
// subcommands, so a dump file may have any name.
// The forms scripts and batch runs use (`-z DUMP -c "..."`) are read by `LaunchOptions.quick`, without the
// 2 ms swift-argument-parser's reflection costs at every start (Docs/benchmarks.md); anything else, help
// and errors included, goes to swift-argument-parser, and a test holds the two to the same answers.
let arguments = Array(CommandLine.arguments.dropFirst())
if arguments == ["--version"] {
    print(dumpdbgVersion)  // as swift-argument-parser prints it
} else if arguments.first == "triage" {
    if let worker = TriageWorkerLine.quick(Array(arguments.dropFirst())) {
        TriageCommand.runWorker(worker)
    } else {
        TriageCommand.main(Array(arguments.dropFirst()))
    }
} else if let options = LaunchOptions.quick(arguments) {
    do {
        try Launch(options: options).run()
    } catch let code as ExitCode {
        exit(code.rawValue)
    } catch {
        DumpDbg.exit(withError: error)
    }
} else {
    DumpDbg.main()
}

/// The image and symbol paths a session searches: the command line's (`-i`, `-y`), then the environment's
/// (`_NT_EXECUTABLE_IMAGE_PATH`, `_NT_SYMBOL_PATH`), as cdb reads them. For a session and for each triage worker.
enum SearchPaths {
    static func images(_ option: String?) -> [String] {
        ((option ?? "") + ";" + (ProcessEnvironment.value("_NT_EXECUTABLE_IMAGE_PATH") ?? "")).split(separator: ";").map(String.init)
    }

    static func symbols(_ option: String?) -> String {
        [option, ProcessEnvironment.value("_NT_SYMBOL_PATH")].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ";")
    }
}

/// `--check`: a replayed session against a transcript, line by line.
enum Transcript {
    static func compare(expectedPath: String, actualPath: String) -> (same: Bool, lines: [String]) {
        guard let expected = try? String(contentsOfFile: expectedPath, encoding: .utf8) else {
            return (false, ["--check: cannot read the transcript \(expectedPath)"])
        }
        let actual = (try? String(contentsOfFile: actualPath, encoding: .utf8)) ?? ""
        if expected == actual { return (true, ["--check: the session matches \(expectedPath)"]) }
        let a = expected.split(separator: "\n", omittingEmptySubsequences: false), b = actual.split(separator: "\n", omittingEmptySubsequences: false)
        var out: [String] = []
        var shown = 0, differing = 0
        for i in 0..<max(a.count, b.count) {
            let x = i < a.count ? String(a[i]) : nil, y = i < b.count ? String(b[i]) : nil
            guard x != y else { continue }
            differing += 1
            guard shown < 40 else { continue }
            shown += 1
            out.append("@@ line \(i + 1)")
            if let x { out.append("-" + x) }
            if let y { out.append("+" + y) }
        }
        return (false, ["--check: \(differing) lines differ from \(expectedPath) (- transcript, + this run)"] + out
                    + (differing > shown ? ["(\(differing - shown) more)"] : []))
    }
}
