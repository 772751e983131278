@testable import Commands
import Foundation
import Testing

/// Docs/commands/ is generated from the registry (`dumpdbg --write-command-reference Docs/commands`); these
/// tests fail when a command's help changed and the pages were not regenerated, or a command has no example.
@Suite("Command reference (Docs/commands)")
struct CommandReferenceTests {
    static let folder = Fixtures.projectRoot.appendingPathComponent("Docs/commands")

    @Test func thePagesAreUpToDate() throws {
        let pages = CommandReference.pages(CommandRegistry.standard())
        for page in pages {
            let committed = try? String(contentsOf: Self.folder.appendingPathComponent(page.file), encoding: .utf8)
            #expect(committed == page.text,
                    "Docs/commands/\(page.file) is stale: run `swift run dumpdbg --write-command-reference Docs/commands`")
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.folder.path).filter { $0.hasSuffix(".md") }
        #expect(Set(files) == Set(pages.map(\.file)), "Docs/commands holds a page no family makes")
    }

    @Test func everyCommandHasAnExampleThatNamesACommand() {
        let registry = CommandRegistry.standard()
        for c in registry.commands {
            let example = c.help.split(separator: "\n").first { $0.trimmingCharacters(in: .whitespaces).hasPrefix("Example:") }
            #expect(example != nil, "\(c.names[0]) has no Example: line in its help")
            guard let example else { continue }
            let line = example.trimmingCharacters(in: .whitespaces).dropFirst("Example:".count).trimmingCharacters(in: .whitespaces)
            // The example starts with one of the registered names (or a thread prefix, `~* e`).
            let first = line.split(separator: " ").first.map(String.init) ?? ""
            let resolved = (try? registry.resolve(line)).flatMap { registry.command(named: $0.0) }
            #expect(resolved != nil || registry.command(named: first) != nil || first.hasPrefix("~"),
                    "\(c.names[0])'s example does not start with a command: \(line)")
        }
    }

    @Test func noCommandIsLeftOutOfTheFamilies() {
        let pages = CommandReference.pages(CommandRegistry.standard())
        #expect(!pages.contains { $0.file == "other.md" }, "a new command needs a family in CommandReference.families")
    }
}
