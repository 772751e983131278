import ClrLayout
@testable import Commands
import DumpModel
import Foundation
import Testing

@Suite("SOS object and thread commands on the seed dump (no DAC)")
struct ObjectCommandTests {
    /// A loaded session on the seed dump, or nil (skip) when the dump or runtime is missing.
    static func seed() throws -> (Session, Output.Buffer)? {
        guard ClrFixtures.seedAvailable else { print("skip: ../shared/dumps is absent"); return nil }
        guard ClrFixtures.runtimeFolder != nil else { print("skip: " + ClrFixtures.skipRuntime); return nil }
        let (s, b) = try ClrFixtures.seedSessionWithSos()
        return (s, b)
    }

    /// The debugger index of the thread whose managed Thread object is named `name`.
    static func threadIndex(named name: String, _ s: Session) throws -> Int? {
        let r = try SosRuntimes.runtime(for: s)
        for t in r.threads() {
            let obj = r.objectFromHandle(t.exposedObjectHandle)
            guard obj != 0, let n = r.referenceField(obj, "_name"), n != 0, r.stringValue(n) == name else { continue }
            return s.dump.threads.firstIndex { $0.id == t.osId }
        }
        return nil
    }

    /// Object addresses in `!dso` output whose type is `type`.
    static func dsoObjects(_ text: String, type: String) -> [String] {
        text.split(separator: "\n").compactMap { line in
            let p = line.split(separator: " ", omittingEmptySubsequences: true)
            return p.count >= 3 && p[2] == type ? String(p[1]) : nil
        }
    }

    /// The Value column of a `!do` field row.
    static func fieldValue(_ text: String, _ field: String) -> String? {
        for line in text.split(separator: "\n") {
            let p = line.split(separator: " ", omittingEmptySubsequences: true)
            if p.count >= 8, p.last.map(String.init) == field { return String(p[p.count - 2]) }
        }
        return nil
    }

    @Test("the walkthrough: !dso on the worker thread, !do on IIS7WorkerRequest, _path and _httpVerb")
    func walkthrough() throws {
        guard let (s, b) = try Self.seed() else { return }
        let worker = try #require(try Self.threadIndex(named: "RequestWorker", s))
        _ = ClrFixtures.run(s, b, "~\(worker)s")
        let dso = ClrFixtures.run(s, b, "!dso")
        let tid = String(s.dump.threads[worker].id, radix: 16)
        #expect(dso.hasPrefix("OS Thread Id: 0x\(tid) (\(worker))\nRSP/REG          Object           Name\n"), "\(dso)")
        let requests = Self.dsoObjects(dso, type: "System.Web.Hosting.IIS7WorkerRequest")
        #expect(!requests.isEmpty, "\(dso)")
        let request = try #require(requests.first)
        let obj = ClrFixtures.run(s, b, "!do \(request)")
        #expect(obj.hasPrefix("Name:        System.Web.Hosting.IIS7WorkerRequest\nMethodTable: "), "\(obj)")
        #expect(obj.contains("Size:        64(0x40) bytes\n"))
        #expect(obj.contains("              MT    Field   Offset                 Type VT     Attr            Value Name\n"))
        #expect(obj.contains("System.Int32  1 instance              200 _statusCode"), "\(obj)")
        let path = try #require(Self.fieldValue(obj, "_path"))
        let verb = try #require(Self.fieldValue(obj, "_httpVerb"))
        let query = try #require(Self.fieldValue(obj, "_queryString"))
        #expect(ClrFixtures.run(s, b, "!do \(path)").contains("\nString:      /Account/Login\n"))
        #expect(ClrFixtures.run(s, b, "!DumpObj \(verb)").contains("\nString:      POST\n"))
        #expect(ClrFixtures.run(s, b, "!DumpObject -nofields \(query)").hasSuffix("String:      ReturnUrl=%2F\n"))
    }

    @Test("!pe on the crashing thread shows the NullReferenceException, its message and stack")
    func printException() throws {
        guard let (s, b) = try Self.seed() else { return }
        let r = try SosRuntimes.runtime(for: s)
        let faulting = try #require(r.threads().first { $0.lastThrownHandle != 0 })
        #expect(faulting.osId == 14353)
        let index = try #require(s.dump.threads.firstIndex { $0.id == faulting.osId })
        _ = ClrFixtures.run(s, b, "~\(index)s")
        let pe = ClrFixtures.run(s, b, "!pe")
        #expect(pe.contains("Exception type:   System.NullReferenceException\n"), "\(pe)")
        #expect(pe.contains("Message:          Object reference not set to an instance of an object.\n"))
        #expect(pe.contains("InnerException:   <none>\n"))
        #expect(pe.contains("    SP               IP               Function\n"))
        #expect(pe.contains("app.exe!CrashLab.AccountController+<LoginAsync>c__async0.MoveNext()"))
        #expect(pe.contains("System.Private.CoreLib.dll!System.Threading.Tasks.Task+<>c.<ThrowAsync>b__139_1(System.Object)"))
        #expect(pe.hasSuffix("HResult: 80004003\n"))
        // A thread without an exception.
        _ = ClrFixtures.run(s, b, "~0s")
        #expect(ClrFixtures.run(s, b, "!pe") == "There is no current managed exception on this thread\n")
    }

    @Test("!Threads lists the ThreadStore's threads")
    func threads() throws {
        guard let (s, b) = try Self.seed() else { return }
        let out = ClrFixtures.run(s, b, "!Threads")
        #expect(out.hasPrefix("ThreadCount:      6\nUnstartedThread:  0\nBackgroundThread: 5\n"), "\(out)")
        #expect(out.contains("(Finalizer)"))
        #expect(out.contains("System.NullReferenceException 00007fb07023c148"))
        #expect(out.split(separator: "\n").count == 8 + 6)
    }

    @Test("!DumpArray, !DumpMT and !eeheap -gc")
    func arraysAndTables() throws {
        guard let (s, b) = try Self.seed() else { return }
        let heap = ClrFixtures.run(s, b, "!eeheap -gc")
        #expect(heap.contains("00007fb06fffe000  00007fb06ffff000  00007fb07024bfe8  0x24cfe8(2412520)\n"), "\(heap)")
        #expect(heap.contains("GC Heap Size:            Size: 0x28e3a8 (2679720) bytes.\n"))
        let list = ClrFixtures.run(s, b, "!dumpheap -type System.String[,]")
        let arr = try #require(list.split(separator: "\n").dropFirst().first?.split(separator: " ").first.map(String.init))
        let da = ClrFixtures.run(s, b, "!da \(arr)")
        #expect(da.contains("Array:       Rank 2, Number of elements 32, Type CLASS\n"), "\(da)")
        let mt = ClrFixtures.run(s, b, "!DumpMT 7fb0977f7a80")
        #expect(mt.contains("Name:            System.Web.Hosting.IIS7WorkerRequest\n"))
        #expect(mt.contains("mdToken:         0000000002000002\n"))
        #expect(mt.contains("BaseSize:        0x40\n"))
    }

    @Test("bad data gives <invalid>-style answers, never a crash")
    func badData() throws {
        guard let (s, b) = try Self.seed() else { return }
        // A MethodTable address taken as an object: its first word is flags, not a MethodTable.
        #expect(ClrFixtures.run(s, b, "!do 7fb0977f7a80") == "<Note: this object has an invalid CLASS field>\nInvalid object\n")
        // The middle of a string: the "MethodTable" is character data.
        #expect(ClrFixtures.run(s, b, "!do 7fb07000c9c4").contains("Invalid object"))
        #expect(ClrFixtures.run(s, b, "!do 0").hasPrefix("Invalid object address"))
        #expect(ClrFixtures.run(s, b, "!DumpMT 7fb07000c9c0") == "00007fb07000c9c0 is not a MethodTable\n")
        #expect(ClrFixtures.run(s, b, "!pe 7fb07000c9c0") == "Not a valid exception object\n")
        #expect(ClrFixtures.run(s, b, "!da 7fb07000c9c0") == "Not an array, please use !DumpObj instead\n")
    }

    @Test("identity: an app.exe that is not the dump's is passed over for the image the dump holds")
    func wrongAppRefused() throws {
        guard ClrFixtures.seedAvailable else { print("skip: ../shared/dumps is absent"); return }
        guard ClrFixtures.runtimeFolder != nil else { print("skip: " + ClrFixtures.skipRuntime); return }
        let other = ClrFixtures.samplesFolder
        guard FileManager.default.fileExists(atPath: other + "/app.exe") else { print("skip: no sample app.exe"); return }
        // The sample's app.exe (another build) in place of the seed's. The dump's own folder is searched
        // too and holds the right app.exe, so the dump is linked beside the wrong one.
        let folder = try ClrFixtures.linkFolder([other], files: ["app.exe"])
        try FileManager.default.createSymbolicLink(atPath: folder + "/seed.core.xz", withDestinationPath: ClrFixtures.seedDump)
        let (s, b) = try ClrFixtures.session(dump: folder + "/seed.core.xz", appFolder: folder)
        _ = ClrFixtures.run(s, b, ".loadby sos clr")
        // The dump holds app.exe's image, so its metadata is read there and the wrong file is never used.
        let out = ClrFixtures.run(s, b, "!DumpMT 7fb0977f7a80")
        #expect(out.contains("Name:            System.Web.Hosting.IIS7WorkerRequest\n"), "\(out)")
        let app = try #require(try SosRuntimes.runtime(for: s).allModules().first { $0.fileName == "app.exe" })
        #expect(app.metadataFromDump && app.identityNote.contains(": not this build)"), "\(app.identityNote)")
        // With the right one also on the path, the right one is taken wherever it is in the order.
        s.imagePath = s.imagePath + [ClrFixtures.seedFolder]
        #expect(ClrFixtures.run(s, b, "!DumpMT 7fb0977f7a80").contains("Name:            System.Web.Hosting.IIS7WorkerRequest\n"))
    }

    @Test(".exepath shows and sets the image path")
    func exePath() throws {
        guard ClrFixtures.seedAvailable else { print("skip: ../shared/dumps is absent"); return }
        let (s, b) = try ClrFixtures.session(dump: ClrFixtures.seedDump, appFolder: ClrFixtures.seedFolder)
        // (A `;` on the command line separates commands in the session, so set one folder, then append.)
        #expect(ClrFixtures.run(s, b, ".exepath /a") == "Executable image search path is: /a\n")
        #expect(ClrFixtures.run(s, b, ".exepath+ /b") == "Executable image search path is: /a;/b\n")
        #expect(ClrFixtures.run(s, b, ".exepath+ /c") == "Executable image search path is: /a;/b;/c\n")
        #expect(s.imagePath == ["/a", "/b", "/c"])
    }
}

@Suite("SOS commands on the project's own sample dump")
struct SampleDumpTests {
    @Test("the faulting thread's !dso holds the request; !do shows /Account/Login and POST")
    func sampleWalkthrough() throws {
        let dump = ClrFixtures.samplesFolder + "/linux-3.1.core.xz"
        guard FileManager.default.fileExists(atPath: dump) else { print("skip: no sample dump at \(dump)"); return }
        guard ClrFixtures.runtimeFolder != nil else { print("skip: " + ClrFixtures.skipRuntime); return }
        let (s, b) = try ClrFixtures.session(dump: dump, appFolder: ClrFixtures.samplesFolder)
        let load = ClrFixtures.run(s, b, ".cordll")
        #expect(load.contains("CLR runtime: libcoreclr.so 3.1.23"), "\(load)")
        let r = try SosRuntimes.runtime(for: s)
        let faulting = try #require(r.threads().first { $0.lastThrownHandle != 0 })
        let index = try #require(s.dump.threads.firstIndex { $0.id == faulting.osId })
        _ = ClrFixtures.run(s, b, "~\(index)s")
        #expect(ClrFixtures.run(s, b, "!pe").contains("Exception type:   System.NullReferenceException\n"))
        let dso = ClrFixtures.run(s, b, "!dso")
        let request = try #require(ObjectCommandTests.dsoObjects(dso, type: "System.Web.Hosting.IIS7WorkerRequest").first, "\(dso)")
        let obj = ClrFixtures.run(s, b, "!do \(request)")
        let path = try #require(ObjectCommandTests.fieldValue(obj, "_path"), "\(obj)")
        let verb = try #require(ObjectCommandTests.fieldValue(obj, "_httpVerb"))
        #expect(ClrFixtures.run(s, b, "!do \(path)").contains("\nString:      /Account/Login\n"))
        #expect(ClrFixtures.run(s, b, "!do \(verb)").contains("\nString:      POST\n"))
    }
}
