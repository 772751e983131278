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
