import ClrLayout
@testable import Commands
import DumpModel
import Foundation
import TestSupport
import Testing

/// The project's own AsyncCrash sample (Samples/clr/AsyncCrash.cs), one app.exe dumped on three runtimes:
/// .NET Core 3.1.23 and .NET 8.0.4 on Linux (bundled in Samples/dumps/async-crash), and .NET Core 3.1.23 for
/// Windows under Wine (108 MB raw, too big for git: `Samples/install-deps.sh --tests` makes it into the cache,
/// as CI does). Every check is against what the program wrote about itself (FACT lines) before it crashed.
enum AsyncCrashSample {
    enum Target: String, CaseIterable, CustomTestStringConvertible, Sendable {
        case linux31 = "linux-3.1", linux80 = "linux-8.0", windows31 = "windows-3.1"
        /// The same program run with server GC (one GC heap per core).
        case linux31Server = "linux-3.1-server", linux80Server = "linux-8.0-server", windows31Server = "windows-3.1-server"
        var testDescription: String { rawValue }

        var isServerGC: Bool { rawValue.hasSuffix("-server") }
        var isWindows: Bool { self == .windows31 || self == .windows31Server }
        /// The target the dump's file names use.
        var fileStem: String { isServerGC ? String(rawValue.dropLast("-server".count)) : rawValue }
        /// The folder with the dump, its facts and app.exe.
        var folder: String {
            switch self {
            case .windows31: AsyncCrashSample.windowsFolder
            case .linux31Server, .linux80Server, .windows31Server: AsyncCrashSample.serverFolder
            case .linux31, .linux80: ClrFixtures.samplesFolder
            }
        }
        var dump: String { folder + (isWindows ? "/windows-3.1.mdmp.xz" : "/\(fileStem).core.xz") }
        /// Linux dumps need the runtime's own files; the Windows one needs none (CoreLib's metadata is in the dump).
        var runtimeNeeded: String? {
            if isWindows { return "" }
            if runtimeFolder != nil { return "" }
            return clrVersion == "8.0.4" ? "no .NET 8.0.4 runtime: run Samples/install-deps.sh (or set DUMPDBG_RUNTIME_8_0)" : ClrFixtures.skipRuntime
        }
        var runtimeFolder: String? {
            switch self {
            case .linux31, .linux31Server: installedRuntime31()
            case .linux80, .linux80Server: installedRuntime80()
            case .windows31, .windows31Server: nil
            }
        }
        var clrVersion: String { self == .linux80 || self == .linux80Server ? "8.0.4" : "3.1.23" }
    }

    static var sampleCache: String {
        (ProcessInfo.processInfo.environment["XDG_CACHE_HOME"] ?? (NSHomeDirectory() + "/.cache")) + "/dumpdbg-samples"
    }
    /// Where Samples/install-deps.sh --tests puts the Windows dump (DUMPDBG_SAMPLES_WINDOWS overrides it).
    static var windowsFolder: String {
        if let dir = ProcessInfo.processInfo.environment["DUMPDBG_SAMPLES_WINDOWS"], !dir.isEmpty { return dir }
        return sampleCache + "/async-crash"
    }
    /// Where Samples/install-deps.sh --tests puts the server-GC dumps (DUMPDBG_SAMPLES_SERVER overrides it).
    static var serverFolder: String {
        if let dir = ProcessInfo.processInfo.environment["DUMPDBG_SAMPLES_SERVER"], !dir.isEmpty { return dir }
        return sampleCache + "/server/async-crash"
    }

    /// The targets whose dump and runtime are here; each missing one is named once, with how to get it.
    static let available: [Target] = Target.allCases.filter { t in
        guard FileManager.default.fileExists(atPath: t.dump) else {
            print("skip AsyncCrash \(t.rawValue): no dump at \(t.dump)"
                  + (t.isWindows ? " (Samples/install-deps.sh --tests makes it under Wine)" : t.isServerGC ? " (Samples/install-deps.sh --tests makes it)" : ""))
            return false
        }
        if let why = t.runtimeNeeded, !why.isEmpty { print("skip AsyncCrash \(t.rawValue): \(why)"); return false }
        return true
    }

    static func facts(_ t: Target) throws -> [String: String] { try SampleFacts.read(t.folder + "/\(t.fileStem).facts.txt") }

    /// A session on the target's dump with its runtime and app.exe on the image path; `loadSos` runs `.loadby sos clr`.
    static func session(_ t: Target, loadSos: Bool = true) throws -> (Session, Output.Buffer) {
        setenv("DUMPDBG_CACHE", ClrFixtures.cacheDirectory, 1)
        let buffer = Output.Buffer()
        let s = Session(dump: try DumpLoader.open(path: t.dump).dump, output: Output(sink: { buffer.append($0) }))
        var path: [String] = []
        if let r = t.runtimeFolder { path.append(try ClrFixtures.linkFolder([r])) }
        path.append(try ClrFixtures.linkFolder([t.folder], files: ["app.exe"]))
        s.imagePath = path
        if loadSos { _ = ClrFixtures.run(s, buffer, ".loadby sos clr") }
        return (s, buffer)
    }

    /// What dumpdbg reads of the program's own data, addresses left out: equal on every runtime.
    struct Reader {
        let s: Session, b: Output.Buffer
        func run(_ line: String) -> String { ClrFixtures.run(s, b, line) }

        /// The Value column of an instance field's `!do` row (the header row also ends in "Name").
        func field(_ obj: String, _ name: String) throws -> String {
            let out = run("!do \(obj)")
            let row = out.split(separator: "\n").map { $0.split(separator: " ") }.first { $0.last.map(String.init) == name && $0.contains("instance") }
            return try #require(row.map { String($0[$0.count - 2]) }, "\(name) of \(obj): \(out)")
        }
        func string(_ obj: String) throws -> String {
            if obj == "0000000000000000" { return "<null>" }
            let out = run("!do \(obj)")
            let line = try #require(out.split(separator: "\n", omittingEmptySubsequences: false).first { $0.hasPrefix("String:      ") }, "\(out)")
            return String(line.dropFirst("String:      ".count))
        }
        func stringField(_ obj: String, _ name: String) throws -> String { try string(try field(obj, name)) }
        /// The static's value, through !Name2EE and !DumpClass.
        func staticField(_ type: String, _ name: String) throws -> String {
            let n2ee = run("!Name2EE app.exe \(type)")
            let eeClass = try #require(values(n2ee, "EEClass:     ").first, "\(n2ee)")
            let cls = run("!DumpClass \(eeClass)")
            let row = try #require(cls.split(separator: "\n").first { $0.hasSuffix(" \(name)") && $0.contains(" static ") }, "\(cls)")
            return String(row.split(separator: " ").dropLast().last!)
        }
        /// Element `i` of a reference array, through !da (its -start is an expression, hex by default, as in SOS).
        func element(_ array: String, _ i: Int) throws -> String {
            let out = run("!da -start 0n\(i) -length 1 \(array)")
            let row = try #require(out.split(separator: "\n").first { $0.hasPrefix("[\(i)] ") }, "\(out)")
            return String(row.split(separator: " ")[1])
        }
        /// A value-type field's named fields, through !DumpVC.
        func structField(_ obj: String, _ name: String, _ inner: [String]) throws -> [String] {
            let out = run("!do \(obj)")
            let row = try #require(out.split(separator: "\n").first { $0.hasSuffix(" \(name)") }, "\(out)").split(separator: " ")
            let vc = run("!DumpVC \(row[0]) \(row[row.count - 2])")
            return try inner.map { try #require(ObjectCommandTests.fieldValue(vc, $0), "\(vc)") }
        }

        func order(_ arr: String, _ i: Int) throws -> String {
            let o = try element(arr, i)
            let customer = try field(o, "Customer")
            return "Id=\(try field(o, "Id")) Sku=\(try stringField(o, "Sku")) Amount=\(try field(o, "Amount")) "
                + "Quantity=\(try field(o, "Quantity")) Flags=\(try field(o, "Flags")) IsPaid=\(try field(o, "IsPaid") == "1" ? "True" : "False") "
                + "Customer.Name=\(try stringField(customer, "Name"))"
        }
        func customer(_ arr: String, _ i: Int) throws -> String {
            let c = try element(arr, i)
            let loc = try structField(c, "Location", ["X", "Y"])
            return "Name=\(try stringField(c, "Name")) Email=\(try stringField(c, "Email")) Id=\(try field(c, "Id")) Location.X=\(loc[0]) Location.Y=\(loc[1])"
        }
        /// The request (by its _path) as facts.txt spells it.
        func request(_ obj: String) throws -> [String: String] {
            var out: [String: String] = [:]
            for f in ["_path", "_httpVerb", "_queryString"] { out[f] = try stringField(obj, f) }
            for f in ["_statusCode", "_contentLength", "_startTicks"] { out[f] = try field(obj, f) }
            out["_isSecure"] = try field(obj, "_isSecure") == "1" ? "True" : "False"
            let headers = try field(obj, "_headers")
            out["_headers.count"] = String((Int(try field(headers, "_count")) ?? -1) - (Int(try field(headers, "_freeCount")) ?? -1))
            return out
        }
    }
}

@Suite("The AsyncCrash sample on each runtime: part-1 SOS commands against the program's facts")
struct AsyncCrashSampleTests {
    static let targets = AsyncCrashSample.available

    @Test(arguments: targets)
    func eeversionNamesTheRuntimeTheProgramRanOn(_ t: AsyncCrashSample.Target) throws {
        let facts = try AsyncCrashSample.facts(t)
        #expect(facts["clr_version"] == t.clrVersion)
        let (s, b) = try AsyncCrashSample.session(t)
        let v = ClrFixtures.run(s, b, "!eeversion")
        // A server-GC run on a one-core machine gets workstation GC: the dumps here were made on more cores.
        let mode = t.isServerGC ? "Server mode" : "Workstation mode"
        #expect(v.contains("(.NET \(t.clrVersion), \(t.isWindows ? "coreclr.dll" : "libcoreclr.so"))\n\(mode)\n"), "\(v)")
        #expect(v.contains(t.clrVersion == "8.0.4" ? "GC heap: regions\n" : "GC heap: segments\n"), "\(v)")
    }

    /// Server GC: one heap per core, each with its own segments (or regions) and finalization queue, in SOS's
    /// per-heap layout; the heap walk covers them all (the DAC's counts, in OracleOnSampleTests).
    @Test(arguments: targets.filter(\.isServerGC))
    func serverGCListsEachHeap(_ t: AsyncCrashSample.Target) throws {
        let (s, b) = try AsyncCrashSample.session(t)
        let r = try SosRuntimes.runtime(for: s)
        let heaps = try r.gcHeapInfos()
        #expect(heaps.count >= 2, "\(t): \(heaps.count) heaps")
        #expect(Set(heaps.map(\.address)).count == heaps.count && heaps.allSatisfy { $0.address != 0 && $0.finalizeQueue != 0 })
        let eeheap = ClrFixtures.run(s, b, "!eeheap -gc")
        #expect(eeheap.hasPrefix("Number of GC Heaps: \(heaps.count)\n------------------------------\nHeap 0 (\(Sos.p(heaps[0].address)))\n"), "\(eeheap)")
        for h in heaps { #expect(eeheap.contains("\nHeap \(h.index) (\(Sos.p(h.address)))\n"), "\(eeheap)") }
        if t.clrVersion == "3.1.23" {
            #expect(eeheap.components(separatedBy: "\nHeap Size:               Size: 0x").count == heaps.count + 1, "\(eeheap)")
            #expect(eeheap.contains("------------------------------\nGC Heap Size:            Size: 0x"), "\(eeheap)")
        }
        // Every segment belongs to one heap, and objects on every heap are walked.
        let heap = try SosRuntimes.heap(for: s).1
        var perHeap = [Int: Int]()
        heap.enumerateObjects { o in
            if let seg = heap.segment(containing: o.address) { perHeap[seg.heap, default: 0] += 1 }
            return true
        }
        #expect(perHeap.count == heaps.count, "\(t): objects per heap \(perHeap)")
        let fq = ClrFixtures.run(s, b, "!FinalizeQueue")
        for h in heaps { #expect(fq.contains("------------------------------\nHeap \(h.index)\ngeneration 0 has "), "\(fq)") }
    }

    /// The parallel tally (what `!dumpheap -stat` prints) counts exactly what the object-by-object walk visits,
    /// with one worker and with several.
    @Test(arguments: targets)
    func tallyEqualsTheObjectWalk(_ t: AsyncCrashSample.Target) throws {
        let (s, _) = try AsyncCrashSample.session(t)
        let heap = try SosRuntimes.heap(for: s).1
        var walked = [UInt64: (count: Int, size: UInt64)]()
        heap.enumerateObjects { o in
            walked[o.methodTable, default: (0, 0)].count += 1
            walked[o.methodTable, default: (0, 0)].size += o.size
            return true
        }
        let problems = heap.walkProblems
        for workers in [1, 3] {
            let tally = heap.tally(workers: workers)
            #expect(!tally.stopped && tally.problems == problems)
            #expect(tally.entries.count == walked.count, "\(t), \(workers) workers")
            for e in tally.entries {
                #expect(walked[e.methodTable]?.count == e.count && walked[e.methodTable]?.size == e.size, "\(t): MT \(e.methodTable)")
            }
        }
        #expect(heap.tally(shouldStop: { true }).stopped)
    }

    @Test(arguments: targets)
    func dumpheapStatCountsEveryTypeTheProgramCounted(_ t: AsyncCrashSample.Target) throws {
        let facts = try AsyncCrashSample.facts(t)
        let (s, b) = try AsyncCrashSample.session(t)
        let rows = StatRow.parse(ClrFixtures.run(s, b, "!dumpheap -stat"))
        let counted = facts.filter { $0.key.hasPrefix("type.") && $0.key.hasSuffix(".count") }
        #expect(counted.count >= 9)
        for (key, want) in counted {
            let name = String(key.dropFirst("type.".count).dropLast(".count".count))
            #expect(rows.first { $0.name == name }?.count ?? 0 == Int(want), "\(name) on \(t)")
        }
    }

    @Test(arguments: targets)
    func staticsArraysAndFieldValuesAreWhatTheProgramStored(_ t: AsyncCrashSample.Target) throws {
        let facts = try AsyncCrashSample.facts(t)
        let (s, b) = try AsyncCrashSample.session(t)
        let r = AsyncCrashSample.Reader(s: s, b: b)
        let orders = try r.staticField("Samples.Store", "Orders")
        let customers = try r.staticField("Samples.Store", "Customers")
        let points = try r.staticField("Samples.Store", "Points")
        for (arr, key) in [(orders, "Orders"), (customers, "Customers"), (points, "Points")] {
            // FACT static.Samples.Store.Orders=Samples.Order[1234]
            let want = try #require(facts["static.Samples.Store.\(key)"])
            let elementType = String(want.prefix { $0 != "[" }), length = want.dropFirst(elementType.count + 1).dropLast()
            let da = r.run("!do \(arr)")
            #expect(da.contains("Name:        \(elementType)[]\n"), "\(da)")
            #expect(da.contains("Number of elements \(length), Type "), "\(da)")
        }
        for i in [0, 1, 617, 1233] { #expect(try r.order(orders, i) == facts["order[\(i)]"], "order \(i) on \(t)") }
        for i in [0, 76] { #expect(try r.customer(customers, i) == facts["customer[\(i)]"], "customer \(i) on \(t)") }
        // Value-type elements: !da -details shows each Point's X and Y.
        let details = r.run("!da -details -start 3 -length 1 \(points)")
        #expect(ObjectCommandTests.fieldValue(details, "X") == "30" && ObjectCommandTests.fieldValue(details, "Y") == "4", "\(details)")
        #expect(facts["point[3]"] == "X=30 Y=4")
        // -start is hex unless marked, as SOS's GetExpression reads it: 10 is the end of Point[16], 0n17 is past it.
        let atEnd = r.run("!da -start 10 \(points)")
        #expect(atEnd.contains("Number of elements 16") && !atEnd.contains("\n["), "\(atEnd)")
        #expect(r.run("!da -start 0n17 \(points)") == "Start index out of range\n")
        #expect(r.run("!da -nofields -start f \(points)").hasPrefix("-nofields has no effect unless -details is specified\nName:        Samples.Point[]\n"))
    }

    @Test(arguments: targets)
    func threadsExceptionAndTheCrashingRequest(_ t: AsyncCrashSample.Target) throws {
        let facts = try AsyncCrashSample.facts(t)
        let (s, b) = try AsyncCrashSample.session(t)
        let r = AsyncCrashSample.Reader(s: s, b: b)
        // !threads: each named thread with its managed id; the crash thread holds the exception.
        let threads = r.run("!threads").split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        for name in ["KeepAliveWorker", "RequestWorker"] {
            let osid = try #require(facts["thread.\(name).os_tid_hex"]).lowercased()
            let row = try #require(threads.first { $0.count > 3 && $0[2].lowercased() == osid }, "\(name) on \(t)")
            #expect(row[1] == facts["thread.\(name).managed_id"], "\(name) on \(t): \(row)")
            #expect(row.contains("System.NullReferenceException") == (name == facts["crash.thread"]), "\(row)")
        }
        // The event thread is the crashing one, on every runtime (createdump's SIGABRT; Wine's missing exception stream).
        #expect(s.thread.map { String($0.id, radix: 16) } == facts["crash.os_tid_hex"]?.lowercased(), "\(t)")
        let pe = r.run("!pe")
        #expect(pe.contains("Exception type:   \(facts["exception.type"] ?? "?")\n"), "\(pe)")
        #expect(pe.contains("Message:          \(facts["exception.message"] ?? "?")\n"))
        let thrownIn = try #require(facts["exception.thrown_in"]).prefix { $0 != "(" }   // Samples.AccountController.LoginAsync
        #expect(pe.contains("app.exe!Samples.AccountController+<LoginAsync>") && thrownIn.hasSuffix(".LoginAsync"), "\(pe)")
        #expect(pe.contains("!\(facts["exception.rethrown_via"] ?? "?")("), "\(pe)")
        // The walkthrough: !dso on the crash thread holds the request; its fields are the program's.
        let dso = r.run("!dso")
        let requests = ObjectCommandTests.dsoObjects(dso, type: "System.Web.Hosting.IIS7WorkerRequest")
        let request = try #require(requests.first, "\(dso)")
        let seen = try r.request(request)
        for (f, v) in seen { #expect(facts["request.\(f)"] == v, "request.\(f) on \(t)") }
        #expect(seen.count == 8)
        // The other request (the keep-alive thread's) from the heap.
        let all = r.run("!dumpheap -short -type System.Web.Hosting.IIS7WorkerRequest").split(separator: "\n").map(String.init)
        #expect(all.count == 2 && all.contains(request))
        let other = try r.request(try #require(all.first { $0 != request }))
        for (f, v) in other { #expect(facts["keepalive_request.\(f)"] == v, "keepalive_request.\(f) on \(t)") }
    }

    /// The rest of part 1 on every runtime: !Name2EE → !DumpMT -md → !DumpClass → !DumpModule, !dumpheap's filters,
    /// !pe -nested, each answering for the program's own types.
    @Test(arguments: targets)
    func typeModuleAndHeapFilterCommands(_ t: AsyncCrashSample.Target) throws {
        let facts = try AsyncCrashSample.facts(t)
        let (s, b) = try AsyncCrashSample.session(t)
        let r = AsyncCrashSample.Reader(s: s, b: b)
        let n2ee = r.run("!Name2EE app.exe Samples.Order")
        let mt = try #require(values(n2ee, "MethodTable: ").first, "\(n2ee)")
        let module = try #require(values(n2ee, "Module:      ").first)
        #expect(n2ee.contains("Token:       0000000002000"), "\(n2ee)")
        // !DumpMT -md: the type, its module, Object's four virtuals and its constructor, which ran (1234 orders).
        let dumpmt = r.run("!DumpMT -md \(mt)")
        #expect(dumpmt.contains("Name:            Samples.Order\n") && dumpmt.contains("Module:          \(module)\n"), "\(t): \(dumpmt)")
        #expect(dumpmt.contains("BaseSize:        0x30\n"), "\(t): \(dumpmt)")
        #expect(dumpmt.contains(" Samples.Order..ctor()\n"), "\(t): \(dumpmt)")
        // Store.Fill ran once (its trivial constructors may have been inlined into it, so they can show NONE).
        let store = try #require(values(r.run("!Name2EE app.exe Samples.Store"), "MethodTable: ").first)
        let fill = try #require(r.run("!DumpMT -md \(store)").split(separator: "\n").first { $0.hasSuffix(" Samples.Store.Fill()") }, "\(t)")
        #expect(fill.contains(" JIT "), "\(t): \(fill)")
        // !DumpClass: seven instance fields, no statics.
        let eeClass = try #require(values(dumpmt, "EEClass:         ").first)
        let cls = r.run("!DumpClass \(eeClass)")
        #expect(cls.contains("NumInstanceFields:   7\nNumStaticFields:     0\n"), "\(t): \(cls)")
        #expect(cls.contains(" Sku\n") && cls.contains(" IsPaid\n"), "\(t): \(cls)")
        // !DumpModule: app.exe, with its metadata and maps.
        let dm = r.run("!DumpModule \(module)")
        #expect(dm.contains("Name: ") && dm.contains("app.exe"), "\(t): \(dm)")
        #expect(dm.contains("TypeDefToMethodTableMap:") && dm.contains("MetaData start address:"), "\(t): \(dm)")
        // !dumpheap's filters: -mt -short, -type -stat, -min/-max around Order's 48 bytes, -strings.
        let orders = r.run("!dumpheap -mt \(mt) -short").split(separator: "\n")
        #expect(orders.count == Int(facts["type.Samples.Order.count"] ?? "") ?? -1, "\(t)")
        let typed = StatRow.parse(r.run("!dumpheap -type Samples.Order -stat"))
        #expect(typed.map(\.name).sorted() == ["Samples.Order", "Samples.Order[]"], "\(t): \(typed)")
        let sized = StatRow.parse(r.run("!dumpheap -type Samples. -min 0n48 -max 0n48 -stat"))
        #expect(sized.first { $0.name == "Samples.Order" }?.count == 1234 && !sized.contains { $0.name == "Samples.Order[]" }, "\(t): \(sized)")
        let strings = r.run("!dumpheap -strings")
        #expect(strings.contains(" SKU-00617\n") && strings.contains(" customer-76\n"), "\(t)")
        // !pe -nested on the crash thread's exception: the program's NullReferenceException, no inner one.
        let pe = r.run("!pe -nested")
        #expect(pe.contains("Exception type:   System.NullReferenceException\n") && pe.contains("InnerException:   <none>\n"), "\(t): \(pe)")
    }

    /// SOS's MT column names the field's exact type where the runtime loaded it, even when no object leads there:
    /// List<KeyValuePair<SendOrPostCallback, Object>>'s `_items` is typed `!0[]`, i.e. KeyValuePair<__Canon,__Canon>[]
    /// in the shared code's context, an array found only in CoreLib's table of constructed types.
    @Test(arguments: targets)
    func fieldTypesOfSharedGenericCodeAreTheLoadedConstructedTypes(_ t: AsyncCrashSample.Target) throws {
        let (s, b) = try AsyncCrashSample.session(t)
        let r = AsyncCrashSample.Reader(s: s, b: b)
        let context = try #require(r.run("!dumpheap -short -type System.Web.LegacyAspNetSynchronizationContext").split(separator: "\n").first)
        let queue = try r.field(String(context), "_queue")
        let list = r.run("!do \(queue)")
        let items = try #require(list.split(separator: "\n").first { $0.hasSuffix(" _items") && $0.contains(" instance ") }, "\(list)")
        let mt = String(items.prefix(16))
        #expect(mt != "0000000000000000", "\(t): \(items)")
        #expect(items.contains(" ...ivate.CoreLib]][] "), "\(t): \(items)")
        let dumpmt = r.run("!DumpMT \(mt)")
        #expect(dumpmt.contains("Name:            System.Collections.Generic.KeyValuePair`2[[System.__Canon, System.Private.CoreLib],[System.__Canon, System.Private.CoreLib]][]\n"), "\(t): \(dumpmt)")
        // No object has that type: it comes from the runtime's own table.
        #expect(!r.run("!dumpheap -stat").contains(" KeyValuePair`2[[System.__Canon"), "\(t)")
    }

    /// The issue's cross-runtime check: one program, three runtimes, the same answers.
    @Test func theThreeRuntimesGiveTheSameCountsAndValues() throws {
        guard Self.targets.count >= 2 else { print("skip: fewer than two AsyncCrash targets here"); return }
        var seen: [AsyncCrashSample.Target: String] = [:]
        for t in Self.targets {
            let (s, b) = try AsyncCrashSample.session(t)
            let r = AsyncCrashSample.Reader(s: s, b: b)
            // The program's own types (the async state machine's box is the runtime's, and differs by version).
            let counts = StatRow.parse(r.run("!dumpheap -stat -type Samples."))
                .filter { !$0.name.contains("c__async") && !$0.name.contains("AsyncStateMachineBox") }
                .map { "\($0.name) \($0.count) \($0.size)" }.sorted()
            let orders = try r.staticField("Samples.Store", "Orders"), customers = try r.staticField("Samples.Store", "Customers")
            var lines = counts
            for i in stride(from: 0, to: 1234, by: 97) { lines.append(try r.order(orders, i)) }
            for i in stride(from: 0, to: 77, by: 11) { lines.append(try r.customer(customers, i)) }
            for req in r.run("!dumpheap -short -type System.Web.Hosting.IIS7WorkerRequest").split(separator: "\n") {
                lines.append(try r.request(String(req)).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
            }
            seen[t] = lines.sorted().joined(separator: "\n")
        }
        let first = try #require(Self.targets.first)
        #expect(seen[first]!.split(separator: "\n").count > 20)
        for t in Self.targets.dropFirst() { #expect(seen[t] == seen[first], "\(t) differs from \(first)") }
    }
}
