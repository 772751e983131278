import ClrLayout
@testable import Commands
import DumpModel
import Foundation
import Testing

/// Values below come from the seed dump (linux-3.1.core) and were checked against the runtime's DAC
/// (dac-oracle --mt / --obj, quoted in ../shared/labs/dac-oracle/README.md) or Docs/clr/coreclr-3.1.23-layouts.md.
enum SeedFacts {
    static let requestMT = "00007fb0977f7a80"
    static let requestEEClass = "00007fb09788cf38"
    static let appModule = "00007fb09770dc28"
    static let appAssembly = "000055e79996cd50"
    static let appPEFile = "000055e799931070"
    static let appImageBase = "00007fb111c45000"
    static let appMetadata = "00007fb111c45788 (3752 bytes)"
    static let appDomainLocalModule = "00007fb09770e218"
    static let appTypeDefMap = "00007fb0976f7a58"
    static let stringMT = "00007fb0976e0f90"
    static let stringEEClass = "00007fb09764e230"
    static let request = "00007fb070238a38"
    static let requestStartTime = "00007fb070238a68"
    static let dateTimeMT = "00007fb0977f4888"
    /// The MoveNext MethodDesc of the exception's first stack frame (token 0x0600000b).
    static let moveNextMD: UInt64 = 0x7fb0_97a1_b7b8
}

/// A session on the project's bundled sample dump, or nil (skip).
func sampleSession() throws -> (Session, Output.Buffer)? {
    let dump = ClrFixtures.samplesFolder + "/linux-3.1.core.xz"
    guard FileManager.default.fileExists(atPath: dump) else { print("skip: no sample dump at \(dump)"); return nil }
    guard ClrFixtures.runtimeFolder != nil else { print("skip: " + ClrFixtures.skipRuntime); return nil }
    let (s, b) = try ClrFixtures.session(dump: dump, appFolder: ClrFixtures.samplesFolder)
    _ = ClrFixtures.run(s, b, ".loadby sos clr")
    return (s, b)
}

/// The sample's facts file as key -> value.
func sampleFacts() throws -> [String: String] {
    let text = try String(contentsOfFile: ClrFixtures.samplesFolder + "/linux-3.1.facts.txt", encoding: .utf8)
    var out: [String: String] = [:]
    for line in text.split(separator: "\n") where line.hasPrefix("FACT ") {
        let body = line.dropFirst(5)
        guard let eq = body.firstIndex(of: "=") else { continue }
        out[String(body[..<eq])] = String(body[body.index(after: eq)...])
    }
    return out
}

/// Lines of `text` that start with `prefix`, the prefix removed.
func values(_ text: String, _ prefix: String) -> [String] {
    text.split(separator: "\n", omittingEmptySubsequences: false).filter { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }
}

@Suite("!DumpMT -md, !DumpClass, !DumpModule on the seed dump")
struct TypeCommandTests {
    @Test("!DumpMT -md lists Object's four virtuals and the constructor, with MethodDescs the runtime's own map agrees with")
    func dumpMTMethods() throws {
        guard let (s, b) = try ObjectCommandTests.seed() else { return }
        let out = ClrFixtures.run(s, b, "!DumpMT -md \(SeedFacts.requestMT)")
        #expect(out.hasPrefix("EEClass:         \(SeedFacts.requestEEClass)\nModule:          \(SeedFacts.appModule)\n"), "\(out)")
        // DAC: wNumMethods 5 (SOS prints it as "Slots in VTable"), 0 interfaces.
        #expect(out.contains("Slots in VTable: 5\nNumber of IFaces in IFaceMap: 0\n--------------------------------------\nMethodDesc Table\n"
            + "           Entry       MethodDesc    JIT Name\n"), "\(out)")
        let rows = out.split(separator: "\n").drop { !$0.hasPrefix("           Entry") }.dropFirst().map { $0.split(separator: " ", maxSplits: 3).map(String.init) }
        #expect(rows.count == 5, "\(out)")
        #expect(rows.map { $0[3] } == ["System.Object.Finalize()", "System.Object.ToString()", "System.Object.Equals(System.Object)",
                                        "System.Object.GetHashCode()", "System.Web.Hosting.IIS7WorkerRequest..ctor(System.String, System.String)"])
        // The constructor ran (two requests exist): its native code slot holds code with a header naming it.
        let ctor = try #require(rows.last)
        #expect(ctor[2] == "JIT")
        // Independent check: Module.m_MethodDefToDescMap[rid 1] is the constructor's MethodDesc.
        let module = ClrFixtures.run(s, b, "!DumpModule \(SeedFacts.appModule)")
        let mapText = try #require(values(module, "MethodDefToDescMap:      ").first)
        let map = try #require(UInt64(mapText, radix: 16))
        let r = try SosRuntimes.runtime(for: s)
        #expect(r.target.u64(map + 8).map { Hex.pad($0, 16) } == ctor[1])
        // Object's MethodDescs belong to System.Object.
        for row in rows.prefix(4) {
            let md = try #require(UInt64(row[1], radix: 16))
            #expect(r.methodDescInfo(md)?.type.methodTable == r.objectMT)
        }
    }

    @Test("!DumpMT -md on the async state machine lists the MethodDesc the exception's stack trace recorded")
    func stackTraceMethodDesc() throws {
        guard let (s, b) = try ObjectCommandTests.seed() else { return }
        let r = try SosRuntimes.runtime(for: s)
        let (type, token) = try #require(r.methodDescInfo(SeedFacts.moveNextMD))
        #expect(token == 0x0600_000b)
        let out = ClrFixtures.run(s, b, "!DumpMT -MD \(Sos.p(type.methodTable))")
        let line = out.split(separator: "\n").first { $0.contains(" \(Sos.p(SeedFacts.moveNextMD)) ") }
        #expect(line?.hasSuffix("CrashLab.AccountController+<LoginAsync>c__async0.MoveNext()") == true, "\(out)")
        // Every MethodDesc listed decodes back to this type or one of its parents.
        for row in out.split(separator: "\n").drop(while: { !$0.hasPrefix("           Entry") }).dropFirst() {
            let md = try #require(UInt64(row.split(separator: " ")[1], radix: 16))
            #expect(r.methodDescInfo(md) != nil, "\(row)")
        }
    }

    @Test("!DumpClass shows the EEClass's counts and fields (DAC: dwAttrClass 0x100001, 4 virtuals, 6 instance fields)")
    func dumpClass() throws {
        guard let (s, b) = try ObjectCommandTests.seed() else { return }
        let r = try SosRuntimes.runtime(for: s)
        let objectEEClass = try #require(r.type(r.objectMT)).eeClass
        let out = ClrFixtures.run(s, b, "!DumpClass \(SeedFacts.requestEEClass)")
        #expect(out.hasPrefix("""
            Class Name:      System.Web.Hosting.IIS7WorkerRequest
            mdToken:         0000000002000002
            File:            
            """), "\(out)")
        #expect(out.contains("""
            Parent Class:    \(Sos.p(objectEEClass))
            Module:          \(SeedFacts.appModule)
            Method Table:    \(SeedFacts.requestMT)
            Vtable Slots:    4
            Total Method Slots:  4
            Class Attributes:    100001  
            NumInstanceFields:   6
            NumStaticFields:     0
            """), "\(out)")
        // Offsets as SOS prints them (from the object start): _path at 8, _statusCode at 0x28, _startTime at 0x30.
        #expect(out.contains("  4000001        8        System.String  0 instance                  _path\n"), "\(out)")
        #expect(out.contains("  4000004       28         System.Int32  1 instance                  _statusCode\n"))
        #expect(out.contains("\(SeedFacts.dateTimeMT)  4000005       30      System.DateTime  1 instance                  _startTime\n"))
        // String: its static Empty with its value (the empty string).
        let str = ClrFixtures.run(s, b, "!DumpClass \(SeedFacts.stringEEClass)")
        #expect(str.contains("NumInstanceFields:   2\nNumStaticFields:     1\n"), "\(str)")
        #expect(str.contains("   static ") && str.hasSuffix(" Empty\n"), "\(str)")
        // Not an EEClass: a MethodTable, a string, null.
        #expect(ClrFixtures.run(s, b, "!DumpClass \(SeedFacts.requestMT)") == "Invalid EEClass address \(SeedFacts.requestMT)\n")
        #expect(ClrFixtures.run(s, b, "!DumpClass 7fb07000c9c0") == "Invalid EEClass address 00007fb07000c9c0\n")
        #expect(ClrFixtures.run(s, b, "!DumpClass 0") == "Invalid EEClass address 0000000000000000\n")
    }

    @Test("!DumpModule shows what the DAC reports for app.exe; !DumpMT and !do lead to it")
    func dumpModule() throws {
        guard let (s, b) = try ObjectCommandTests.seed() else { return }
        #expect(ClrFixtures.run(s, b, "!DumpMT \(SeedFacts.requestMT)").contains("Module:          \(SeedFacts.appModule)\n"))
        #expect(ClrFixtures.run(s, b, "!do \(SeedFacts.request)").contains("\nModule:      \(SeedFacts.appModule)\n"))
        let out = ClrFixtures.run(s, b, "!DumpModule -mt \(SeedFacts.appModule)")
        #expect(out.hasPrefix("Name: /") && out.contains("/app.exe\nAttributes:              PEFile \n"), "\(out)")
        #expect(out.contains("Assembly:                \(SeedFacts.appAssembly)\n"))
        #expect(out.contains("BaseAddress:             \(SeedFacts.appImageBase)\n"))
        #expect(out.contains("PEFile:                  \(SeedFacts.appPEFile)\n"))
        #expect(out.contains("ModuleId:                \(SeedFacts.appDomainLocalModule)\n"))
        #expect(out.contains("TypeDefToMethodTableMap: \(SeedFacts.appTypeDefMap)\n"))
        #expect(out.contains("LoaderHeap:              <not known"))
        #expect(out.contains("MetaData start address:  \(SeedFacts.appMetadata)\n"))
        #expect(out.contains("\(SeedFacts.requestMT) 0x02000002 System.Web.Hosting.IIS7WorkerRequest\n"))
        #expect(out.contains(" 0x02000006 CrashLab.AccountController+<LoginAsync>c__async0\n"))
        // CoreLib is a mapped image: metadata at base + RVA, inside the image.
        let core = ClrFixtures.run(s, b, "!DumpModule 00007fb096c54020")
        #expect(core.contains("/System.Private.CoreLib.dll\n") && core.contains("BaseAddress:             00007fb096d00000\n"), "\(core)")
        #expect(ClrFixtures.run(s, b, "!DumpModule 7fb07000c9c0") == "Invalid Module address 00007fb07000c9c0\n")
    }
}

@Suite("!Name2EE and !DumpVC")
struct NameAndValueTypeTests {
    @Test("!Name2EE finds types and methods by name, in one module or all")
    func name2ee() throws {
        guard let (s, b) = try ObjectCommandTests.seed() else { return }
        let one = ClrFixtures.run(s, b, "!Name2EE app.exe System.Web.Hosting.IIS7WorkerRequest")
        #expect(one == """
            Module:      \(SeedFacts.appModule)
            Assembly:    app.exe
            Token:       0000000002000002
            MethodTable: \(SeedFacts.requestMT)
            EEClass:     \(SeedFacts.requestEEClass)
            Name:        System.Web.Hosting.IIS7WorkerRequest

            """, "\(one)")
        #expect(ClrFixtures.run(s, b, "!Name2EE app!System.Web.Hosting.IIS7WorkerRequest") == one)
        let all = ClrFixtures.run(s, b, "!Name2EE * System.String")
        #expect(all.hasPrefix("Module:      00007fb096c54020\nAssembly:    System.Private.CoreLib.dll\nToken:       0000000002000075\n"
            + "MethodTable: \(SeedFacts.stringMT)\nEEClass:     \(SeedFacts.stringEEClass)\nName:        System.String\n"), "\(all)")
        #expect(all.contains("--------------------------------------\nModule:      \(SeedFacts.appModule)\nAssembly:    app.exe\n"))
        #expect(values(all, "MethodTable: ").count == 1)
        let ctor = ClrFixtures.run(s, b, "!Name2EE app.exe System.Web.Hosting.IIS7WorkerRequest..ctor")
        #expect(ctor.contains("Token:       0000000006000001\nMethodDesc:  00007fb0977f7a50\n"
            + "Name:        System.Web.Hosting.IIS7WorkerRequest..ctor(System.String, System.String)\nJITTED Code Address: "), "\(ctor)")
        #expect(ClrFixtures.run(s, b, "!Name2EE nosuch.dll X") == "Failed to find module nosuch.dll\n")
        // A name nothing defines: only the module lines.
        #expect(ClrFixtures.run(s, b, "!Name2EE app.exe No.Such.Type") == "Module:      \(SeedFacts.appModule)\nAssembly:    app.exe\n")
    }

    @Test("!DumpVC shows IIS7WorkerRequest._startTime (the DAC's first qword 0x48df4b03d1a57c6c)")
    func dumpVCSeed() throws {
        guard let (s, b) = try ObjectCommandTests.seed() else { return }
        let obj = ClrFixtures.run(s, b, "!do \(SeedFacts.request)")
        #expect(obj.contains("\(SeedFacts.dateTimeMT)  4000005       30      System.DateTime  1 instance \(SeedFacts.requestStartTime) _startTime\n"), "\(obj)")
        let vc = ClrFixtures.run(s, b, "!DumpVC \(SeedFacts.dateTimeMT) \(SeedFacts.requestStartTime)")
        #expect(vc.hasPrefix("Name:        System.DateTime\nMethodTable: \(SeedFacts.dateTimeMT)\n"), "\(vc)")
        #expect(vc.contains("        0        System.UInt64  1 instance \(UInt64(0x48df_4b03_d1a5_7c6c)) _dateData\n"), "\(vc)")
        #expect(ClrFixtures.run(s, b, "!DumpVC \(SeedFacts.requestMT) \(SeedFacts.request)").contains("is not a value class MethodTable"))
        #expect(ClrFixtures.run(s, b, "!DumpVC 7fb07000c9c0 0") == "00007fb07000c9c0 is not a MethodTable\n")
    }

    @Test("!DumpVC on the sample: _startTime is 2024-03-28T09:30:00Z (UTC ticks from facts.txt)")
    func dumpVCSample() throws {
        guard let (s, b) = try sampleSession() else { return }
        let facts = try sampleFacts()
        let ticks = try #require(facts["request._startTicks"].flatMap { UInt64($0) })
        let dateData = ticks | 0x4000_0000_0000_0000  // DateTimeKind.Utc in the top bits
        let requests = ClrFixtures.run(s, b, "!dumpheap -short -type System.Web.Hosting.IIS7WorkerRequest").split(separator: "\n")
        #expect(requests.count == 2)
        for request in requests {
            let obj = ClrFixtures.run(s, b, "!do \(request)")
            let row = try #require(obj.split(separator: "\n").first { $0.hasSuffix(" _startTime") }).split(separator: " ")
            let vc = ClrFixtures.run(s, b, "!DumpVC \(row[0]) \(row[row.count - 2])")
            #expect(vc.contains(" instance \(dateData) _dateData\n"), "\(vc)")
        }
    }
}
