import ClrLayout
import DumpModel
import Foundation

/// One dump's line in `dumpdbg triage`: what a triage engineer reads first, from the same analysis
/// `!analyze -v` prints (with `.loadby sos clr` first when the dump holds a .NET runtime), so the bucket id is
/// the one a session on that dump shows.
public struct TriageRecord: Codable, Sendable {
    public struct Event: Codable, Sendable {
        /// "0x" and the code (NTSTATUS on Windows, the signal number elsewhere).
        public let code: String
        public let name: String
        public let address: String?
    }
    public struct ManagedException: Codable, Sendable {
        public let type: String
        public let message: String?
    }
    public let file: String
    /// Filled by the caller (dumpdbg's triage command hashes the file as given, compressed or not).
    public var sha256: String?
    public var bytes: UInt64?
    public var bucketId: String?
    public var failureHash: String?
    public var exception: Event?
    public var faultingThread: String?
    public var faultingModule: String?
    public var faultingFrame: String?
    public var managedException: ManagedException?
    public var threads: Int?
    /// The .NET runtime in the dump ("CoreCLR 8.0.4"), when there is one.
    public var clrRuntime: String?
    /// What limited the analysis (the runtime's files not on the image path, so no managed analysis).
    public var warnings: [String]?
    /// Wall time of this dump's analysis.
    public var seconds: Double?
    /// Why the dump could not be analysed (the other fields are then partly empty).
    public var error: String?

    public init(file: String) { self.file = file }

    /// One JSON line, keys sorted.
    public var jsonLine: String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? e.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? #"{"error":"unencodable record"}"#
    }
}

public enum BatchTriage {
    /// Opens the dump and analyses it; never throws: a dump that cannot be opened or analysed gives a record
    /// with `error` set.
    public static func record(dumpPath: String, imagePath: [String], symbolPath: String = "") -> TriageRecord {
        let start = Date()
        var r = analyse(dumpPath: dumpPath, imagePath: imagePath, symbolPath: symbolPath)
        r.seconds = (Date().timeIntervalSince(start) * 1000).rounded() / 1000
        return r
    }

    private static func analyse(dumpPath: String, imagePath: [String], symbolPath: String) -> TriageRecord {
        var r = TriageRecord(file: dumpPath)
        let dump: any Dump
        do { dump = try DumpLoader.open(path: dumpPath).dump } catch {
            r.error = error.description
            return r
        }
        r.threads = dump.threads.count
        let session = Session(dump: dump, output: Output(sink: { _ in }))
        session.imagePath = imagePath
        session.setSymbolPath(symbolPath)
        // A .NET dump: load SOS as a triage engineer would, so the event thread is the managed exception's.
        if ClrInfo.runtimeModule(in: dump) != nil {
            session.executeTopLevel(line: ".loadby sos clr")
            switch session.clrRuntime?.result {
            case .success(let runtime)?: r.clrRuntime = "CoreCLR \(runtime.layout.productVersion)"
            case .failure(let e)?: r.warnings = ["no managed analysis: \(e.message)"]
            case nil: r.warnings = ["no managed analysis: the .NET runtime was not found"]
            }
        }
        let any: any CommandValue
        do {
            any = try AnalyzeCommand().evaluate(Invocation(name: "!analyze", arguments: "-v"), in: session)
        } catch let e as CommandError {
            r.error = e.message
            return r
        } catch {
            r.error = "\(error)"
            return r
        }
        // A snapshot of a running .NET process (no exception) gets the hang analysis, as in a session.
        if let hang = any as? HangAnalysisValue {
            r.bucketId = hang.failureBucketId
            r.failureHash = hang.failureHash
            r.faultingThread = "0x" + String(hang.blockingThreadId.value, radix: 16)
            r.faultingModule = hang.imageName
            r.faultingFrame = hang.symbolName
            r.warnings = (r.warnings ?? []) + [hang.note ?? "hang analysis"]
            return r
        }
        guard let value = any as? AnalysisValue else {
            r.error = "!analyze gave no analysis"
            return r
        }
        r.bucketId = value.failureBucketId
        r.failureHash = value.failureHash
        r.exception = value.exception.map {
            TriageRecord.Event(code: "0x" + Hex.pad($0.code.value, 8), name: $0.codeName, address: "0x" + String($0.address.value, radix: 16))
        }
        r.faultingThread = "0x" + String(value.faultingThreadId.value, radix: 16)
        r.faultingModule = value.imageName ?? value.moduleName
        r.faultingFrame = value.symbolName
        r.managedException = value.managedException.map { TriageRecord.ManagedException(type: $0.type, message: $0.message) }
        return r
    }
}
