import Foundation

/// The command reference in Docs/commands/, generated from the registry's own names, summaries and help
/// texts so that it cannot drift from what `.help` prints (a test compares the committed pages with these).
public enum CommandReference {
    struct Family {
        let file: String
        let title: String
        let intro: String
        /// Primary names (`names[0]`) in the order the page lists them.
        let commands: [String]
    }

    static let families: [Family] = [
        Family(file: "session.md", title: "Session, target and help",
               intro: "What the dump is, where its images are found, help, hints, output format, logs and quitting.",
               commands: ["||", "|", "vertarget", ".time", ".lastevent", ".exepath", ".help", ".hints", ".outputformat", ".logopen", "q"]),
        Family(file: "threads-and-stacks.md", title: "Threads, registers and native stacks",
               intro: "Threads and their contexts, the exception context, native call stacks and CPU time.",
               commands: ["~", "r", ".ecxr", ".exr", ".cxr", "k", ".frame", "!uniqstack", "!runaway"]),
        Family(file: "memory-and-code.md", title: "Memory, code and expressions",
               intro: "Reading memory, searching it, its regions, disassembly, Windows process blocks and MASM expressions.",
               commands: ["db", "s", "!address", "u", "?", "!teb", "!peb", "!handle"]),
        Family(file: "symbols-and-modules.md", title: "Modules and symbols",
               intro: "Loaded modules, and symbols from Breakpad symbol files, export tables and ELF symbol tables.",
               commands: ["lm", "ln", "x", ".sympath", ".reload"]),
        Family(file: "analysis.md", title: "Crash and hang analysis",
               intro: "`!analyze -v` for a crash, `!analyze -v -hang` for a .NET process that hangs, `!error` for a status code.",
               commands: ["!analyze", "!error"]),
        Family(file: "scripts.md", title: "Scripts, aliases and output",
               intro: "Script files, aliases and formatted output. The script language itself (`.if`, `.for`, `.foreach`, `.block`, `$t0`...) is described in `.help $$><`.",
               commands: ["$<", "as", "ad", "al", ".echo", ".printf"]),
        Family(file: "sos.md", title: "SOS: the .NET runtime",
               intro: "Loaded with `.loadby sos clr` (or `.load sos`, `.cordll`). dumpdbg reads the runtime's own structures; no DAC is used.",
               commands: [".loadby", ".cordll", "!eeversion", "!eeheap", "!dumpheap", "!DumpObj", "!DumpArray", "!DumpVC", "!DumpMT", "!DumpClass",
                          "!DumpModule", "!Name2EE", "!Threads", "!PrintException", "!DumpStackObjects", "!CLRStack", "!DumpStack", "!IP2MD",
                          "!DumpMD", "!DumpIL", "!U", "!DumpDomain", "!ThreadPool", "!SyncBlk", "!FinalizeQueue", "!GCHandles", "!GCRoot", "!dumpasync", "!soshelp"]),
    ]

    /// Every page: one per family, an index (README.md), and "other.md" for commands no family names.
    public static func pages(_ registry: CommandRegistry) -> [(file: String, text: String)] {
        let byName = Dictionary(registry.commands.map { ($0.names[0], $0) }, uniquingKeysWith: { a, _ in a })
        let listed = Set(families.flatMap(\.commands))
        let others = registry.commands.filter { !listed.contains($0.names[0]) }.map { $0.names[0] }
        var all = families
        if !others.isEmpty {
            all.append(Family(file: "other.md", title: "Other commands", intro: "Commands not yet placed in a family.", commands: others))
        }
        var out: [(String, String)] = []
        var index = ["# dumpdbg command reference", "",
                     "Generated from the commands' own help (`.help NAME` prints the same text). Regenerate with",
                     "`swift run dumpdbg --write-command-reference Docs/commands`; a test fails when these pages are stale.", ""]
        for f in all {
            let commands = f.commands.compactMap { byName[$0] }
            index.append("- [\(f.title)](\(f.file)): " + commands.map { "`\(displayName($0))`" }.joined(separator: ", "))
            var page = ["# \(f.title)", "", f.intro, ""]
            for c in commands {
                page += ["## `\(displayName(c))`", "", c.summary + (c.extensionName.map { " (needs the \($0) extension)" } ?? "") + ".", ""]
                if names(c).count > 1 { page += ["Also: " + names(c).dropFirst().map { "`\($0)`" }.joined(separator: ", "), ""] }
                page += ["```", c.help.trimmingCharacters(in: .newlines), "```", ""]
            }
            out.append((f.file, page.joined(separator: "\n")))
        }
        index.append("")
        out.insert(("README.md", index.joined(separator: "\n")), at: 0)
        return out
    }

    /// The names a reader needs: `k`'s many letter combinations are its options, not separate commands.
    static func names(_ c: any DebuggerCommand) -> [String] {
        c.names.count > 12 ? Array(c.names.prefix(1)) + c.names.filter { $0.count == 2 } : c.names
    }

    static func displayName(_ c: any DebuggerCommand) -> String { c.names[0] }
}
