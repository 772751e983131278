// The metadata root, its streams and heaps, and raw access to table cells
// (ECMA-335 II.24.2). Row decoding into named structs lives in Rows.swift.

/// A stream header from the metadata root.
public struct StreamHeader: Sendable, Equatable {
    public let name: String
    /// Offset from the start of the metadata root.
    public let offset: Int
    public let size: Int
}

/// A 16-byte GUID from the #GUID heap, printed as the CLR does
/// (`0397b2f4-f0ec-44e7-bb5d-65be7a5f6205`, first three groups little-endian).
public struct GUID: Sendable, Hashable, CustomStringConvertible {
    public let bytes: [UInt8]
    public init(bytes: [UInt8]) { self.bytes = bytes }

    public var description: String {
        func hex(_ b: UInt8) -> String { b < 16 ? "0" + String(b, radix: 16) : String(b, radix: 16) }
        let order = [3, 2, 1, 0, -1, 5, 4, -1, 7, 6, -1, 8, 9, -1, 10, 11, 12, 13, 14, 15]
        return order.map { $0 < 0 ? "-" : hex(bytes[$0]) }.joined()
    }
}

/// Reads one module's metadata. Immutable and Sendable: all lookups are computed from the
/// bytes on demand (binary searches over sorted tables), so there are no caches to guard.
public struct MetadataReader: Sendable {
    /// The metadata root bytes (everything offsets below are relative to).
    public let source: any ByteSource
    /// e.g. "v4.0.30319".
    public let versionString: String
    public let streams: [StreamHeader]
    /// True for the uncompressed `#-` tables stream (may contain *Ptr indirection tables).
    public let isUncompressedTables: Bool
    public let tablesMajorVersion: UInt8
    public let tablesMinorVersion: UInt8
    public let heapSizes: UInt8
    /// Bit n set: table n is present.
    public let validMask: UInt64
    /// Bit n set: table n is sorted by its primary key.
    public let sortedMask: UInt64

    let layout: TableLayout
    /// Offset of the tables stream from the start of the metadata root.
    let tablesStreamOffset: Int
    let stringsHeap: StreamHeader?
    let userStringsHeap: StreamHeader?
    let blobHeap: StreamHeader?
    let guidHeap: StreamHeader?

    static let signature: UInt32 = 0x424A_5342 // "BSJB"
    static let maxStreams = 16

    /// Parse a metadata root that starts at offset 0 of `metadata`.
    public init(metadata: any ByteSource) throws(MetadataError) {
        source = metadata
        guard try metadata.readU32(at: 0) == Self.signature else {
            throw MetadataError(.badFormat, "metadata root has no BSJB signature")
        }
        let versionLength = Int(try metadata.readU32(at: 12))
        guard versionLength <= 255 else {
            throw MetadataError(.badFormat, "metadata version string length \(versionLength) exceeds 255")
        }
        let versionBytes = try metadata.readBytes(at: 16, count: versionLength)
        versionString = String(decoding: versionBytes.prefix { $0 != 0 }, as: UTF8.self)
        var at = 16 + ((versionLength + 3) & ~3)
        let streamCount = Int(try metadata.readU16(at: at + 2))
        guard streamCount <= Self.maxStreams else {
            throw MetadataError(.badFormat, "metadata root claims \(streamCount) streams (limit \(Self.maxStreams))")
        }
        at += 4
        var headers: [StreamHeader] = []
        for _ in 0..<streamCount {
            let offset = Int(try metadata.readU32(at: at))
            let size = Int(try metadata.readU32(at: at + 4))
            // Name: NUL-terminated ASCII, at most 32 bytes, padded to 4.
            var nameBytes: [UInt8] = []
            var i = 0
            while true {
                guard i < 32 else { throw MetadataError(.badFormat, "stream name longer than 32 bytes") }
                let b = try metadata.readU8(at: at + 8 + i)
                i += 1
                if b == 0 { break }
                nameBytes.append(b)
            }
            let name = String(decoding: nameBytes, as: UTF8.self)
            guard rangeIsInside(offset: offset, length: size, size: metadata.count) else {
                throw MetadataError(.badFormat, "stream \(name) (offset 0x\(String(offset, radix: 16)), \(size) bytes) lies outside the metadata")
            }
            headers.append(StreamHeader(name: name, offset: offset, size: size))
            at += 8 + ((i + 3) & ~3)
        }
        streams = headers
        // The first stream of a name wins, as in the CLR.
        func stream(_ n: String) -> StreamHeader? { headers.first { $0.name == n } }
        stringsHeap = stream("#Strings")
        userStringsHeap = stream("#US")
        blobHeap = stream("#Blob")
        guidHeap = stream("#GUID")

        guard let tables = stream("#~") ?? stream("#-") else {
            throw MetadataError(.badFormat, "metadata has no #~ or #- tables stream")
        }
        isUncompressedTables = tables.name == "#-"
        let t = tables.offset
        tablesMajorVersion = try metadata.readU8(at: t + 4)
        tablesMinorVersion = try metadata.readU8(at: t + 5)
        heapSizes = try metadata.readU8(at: t + 6)
        validMask = try metadata.readU64(at: t + 8)
        sortedMask = try metadata.readU64(at: t + 16)

        var rowCounts: [TableID: Int] = [:]
        var cursor = t + 24
        for bit in 0..<64 where validMask & (UInt64(1) << UInt64(bit)) != 0 {
            let n = Int(try metadata.readU32(at: cursor))
            cursor += 4
            guard n <= TableLayout.maxRows else {
                throw MetadataError(.badFormat, "table 0x\(String(bit, radix: 16)) claims \(n) rows")
            }
            // Tables we do not know (0x2D and up, e.g. portable PDB tables) come after all
            // known ones, so skipping them still leaves every known table locatable.
            if let id = TableID(rawValue: UInt8(bit)) { rowCounts[id] = n }
        }
        if heapSizes & 0x40 != 0 { cursor += 4 } // "extra data" dword of ENC-era writers
        layout = try TableLayout(rowCounts: rowCounts, heapSizes: heapSizes,
                                 tablesStart: cursor - t, streamSize: tables.size)
        tablesStreamOffset = t
    }

    /// Parse the metadata of a PE image (its CLI header's metadata directory).
    public init(image: PEImage) throws(MetadataError) {
        try self.init(metadata: image.metadataBytes())
    }

    // MARK: Tables

    public func rowCount(_ table: TableID) -> Int { layout[table].rowCount }

    /// Size in bytes of one row of `table` in this module.
    public func rowSize(_ table: TableID) -> Int { layout[table].rowSize }

    /// Offset of row 1 of `table` from the start of the metadata root.
    public func tableOffset(_ table: TableID) -> Int { tablesStreamOffset + layout[table].offset }

    public func isSorted(_ table: TableID) -> Bool { sortedMask & (UInt64(1) << UInt64(table.rawValue)) != 0 }

    /// Raw value of column `column` of 1-based `row` in `table`.
    func cell(_ table: TableID, _ row: Int, _ column: Int) throws(MetadataError) -> UInt32 {
        let t = layout[table]
        guard row >= 1, row <= t.rowCount else {
            throw MetadataError(.badToken, "\(table) row \(row) does not exist (table has \(t.rowCount) rows)")
        }
        let at = tablesStreamOffset + t.offset + (row - 1) * t.rowSize + t.columnOffsets[column]
        return t.columnSizes[column] == 2 ? UInt32(try source.readU16(at: at)) : try source.readU32(at: at)
    }

    func coded(_ c: CodedIndex, _ table: TableID, _ row: Int, _ column: Int) throws(MetadataError) -> MetadataToken? {
        try c.decode(try cell(table, row, column))
    }

    /// Check that `token` names an existing row of `table`.
    func checkRow(_ token: MetadataToken, _ table: TableID) throws(MetadataError) -> Int {
        guard token.table == table, token.row >= 1, token.row <= rowCount(table) else {
            throw MetadataError(.badToken, "token \(token) is not a valid \(table) token")
        }
        return token.row
    }

    // MARK: Heaps

    /// A NUL-terminated UTF-8 string from #Strings. Index 0 is the empty string.
    public func string(at index: UInt32) throws(MetadataError) -> String {
        if index == 0 { return "" }
        guard let heap = stringsHeap, Int(index) < heap.size else {
            throw MetadataError(.badFormat, "#Strings index 0x\(String(index, radix: 16)) is outside the heap")
        }
        // Read in small chunks rather than "the rest of the heap", so a source that only has
        // some pages (a dump) can still serve names; fall back to single bytes at a gap.
        var collected: [UInt8] = []
        var position = heap.offset + Int(index)
        let end = heap.offset + heap.size
        while position < end {
            let n = Swift.min(256, end - position)
            if let chunk = source.bytes(at: position, count: n) {
                if let zero = chunk.firstIndex(of: 0) {
                    collected.append(contentsOf: chunk[0..<zero])
                    return String(decoding: collected, as: UTF8.self)
                }
                collected.append(contentsOf: chunk)
                position += n
            } else {
                let b = try source.readU8(at: position)
                if b == 0 { return String(decoding: collected, as: UTF8.self) }
                collected.append(b)
                position += 1
            }
        }
        throw MetadataError(.badFormat, "#Strings entry at 0x\(String(index, radix: 16)) is not NUL-terminated")
    }

    /// The bytes of a #Blob entry (length-prefixed). Index 0 is the empty blob.
    public func blob(at index: UInt32) throws(MetadataError) -> [UInt8] {
        if index == 0 { return [] }
        return try lengthPrefixed(heap: blobHeap, index: index, what: "#Blob")
    }

    /// A #GUID entry; indexes are 1-based, 0 means none.
    public func guid(at index: UInt32) throws(MetadataError) -> GUID? {
        if index == 0 { return nil }
        guard let heap = guidHeap, UInt64(index) * 16 <= UInt64(heap.size) else {
            throw MetadataError(.badFormat, "#GUID index \(index) is outside the heap")
        }
        return GUID(bytes: try source.readBytes(at: heap.offset + (Int(index) - 1) * 16, count: 16))
    }

    /// A user string (`ldstr` literal) from #US, by heap offset (the low 24 bits of a 0x70 token).
    public func userString(at index: UInt32) throws(MetadataError) -> String {
        let bytes = try lengthPrefixed(heap: userStringsHeap, index: index, what: "#US")
        // UTF-16LE code units followed by one flag byte.
        var units: [UInt16] = []
        units.reserveCapacity(bytes.count / 2)
        var i = 0
        while i + 1 < bytes.count {
            units.append(UInt16(bytes[i]) | UInt16(bytes[i + 1]) << 8)
            i += 2
        }
        return String(decoding: units, as: UTF16.self)
    }

    private func lengthPrefixed(heap: StreamHeader?, index: UInt32, what: String) throws(MetadataError) -> [UInt8] {
        guard let heap, Int(index) < heap.size else {
            throw MetadataError(.badFormat, "\(what) index 0x\(String(index, radix: 16)) is outside the heap")
        }
        let window = try ByteWindow(source, start: heap.offset, count: heap.size)
        var cursor = Int(index)
        let length = try readCompressedUInt(window, &cursor, what)
        guard rangeIsInside(offset: cursor, length: Int(length), size: heap.size) else {
            throw MetadataError(.badFormat, "\(what) entry at 0x\(String(index, radix: 16)) (\(length) bytes) runs past the heap")
        }
        return try window.readBytes(at: cursor, count: Int(length))
    }
}

/// ECMA-335 II.23.2 compressed unsigned integer, read from a byte source.
func readCompressedUInt(_ s: any ByteSource, _ cursor: inout Int, _ what: String) throws(MetadataError) -> UInt32 {
    let b0 = UInt32(try s.readU8(at: cursor))
    if b0 & 0x80 == 0 {
        cursor += 1
        return b0
    }
    if b0 & 0xC0 == 0x80 {
        let b1 = UInt32(try s.readU8(at: cursor + 1))
        cursor += 2
        return (b0 & 0x3F) << 8 | b1
    }
    if b0 & 0xE0 == 0xC0 {
        let b = try s.readBytes(at: cursor + 1, count: 3)
        cursor += 4
        return (b0 & 0x1F) << 24 | UInt32(b[0]) << 16 | UInt32(b[1]) << 8 | UInt32(b[2])
    }
    throw MetadataError(.badFormat, "\(what): invalid compressed integer lead byte 0x\(String(b0, radix: 16))")
}
