import Foundation
import Testing
@testable import Metadata

/// Compare with Mono's disassembler (Debian package mono-utils), an independent ECMA-335 reader.
@Suite(.enabled(if: Fixtures.which("monodis") != nil, "monodis not installed (apt-get install mono-utils); skipping cross-check"))
struct MonodisCrossCheckTests {
    /// monodis --typedef: `N: Namespace.Outer/Inner (flist=F, mlist=M, flags=0xX, extends=0xE)`.
    func check(path: String) throws {
        let monodis = try #require(Fixtures.which("monodis"))
        let output = try Fixtures.run(monodis, ["--typedef", path])
        let reader = try Fixtures.reader(path: path)
        let pattern = try NSRegularExpression(pattern: #"^(\d+): (.*) \(flist=(\d+), mlist=(\d+), flags=0x([0-9a-f]+), extends=0x([0-9a-f]+)\)$"#)
        var compared = 0
        for line in output.split(separator: "\n").map(String.init) {
            let ns = line as NSString
            guard let m = pattern.firstMatch(in: line, range: NSRange(location: 0, length: ns.length)) else { continue }
            func group(_ i: Int) -> String { ns.substring(with: m.range(at: i)) }
            let row = Int(group(1))!
            let t = try reader.typeDef(row)
            if row > 1 { // monodis prints "(null)" for <Module>
                let ours = try reader.fullName(ofTypeDef: row).replacingOccurrences(of: "+", with: "/")
                #expect(ours == group(2), "TypeDef row \(row)")
            }
            #expect(t.fieldList == Int(group(3))!, "fieldList of row \(row)")
            #expect(t.methodList == Int(group(4))!, "methodList of row \(row)")
            #expect(t.flags == UInt32(group(5), radix: 16)!, "flags of row \(row)")
            let coded: UInt32 = t.extends.map { tok in
                let tag: UInt32 = tok.table == .typeDef ? 0 : tok.table == .typeRef ? 1 : 2
                return UInt32(tok.row) << 2 | tag
            } ?? 0
            #expect(coded == UInt32(group(6), radix: 16)!, "extends of row \(row)")
            compared += 1
        }
        #expect(compared == reader.rowCount(.typeDef))
    }

    /// monodis --fields: `N: <type> name: <flags>`; compare names per row.
    func checkFields(path: String) throws {
        let monodis = try #require(Fixtures.which("monodis"))
        let output = try Fixtures.run(monodis, ["--fields", path])
        let reader = try Fixtures.reader(path: path)
        let pattern = try NSRegularExpression(pattern: #"^(\d+): (.*) ([^ ]+): "#)
        var compared = 0
        for line in output.split(separator: "\n").map(String.init) {
            let ns = line as NSString
            guard let m = pattern.firstMatch(in: line, range: NSRange(location: 0, length: ns.length)) else { continue }
            let row = Int(ns.substring(with: m.range(at: 1)))!
            #expect(try reader.field(row).name == ns.substring(with: m.range(at: 3)), "Field row \(row)")
            compared += 1
        }
        #expect(compared == reader.rowCount(.field))
    }

    @Test func appExeTypeDefs() throws { try check(path: Fixtures.appExe) }
    @Test func appExeFields() throws { try checkFields(path: Fixtures.appExe) }

    @Test(.enabled(if: Fixtures.runtime31 != nil, Fixtures.coreLibSkipReason))
    func coreLibTypeDefs() throws { try check(path: try #require(Fixtures.runtime31)) }

    @Test(.enabled(if: Fixtures.runtime31 != nil, Fixtures.coreLibSkipReason))
    func coreLibFields() throws { try checkFields(path: try #require(Fixtures.runtime31)) }
}

/// IL against monodis's disassembly: every method body of app.exe (and CoreLib, when the runtime is here), decoded
/// instruction by instruction: the same offsets, opcode names and branch targets, in the same order.
@Suite(.enabled(if: Fixtures.which("monodis") != nil, "monodis not installed (apt-get install mono-utils); skipping IL cross-check"))
struct MonodisILCrossCheckTests {
    /// `IL_xxxx: opcode [branch target]` lines, every method in MethodDef order.
    static func monodisLines(_ path: String) throws -> [String] {
        let output = try Fixtures.run(try #require(Fixtures.which("monodis")), [path])
        let pattern = try NSRegularExpression(pattern: #"^\s*IL_([0-9a-f]{4}):\s+(\S+)\s*(.*)$"#)
        return output.split(separator: "\n").compactMap { sub -> String? in
            let line = String(sub), ns = line as NSString
            guard let m = pattern.firstMatch(in: line, range: NSRange(location: 0, length: ns.length)) else { return nil }
            let op = ns.substring(with: m.range(at: 2)), rest = ns.substring(with: m.range(at: 3)).trimmingCharacters(in: .whitespaces)
            let isBranch = ["br", "leave", "beq", "bne", "bge", "bgt", "ble", "blt"].contains { op.hasPrefix($0) } && op != "break"
            return "IL_\(ns.substring(with: m.range(at: 1))): \(op)" + (isBranch ? " " + rest : "")
        }
    }

    static func ourLines(_ path: String) throws -> [String] {
        let image = try PEImage(path: path)
        let reader = try MetadataReader(image: image)
        var out: [String] = []
        for row in 1...max(1, reader.rowCount(.methodDef)) where reader.rowCount(.methodDef) > 0 {
            let m = try reader.methodDef(row)
            guard m.rva != 0 else { continue }
            let body = try Fixtures.methodBody(image, rva: m.rva)
            let (instructions, complete) = ILInstruction.decode(body.code)
            #expect(complete, "method row \(row)")
            for i in instructions {
                var line = "IL_" + MetadataReader.hex4(i.offset) + ": " + i.name
                if case .branch(let t) = i.operand { line += " IL_" + MetadataReader.hex4(t) }
                out.append(line)
            }
        }
        return out
    }

    /// Methods as blocks of lines (each starts at IL_0000), sorted: monodis prints a type's methods in its own order.
    static func methods(_ lines: [String]) -> [String] {
        var out: [String] = []
        for l in lines {
            if l.hasPrefix("IL_0000:") || out.isEmpty { out.append(l) } else { out[out.count - 1] += "\n" + l }
        }
        return out.sorted()
    }

    func check(_ path: String) throws {
        let theirs = Self.methods(try Self.monodisLines(path)), ours = Self.methods(try Self.ourLines(path))
        #expect(theirs.count >= 3 && theirs.joined().count > 1_000, "monodis should list the methods of \(path)")
        #expect(ours.count == theirs.count)
        for (a, b) in zip(ours, theirs) where a != b {
            Issue.record("a method differs:\n--- dumpdbg\n\(a)\n--- monodis\n\(b)")
            break
        }
    }

    @Test func appExe() throws { try check(Fixtures.appExe) }

    /// The project's own samples: the hang sample's async state machines and locks (exception clauses), the
    /// transition-frame sample's P/Invokes.
    @Test(arguments: ["hang", "pool", "transition-frames"])
    func sampleAppExe(_ sample: String) throws {
        try check(Fixtures.packageRoot.path + "/Samples/dumps/\(sample)/app.exe")
    }
}

/// !DumpIL's text: exception clauses as SOS indents them, tokens in ILDASM's style.
@Suite struct ILTextTests {
    @Test func tryCatchBlocksAndTokens() throws {
        let path = Fixtures.packageRoot.path + "/Samples/dumps/hang/app.exe"
        let image = try PEImage(path: path)
        let reader = try MetadataReader(image: image)
        var withClauses = 0
        for row in 1...reader.rowCount(.methodDef) {
            let m = try reader.methodDef(row)
            guard m.rva != 0 else { continue }
            let body = try Fixtures.methodBody(image, rva: m.rva)
            let text = reader.ilText(body)
            #expect(text.allSatisfy { $0.trimmingCharacters(in: .whitespaces).hasPrefix("IL_") || [".try", "{", ".catch", ".finally"].contains($0.trimmingCharacters(in: .whitespaces)) || $0.contains("} // end .") }, "method row \(row)")
            guard !body.clauses.isEmpty else { continue }
            withClauses += 1
            #expect(text.contains(".try") && text.contains("{") && text.contains("} // end .try"), "method row \(row): \(text)")
            #expect(text.contains { $0.hasPrefix("  IL_") }, "the try block's instructions are indented")
        }
        #expect(withClauses >= 3, "the hang sample's async state machines and lock blocks have exception clauses")
    }
}

extension Fixtures {
    /// The method body at an RVA of an image file.
    static func methodBody(_ image: PEImage, rva: UInt32) throws -> ILMethodBody {
        try ILMethodBody { offset, count in
            guard let o = try? image.offset(ofRVA: rva &+ UInt32(offset), size: UInt32(count)) else { return nil }
            return try? image.source.readBytes(at: o, count: count)
        }
    }
}
