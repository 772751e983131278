@testable import ClrLayout
@testable import Commands
import DumpModel
import Foundation
import TestSupport
import Testing

/// The DAC oracle (../shared/labs/dac-oracle, built here with gcc) reads the project's own bundled sample
/// through the runtime's DAC; dumpdbg's `!dumpheap -stat`, which never loads the DAC, must agree with it
/// type by type. The oracle is a test oracle only.
enum DacOracle {
    static let source = ClrFixtures.shared.appendingPathComponent("labs/dac-oracle/dac-oracle.c").path

    /// Built once per test run; nil (with the reason) when it cannot be built here.
    static let binary: Result<String, OracleUnavailable> = {
        guard FileManager.default.fileExists(atPath: source) else { return .failure(.init(reason: "\(source) is absent")) }
        let out = scratchPath("dac-oracle")
        // The shared oracle asks GetGCHeapList for 1024 heaps, which the DAC refuses (E_INVALIDARG unless the count
        // is n_heaps): the copy compiled here asks for the heap count GetGCHeapData gave.
        guard let text = try? String(contentsOfFile: source, encoding: .utf8) else { return .failure(.init(reason: "\(source) is not readable")) }
        let fixed = scratchPath("dac-oracle.c")
        do {
            try text.replacingOccurrences(of: "GetGCHeapList(g_sos, 1024, heaps, &n)", with: "GetGCHeapList(g_sos, gd.HeapCount, heaps, &n)")
                .write(toFile: fixed, atomically: true, encoding: .utf8)
        } catch { return .failure(.init(reason: "cannot write \(fixed): \(error)")) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["gcc", "-O2", "-o", out, fixed, "-ldl"]
        do { try p.run() } catch { return .failure(.init(reason: "gcc cannot run: \(error)")) }
        p.waitUntilExit()
        return p.terminationStatus == 0 ? .success(out) : .failure(.init(reason: "gcc could not build dac-oracle"))
    }()

    struct OracleUnavailable: Error { let reason: String }

    static func stat(core: String, runtime: String, search: String) throws -> String {
        try run([core, runtime, "--search", search, "--stat", "--walk", "raw"])
    }

    /// The oracle's standard output for `arguments`.
    static func run(_ arguments: [String]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try binary.get())
        p.arguments = arguments
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}

/// The oracle reads Linux cores only (it loads libmscordaccore.so of 3.1.23 or 8.0.4).
@Suite("dumpdbg agrees with the runtime's own DAC on the project's sample dumps")
struct OracleOnSampleTests {
    static let targets = AsyncCrashSample.available.filter { !$0.isWindows }

    @Test(arguments: targets)
    func dumpheapStatMatchesTheDACTypeByType(_ t: AsyncCrashSample.Target) throws {
        let dumpPath = t.dump
        let (s, b) = try AsyncCrashSample.session(t)
        let ours = StatRow.parse(ClrFixtures.run(s, b, "!dumpheap -stat"))
        // The oracle reads the plain core the loader decompressed.
        let plain = try #require(try DumpLoader.open(path: dumpPath).decompressedPath)
        let oracleText: String
        do {
            oracleText = try DacOracle.stat(core: plain, runtime: try #require(t.runtimeFolder), search: t.folder)
        } catch let e as DacOracle.OracleUnavailable {
            Issue.record("dac-oracle is needed for this check and could not be built: \(e.reason)")
            return
        }
        let oracle = StatRow.parse(oracleText)
        #expect(oracle.count > 100, "the oracle listed the heap's types")
        #expect(ours.count == oracle.count)
        let byMT = Dictionary(uniqueKeysWithValues: ours.map { ($0.mt, $0) })
        for o in oracle { #expect(byMT[o.mt] == o, "oracle row \(o)") }
        // And the program's own count, from its FACT lines.
        #expect(ours.first { $0.name == "Samples.Order" }?.count == 1234)
    }
}

extension DacOracle {
    /// One `--obj` field row: MTOfType and Offset as hex text, the FieldDesc's element type word, the type's name.
    struct FieldRow { let mt: String, offset: String, elementType: String, typeName: String }

    /// The oracle's `--obj` field rows for each object, by field token.
    static func fields(core: String, runtime: String, search: String, objects: [String]) throws -> [String: [String: FieldRow]] {
        let text = try run([core, runtime, "--search", search] + objects.flatMap { ["--obj", $0] })
        var out: [String: [String: FieldRow]] = [:]
        // EnclosingMT MTOfType Field Offset dwOff ElementType Type VT Attr Value Name (a type name may hold ", ").
        let row = try Regex(#"^\S+ (\S+) +(\S+) +(\S+) +\S+ (\S+) +(.*?) +[01] +(?:instance|static|TLstatic|CLstatic) "#)
        var current: String?
        var inFields = false
        for line in text.split(separator: "\n") {
            if line.hasPrefix("Object:") { current = line.split(separator: " ").last.map(String.init); inFields = false; continue }
            if line.hasPrefix("Fields:") { inFields = true; continue }
            guard inFields, let obj = current else { continue }
            guard line.prefix(16).allSatisfy(\.isHexDigit), let m = try row.prefixMatch(in: String(line)), m.count == 6,
                  let mt = m[1].substring, let tok = m[2].substring, let off = m[3].substring, let et = m[4].substring,
                  let name = m[5].substring else { continue }
            out[obj, default: [:]][String(tok)] = FieldRow(mt: String(mt), offset: String(off), elementType: String(et), typeName: String(name))
        }
        return out
    }
}

extension OracleOnSampleTests {
    /// `!do`'s MT, Offset and Type columns against the DAC, one object of every type on the sample's heap. Every
    /// MT must be the DAC's, including constructed types no object leads to (found in the modules' tables).
    @Test(arguments: targets)
    func dumpObjFieldColumnsMatchTheDAC(_ t: AsyncCrashSample.Target) throws {
        let dumpPath = t.dump
        let (s, b) = try AsyncCrashSample.session(t)
        let mts = StatRow.parse(ClrFixtures.run(s, b, "!dumpheap -stat")).map(\.mt).filter { $0 != "0000000000000000" }
        var objects: [String] = []
        for mt in mts {
            if let first = ClrFixtures.run(s, b, "!dumpheap -short -mt \(mt)").split(separator: "\n").first, first.count == 16 {
                objects.append(String(first))
            }
        }
        let plain = try #require(try DumpLoader.open(path: dumpPath).decompressedPath)
        let oracle: [String: [String: DacOracle.FieldRow]]
        do {
            oracle = try DacOracle.fields(core: plain, runtime: try #require(t.runtimeFolder), search: t.folder, objects: objects)
        } catch let e as DacOracle.OracleUnavailable {
            Issue.record("dac-oracle is needed for this check and could not be built: \(e.reason)")
            return
        }
        // Objects without fields (strings, arrays of primitives) have no rows.
        #expect(oracle.count >= 50, "the oracle dumped the objects with fields")
        var compared = 0, unresolved = 0, named = 0
        for obj in objects {
            guard let theirs = oracle[obj] else { continue }
            var inFields = false
            for line in ClrFixtures.run(s, b, "!do \(obj)").split(separator: "\n") {
                if line.hasPrefix("              MT    Field") { inFields = true; continue }
                guard inFields else { continue }
                let p = line.split(separator: " ")
                guard p.count > 3, let t = theirs[String(p[1])] else { continue }
                compared += 1
                #expect(String(p[2]) == t.offset, "\(obj) field \(p[1]): offset \(p[2]), the DAC says \(t.offset)")
                if p[0] == "0000000000000000" && t.mt != "0000000000000000" { unresolved += 1; Issue.record("\(obj) field \(p[1]): MT 0, the DAC says \(t.mt)"); continue }
                #expect(String(p[0]) == t.mt, "\(obj) field \(p[1]): MT \(p[0]), the DAC says \(t.mt)")
                // The Type column: for a class or struct with a known MT, SOS prints that MT's name (20 columns).
                if t.mt != "0000000000000000", t.elementType == "CLASS" || t.elementType == "VALUETYPE" {
                    let column = String(line.dropFirst(16 + 2 + 7 + 1 + 8 + 1).prefix(20))
                    #expect(column == Sos.typeColumn(t.typeName), "\(obj) field \(p[1]): type '\(column)', the DAC names \(t.typeName)")
                    named += 1
                }
            }
        }
        #expect(compared >= 150, "fields compared: \(compared)")
        #expect(named >= 90, "type names compared: \(named)")
        print("!do field columns vs the DAC on \(t): \(compared) fields (\(named) type names), \(unresolved) MTs not found by dumpdbg (0 printed)")
    }
}

extension OracleOnSampleTests {
    /// The DAC's names (`--mt`) for MethodTables, asked in batches (one DAC load per batch).
    static func dacNames(core: String, runtime: String, search: String, mts: [UInt64]) throws -> [UInt64: String] {
        var out: [UInt64: String] = [:]
        for start in stride(from: 0, to: mts.count, by: 40) {
            let batch = mts[start..<min(start + 40, mts.count)]
            let text = try DacOracle.run([core, runtime, "--search", search] + batch.flatMap { ["--mt", Hex.pad($0, 16)] })
            var current: UInt64?
            for line in text.split(separator: "\n") {
                if line.hasPrefix("MethodTable:") { current = line.split(separator: " ").last.flatMap { UInt64($0, radix: 16) } }
                if line.hasPrefix("Name:"), let mt = current {
                    out[mt] = String(line.dropFirst("Name:".count).drop { $0 == " " })
                }
            }
        }
        return out
    }

    /// Every constructed type in the modules' tables (generic instantiations, arrays; over __Canon or over generic
    /// parameters, `Task`1[TResult]`, and typical instantiations printed bare) is named as the DAC names it.
    @Test(arguments: targets)
    func constructedTypesInTheModulesTablesAreNamedAsTheDACNamesThem(_ t: AsyncCrashSample.Target) throws {
        let (s, _) = try AsyncCrashSample.session(t)
        let r = try SosRuntimes.runtime(for: s)
        let handles = r.constructedTypeHandles()
        #expect(handles.count >= 400, "\(t): \(handles.count) entries")
        let mts = Array(Set(handles.compactMap { r.typeForHandle($0)?.methodTable })).sorted()
        let plain = try #require(try DumpLoader.open(path: t.dump).decompressedPath)
        let dac: [UInt64: String]
        do { dac = try Self.dacNames(core: plain, runtime: try #require(t.runtimeFolder), search: t.folder, mts: mts) } catch let e as DacOracle.OracleUnavailable {
            Issue.record("dac-oracle is needed for this check and could not be built: \(e.reason)")
            return
        }
        #expect(dac.count >= mts.count - 2, "\(t): the DAC named \(dac.count) of \(mts.count)")
        var overGenericParameters = 0
        for (mt, name) in dac {
            let ours = r.type(mt)?.name
            #expect(ours == name, "\(t) \(Hex.pad(mt, 16)): dumpdbg \(ours ?? "nil"), the DAC \(name)")
            if name.contains("`1[T") { overGenericParameters += 1 }
        }
        #expect(overGenericParameters > 0, "\(t): instantiations over generic parameters were compared")
        print("constructed types vs the DAC on \(t): \(handles.count) entries, \(dac.count) names compared")
    }
}
