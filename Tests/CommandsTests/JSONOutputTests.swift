@testable import Commands
import DumpModel
import Foundation
import Testing
import TestSupport

/// JSON mode: one document per command, each valid against Docs/json-schema.json (checked with Python's
/// jsonschema, a real JSON Schema validator), and values equal to what the dump holds.
@Suite(.enabled(if: Fixtures.available, Fixtures.absent))
struct JSONOutputTests {
    static let sosCommands = [".loadby sos clr", "!eeversion", "!dumpheap -stat", "!threads", "!pe -nested", "!dso", "kbn", "~* kc", "!analyze -v"]
    static let commands = ["~", "~0", "~*", ".lastevent", "lm", "r", ".exr -1", "vertarget", "!address -summary", "db @$csp L20",
                           "!eeversion", "!dumpheap -stat", "bogus", "!threads -x", "~~[ffff]s"]

    /// Every document the commands print on `dump`, parsed.
    func documents(_ relative: String, _ lines: [String] = JSONOutputTests.commands) throws -> [[String: Any]] {
        let buffer = Output.Buffer()
        let s = Session(dump: try Fixtures.open(relative), output: Output(sink: buffer.append))
        s.outputFormat = .json
        for l in lines { s.executeTopLevel(line: l) }
        return try buffer.text.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any], "\($0)")
        }
    }

    @Test func oneDocumentPerCommandWithValues() throws {
        let docs = try documents("breakpad/minidump2.dmp")
        #expect(docs.count == Self.commands.count)
        #expect(docs.map { $0["command"] as? String } == Self.commands)
        let threads = try #require((docs[0]["result"] as? [String: Any])?["threads"] as? [[String: Any]])
        let dump = try Fixtures.open("breakpad/minidump2.dmp")
        #expect(threads.map { $0["threadId"] as? String } == dump.threads.map { "0x" + String($0.id, radix: 16) })
        #expect(threads.first?["isCurrent"] as? Bool == true)
        let event = try #require((docs[3]["result"] as? [String: Any])?["event"] as? [String: Any])
        #expect(event["code"] as? String == "0xc0000005" && event["source"] as? String == "dump" && event["threadId"] as? String == "0xbf4")
        let modules = try #require((docs[4]["result"] as? [String: Any])?["modules"] as? [[String: Any]])
        #expect(modules.count == dump.modules.count && modules.first?["name"] as? String == "test_app")
        let record = try #require(docs[6]["result"] as? [String: Any])
        #expect(record["code"] as? String == "0xc0000005" && record["accessViolation"] as? String == "write to"
                && (record["parameters"] as? [String]) == ["0x1", "0x45"] && record["source"] as? String == "dump")
        let regs = try #require((docs[5]["result"] as? [String: Any])?["registers"] as? [[String: Any]])
        #expect(regs.first?["name"] as? String == "eax" && regs.first?["value"] as? String == "0x400000" && regs.first?["bits"] as? Int == 32)
        // db: two rows of 16 bytes from the stack pointer, each unit the byte the dump holds.
        let mem = try #require((docs[9]["result"] as? [String: Any])?["rows"] as? [[String: Any]])
        let esp = try #require(dump.threads[0].context?.stackPointer)
        #expect(mem.count == 2 && mem[0]["address"] as? String == "0x" + String(esp, radix: 16))
        let bytes = (mem[0]["units"] as? [String])?.compactMap { UInt8($0.dropFirst(2), radix: 16) }
        #expect(bytes == dump.memory.readExact(esp, count: 16), "\(mem[0])")
        // vertarget's value: WinDbg's first line, and the dump's times.
        #expect(((docs[7]["result"] as? [String: Any])?["target"] as? String)?.hasPrefix("Windows XP Version 2600") == true, "\(docs[7])")
        // !address -summary: the regions, summed up by the text renderer.
        #expect((docs[8]["result"] as? [String: Any])?["mode"] as? String == "summary", "\(docs[8])")
        // Failures: ok false, with a kind.
        #expect((docs[10]["error"] as? [String: Any])?["kind"] as? String == "unavailable")
        #expect((docs[12]["error"] as? [String: Any])?["kind"] as? String == "syntax")
        #expect(docs[12]["ok"] as? Bool == false)
    }

    @Test func textModeIsTheValueRenderedAsText() throws {
        // The same commands in text mode print exactly the value's text lines.
        let text = try Fixtures.run("breakpad/minidump2.dmp", "~", ".lastevent")
        let docs = try documents("breakpad/minidump2.dmp", ["~"])
        let rows = try #require((docs[0]["result"] as? [String: Any])?["threads"] as? [[String: Any]])
        #expect(text.split(separator: "\n").count == rows.count + 2)
        #expect(text.hasPrefix(".  0  Id: f5c.bf4 Suspend: 0 Teb: 7ffdf000 Unfrozen\n"), "\(text)")
    }

    @Test func everyDocumentOnEverySharedDumpMatchesTheSchema() throws {
        let index = try String(contentsOf: Fixtures.dumps.appendingPathComponent("INDEX.md"), encoding: .utf8)
        var lines: [String] = []
        for row in index.split(separator: "\n") where row.hasPrefix("| ") {
            let cols = row.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard cols.count > 3, cols[2] == "MDMP" || cols[2] == "ELF core", !cols[0].hasSuffix(".xz") else { continue }
            guard let dump = try? Fixtures.open(cols[0]) else { continue }
            let buffer = Output.Buffer()
            let s = Session(dump: dump, output: Output(sink: buffer.append))
            s.outputFormat = .json
            for l in Self.commands + Self.sosCommands + ["||", "|", ".time", "!runaway 7", "!teb", "!peb", "!handle", "!handle 4", "!address", "!address @$csp", "dps @$csp L8", "u @$ip L4", "ub @$ip L2", "s -d @$csp L40 0", "da @$csp", "du @$csp L8", ".frame /r 1", "ln @$ip", "x *!wait4", "!uniqstack", "!error c0000135", "!error 2", "!error 80004003"] { s.executeTopLevel(line: l) }
            lines += buffer.text.split(separator: "\n").map(String.init)
        }
        // The CLR dumps, with their runtimes on the image path (the Windows one finds its globals in the dump).
        var sosValues = 0
        for (dump, runtime) in [("clr/async-crash/linux-3.1.core.xz", installedRuntime31()), ("clr/async-crash/linux-8.0.core.xz", installedRuntime80()),
                                ("clr/async-crash/windows-3.1.mdmp.xz", Optional("/nonexistent")),
                                // The project's own hang sample: monitors, a deadlock, an async chain, finalizers.
                                (Fixtures.projectRoot.appendingPathComponent("Samples/dumps/hang/linux-3.1.core.xz").path, installedRuntime31()),
                                (Fixtures.projectRoot.appendingPathComponent("Samples/dumps/hang/linux-8.0.core.xz").path, installedRuntime80()),
                                // The starved thread pool: queued work items and the starvation finding.
                                (Fixtures.projectRoot.appendingPathComponent("Samples/dumps/pool/linux-3.1.core.xz").path, installedRuntime31()),
                                (Fixtures.projectRoot.appendingPathComponent("Samples/dumps/pool/linux-8.0.core.xz").path, installedRuntime80())] {
            guard let runtime, let d = try? (dump.hasPrefix("/") ? DumpLoader.open(path: dump).dump : Fixtures.open(dump)) else { continue }
            let buffer = Output.Buffer()
            let s = Session(dump: d, output: Output(sink: buffer.append))
            s.outputFormat = .json
            s.imagePath = [runtime]
            for l in Self.sosCommands + ["~0s", "!dso", "r", "~* k", "!clrstack -all -f", "!ip2md @$ip", "!eestack", "!U @$ip",
                                          "!syncblk -all", "!fq -detail", "!clrstack -a -all", "!clrstack -r", "!clrstack -gc -all", "!gchandles", "!gcroot @$csp", "!dumpdomain", "!threadpool", "!threadpool -wi", "!eeheap -gc", "!eeheap", "!Name2EE * System.String", "!Name2EE * System.Threading.Thread.Sleep", "!dumpasync --tasks --fields", "!dumpasync --stats", "!dumpasync --coalesce",
                                          "!analyze -v -hang", "!runaway 7"] { s.executeTopLevel(line: l) }
            // !do on the objects the stack holds, strings and exceptions among them.
            // !DumpMT -all -MD and !DumpClass on the type of the first object the stack holds.
            if let doc = buffer.text.split(separator: "\n").last(where: { $0.contains("\"objects\"") }),
               let first = (((try? JSONSerialization.jsonObject(with: Data(doc.utf8))) as? [String: Any])?["result"] as? [String: Any])?["objects"] as? [[String: Any]],
               let a = first.first?["object"] as? String {
                s.executeTopLevel(line: "!do " + a)
                if let od = buffer.text.split(separator: "\n").last, let o = (((try? JSONSerialization.jsonObject(with: Data(od.utf8))) as? [String: Any])?["result"] as? [String: Any]),
                   let mt = o["methodTable"] as? String, let ee = o["eeClass"] as? String {
                    s.executeTopLevel(line: "!DumpMT -all -MD " + mt)
                    s.executeTopLevel(line: "!DumpClass " + ee)
                }
            }
            for doc in buffer.text.split(separator: "\n").suffix(8) where doc.contains("\"objects\"") {
                let objects = ((try? JSONSerialization.jsonObject(with: Data(doc.utf8))) as? [String: Any]).flatMap { $0["result"] as? [String: Any] }?["objects"] as? [[String: Any]] ?? []
                for o in objects.prefix(8) { if let a = o["object"] as? String { s.executeTopLevel(line: "!do " + a) } }
            }
            // !dumpheap's listing forms (streamed JSON), last so the lookups above never see their "objects".
            for l in ["!dumpheap -type System.Threading.", "!dumpheap -short -type System.Threading.Thread", "!dumpheap -strings -min 0n200"] {
                s.executeTopLevel(line: l)
            }
            // !da on an object array (with -details) and !DumpModule -mt on CoreLib's module, from the values above.
            func lastResult() -> [String: Any]? {
                buffer.text.split(separator: "\n").last.flatMap { ((try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any])?["result"] as? [String: Any] }
            }
            s.executeTopLevel(line: "!dumpheap -short -type System.Object[]")
            if let a = (lastResult()?["addresses"] as? [String])?.first {
                s.executeTopLevel(line: "!da -details -length 3 " + a)
                s.executeTopLevel(line: "!da -start 0n99999999 " + a)
            }
            s.executeTopLevel(line: "!Name2EE System.Private.CoreLib.dll System.String")
            if let m = ((lastResult()?["modules"] as? [[String: Any]])?.first)?["address"] as? String {
                s.executeTopLevel(line: "!DumpModule -mt " + m)
            }
            // !DumpIL on the first managed frame's method of the thread in `!clrstack -a -all`'s value.
            s.executeTopLevel(line: "!clrstack -all")
            let frames = (lastResult()?["threads"] as? [[String: Any]])?.flatMap { ($0["frames"] as? [[String: Any]]) ?? [] } ?? []
            if let md = frames.first(where: { $0["managed"] as? Bool == true && $0["codeKind"] as? String == "jit" })?["methodDesc"] as? String {
                s.executeTopLevel(line: "!dumpil " + md)
            }
            let docs = buffer.text.split(separator: "\n").map(String.init)
            sosValues += docs.filter { $0.contains("\"ok\":true") && $0.contains("\"result\"") && $0.contains("\"command\":\"!") }.count
            lines += docs
        }
        #expect(sosValues >= 3 * 5 || installedRuntime31() == nil, "the CLR dumps' SOS commands should give values")
        #expect(lines.count > 500)
        let file = scratchPath("json.jsonl")
        try lines.joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)
        defer { unlink(file) }
        let schema = Fixtures.projectRoot.appendingPathComponent("Docs/json-schema.json").path
        let script = """
        import json, sys, jsonschema
        schema = json.load(open(sys.argv[1]))
        validator = jsonschema.Draft202012Validator(schema)
        bad = 0
        for n, line in enumerate(open(sys.argv[2]), 1):
            for e in validator.iter_errors(json.loads(line)):
                bad += 1
                if bad <= 5: print(f"line {n}: {e.message}")
        print(f"{n} documents, {bad} errors")
        sys.exit(1 if bad else 0)
        """
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", script, schema, file]
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "jsonschema (Samples/install-deps.sh --tests installs it): \(out)")
    }

    /// !dumpheap's listing writes its own JSON: the same document JSONEncoder gives the value, and in text mode
    /// the same rows the walk streams.
    @Test func dumpheapListingStreamedJSONEqualsTheEncodedValue() throws {
        guard let runtime = installedRuntime31() else { print("skip: no .NET Core 3.1 runtime"); return }
        let dump = Fixtures.projectRoot.appendingPathComponent("Samples/dumps/async-crash/linux-3.1.core.xz").path
        let buffer = Output.Buffer()
        let s = Session(dump: try DumpLoader.open(path: dump).dump, output: Output(sink: buffer.append))
        s.imagePath = [runtime]
        s.executeTopLevel(line: ".loadby sos clr")
        for command in ["!dumpheap -type Samples.Customer", "!dumpheap -short -type Samples.Point", "!dumpheap -strings -min 0n60"] {
            buffer.reset()
            s.outputFormat = .text
            s.executeTopLevel(line: command)
            let text = buffer.text
            buffer.reset()
            s.outputFormat = .json
            s.executeTopLevel(line: command)
            let streamed = buffer.text.trimmingCharacters(in: .newlines)
            let doc = try #require(try JSONSerialization.jsonObject(with: Data(streamed.utf8)) as? [String: Any], "\(streamed.prefix(300))")
            let result = try #require(doc["result"] as? [String: Any], "\(streamed.prefix(300))")
            // The streamed result is byte for byte what JSONEncoder (sorted keys) makes of the same value.
            let resultJSON = try #require(streamed.range(of: #","result":"#))
            let schemaKey = try #require(streamed.range(of: #","schema":"#, options: .backwards))
            let resultText = String(streamed[resultJSON.upperBound..<schemaKey.lowerBound])
            let value = try #require(s.lastValue as? HeapListingValue, "\(command)")
            let encoded = String(decoding: try ResultDocument.encoder.encode(value), as: UTF8.self)
            #expect(resultText == encoded, "\(command): \(resultText.prefix(200)) vs \(encoded.prefix(200))")
            // Text mode printed the value's rows: as many rows as the value holds objects, addresses or strings.
            let n = (result["objects"] as? [Any])?.count ?? (result["addresses"] as? [Any])?.count ?? (result["strings"] as? [Any])?.count ?? -1
            #expect(n > 0, "\(command)")
            if let objects = result["objects"] as? [[String: Any]], let first = objects.first, let a = first["address"] as? String {
                #expect(text.contains("\n" + Hex.pad(UInt64(a.dropFirst(2), radix: 16)!, 16) + " "), "\(command)")
                #expect(text.components(separatedBy: "\n").filter { $0.count > 30 && $0.prefix(16).allSatisfy(\.isHexDigit) && $0.contains("  ") }.count >= objects.count)
            }
            if let addresses = result["addresses"] as? [String] {
                #expect(text.split(separator: "\n").count == addresses.count, "\(command)")
            }
            if let strings = result["strings"] as? [[String: Any]] {
                #expect(text.hasSuffix("Total \(strings.reduce(0) { $0 + (($1["count"] as? Int) ?? 0) }) strings\n"), "\(command)")
            }
        }
    }
}
