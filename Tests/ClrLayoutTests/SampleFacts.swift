import Foundation

/// The FACT lines a sample program printed about itself (Samples/clr/*.cs): `FACT key=value`, one per line.
enum SampleFacts {
    static func read(_ path: String) throws -> [String: String] {
        // The Windows console wrote CRLF; make-clr-dumps.sh strips it, but a hand-made folder may not.
        let text = try String(contentsOfFile: path, encoding: .utf8).replacingOccurrences(of: "\r", with: "")
        var out: [String: String] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix("FACT ") {
            let kv = line.dropFirst(5)
            guard let eq = kv.firstIndex(of: "=") else { continue }
            out[String(kv[..<eq])] = String(kv[kv.index(after: eq)...])
        }
        return out
    }
}
