// Every failure of the Metadata module is one of these values: the input is untrusted
// (a file on disk or bytes pulled out of a crash dump), so nothing here may trap.

/// A reading failure, with a message that says what was being read and where.
public struct MetadataError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of problem it is, so callers can react without parsing the message.
    public enum Kind: Sendable, Equatable {
        /// A read fell outside the bytes we have (truncated file, page missing from a dump).
        case outOfBounds
        /// A magic number, version or structural field has a value the format forbids.
        case badFormat
        /// A token or index names a table or row that does not exist.
        case badToken
        /// A blob signature could not be decoded.
        case badSignature
        /// The operating system refused (open/mmap of a file).
        case io
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }

    static func outOfBounds(_ what: String, offset: Int, count: Int, size: Int) -> MetadataError {
        MetadataError(.outOfBounds,
                      "\(what): \(count) byte(s) at offset 0x\(String(offset, radix: 16)) lie outside the \(size)-byte image")
    }
}
