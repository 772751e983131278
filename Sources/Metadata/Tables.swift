// The shape of the #~ tables stream: which tables exist, what their columns are, and how
// wide each column is for a given module (ECMA-335 II.22 and II.24.2.6).

/// Metadata table numbers (the high byte of a token). Every table of ECMA-335 II.22.
public enum TableID: UInt8, CaseIterable, Sendable, Comparable {
    case module = 0x00, typeRef, typeDef, fieldPtr, field, methodPtr, methodDef, paramPtr, param,
         interfaceImpl, memberRef, constant, customAttribute, fieldMarshal, declSecurity,
         classLayout, fieldLayout, standAloneSig, eventMap, eventPtr, event, propertyMap,
         propertyPtr, property, methodSemantics, methodImpl, moduleRef, typeSpec, implMap,
         fieldRVA, encLog, encMap, assembly, assemblyProcessor, assemblyOS, assemblyRef,
         assemblyRefProcessor, assemblyRefOS, file, exportedType, manifestResource,
         nestedClass, genericParam, methodSpec, genericParamConstraint

    public static func < (a: TableID, b: TableID) -> Bool { a.rawValue < b.rawValue }
}

/// A metadata token: table number in the top byte, 1-based row in the low 24 bits.
public struct MetadataToken: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public init(_ table: TableID, row: Int) {
        rawValue = UInt32(table.rawValue) << 24 | UInt32(truncatingIfNeeded: row) & 0x00FF_FFFF
    }
    /// The table byte (may name no known table, e.g. 0x70 for #US string tokens).
    public var tableByte: UInt8 { UInt8(rawValue >> 24) }
    public var table: TableID? { TableID(rawValue: tableByte) }
    /// 1-based row; 0 means "nil token".
    public var row: Int { Int(rawValue & 0x00FF_FFFF) }
    public var isNil: Bool { row == 0 }
    /// Eight hex digits, as SOS prints tokens (`02000003`).
    public var description: String {
        let h = String(rawValue, radix: 16)
        return String(repeating: "0", count: 8 - h.count) + h
    }
}

/// Coded indexes (ECMA-335 II.24.2.6): a small tag in the low bits selects the table.
enum CodedIndex: CaseIterable {
    case typeDefOrRef, hasConstant, hasCustomAttribute, hasFieldMarshal, hasDeclSecurity,
         memberRefParent, hasSemantics, methodDefOrRef, memberForwarded, implementation,
         customAttributeType, resolutionScope, typeOrMethodDef

    /// Tables in tag order; nil marks a tag value the spec leaves unused.
    var tables: [TableID?] {
        switch self {
        case .typeDefOrRef: return [.typeDef, .typeRef, .typeSpec]
        case .hasConstant: return [.field, .param, .property]
        case .hasCustomAttribute:
            return [.methodDef, .field, .typeRef, .typeDef, .param, .interfaceImpl, .memberRef,
                    .module, .declSecurity, .property, .event, .standAloneSig, .moduleRef,
                    .typeSpec, .assembly, .assemblyRef, .file, .exportedType, .manifestResource,
                    .genericParam, .genericParamConstraint, .methodSpec]
        case .hasFieldMarshal: return [.field, .param]
        case .hasDeclSecurity: return [.typeDef, .methodDef, .assembly]
        case .memberRefParent: return [.typeDef, .typeRef, .moduleRef, .methodDef, .typeSpec]
        case .hasSemantics: return [.event, .property]
        case .methodDefOrRef: return [.methodDef, .memberRef]
        case .memberForwarded: return [.field, .methodDef]
        case .implementation: return [.file, .assemblyRef, .exportedType]
        case .customAttributeType: return [nil, nil, .methodDef, .memberRef, nil]
        case .resolutionScope: return [.module, .moduleRef, .assemblyRef, .typeRef]
        case .typeOrMethodDef: return [.typeDef, .methodDef]
        }
    }

    var tagBits: Int {
        switch self {
        case .hasFieldMarshal, .hasSemantics, .methodDefOrRef, .memberForwarded, .typeOrMethodDef: return 1
        case .typeDefOrRef, .hasConstant, .hasDeclSecurity, .implementation, .resolutionScope: return 2
        case .memberRefParent, .customAttributeType: return 3
        case .hasCustomAttribute: return 5
        }
    }

    /// Split a raw coded value into a token; nil for the nil value (row 0).
    func decode(_ value: UInt32) throws(MetadataError) -> MetadataToken? {
        let mask = UInt32(1) << UInt32(tagBits) - 1
        let tag = Int(value & mask)
        let row = Int(value >> UInt32(tagBits))
        guard tag < tables.count, let table = tables[tag] else {
            throw MetadataError(.badToken, "coded index \(self) has invalid tag \(tag)")
        }
        return row == 0 ? nil : MetadataToken(table, row: row)
    }
}

/// One column's kind; its width depends on heap sizes and row counts.
enum ColumnKind {
    case u16, u32, string, guid, blob
    case index(TableID)
    case coded(CodedIndex)
}

extension TableID {
    /// Column kinds in the order of ECMA-335 II.22.
    var columns: [ColumnKind] {
        switch self {
        case .module: return [.u16, .string, .guid, .guid, .guid]
        case .typeRef: return [.coded(.resolutionScope), .string, .string]
        case .typeDef: return [.u32, .string, .string, .coded(.typeDefOrRef), .index(.field), .index(.methodDef)]
        case .fieldPtr: return [.index(.field)]
        case .field: return [.u16, .string, .blob]
        case .methodPtr: return [.index(.methodDef)]
        case .methodDef: return [.u32, .u16, .u16, .string, .blob, .index(.param)]
        case .paramPtr: return [.index(.param)]
        case .param: return [.u16, .u16, .string]
        case .interfaceImpl: return [.index(.typeDef), .coded(.typeDefOrRef)]
        case .memberRef: return [.coded(.memberRefParent), .string, .blob]
        case .constant: return [.u16, .coded(.hasConstant), .blob] // type byte + padding byte
        case .customAttribute: return [.coded(.hasCustomAttribute), .coded(.customAttributeType), .blob]
        case .fieldMarshal: return [.coded(.hasFieldMarshal), .blob]
        case .declSecurity: return [.u16, .coded(.hasDeclSecurity), .blob]
        case .classLayout: return [.u16, .u32, .index(.typeDef)]
        case .fieldLayout: return [.u32, .index(.field)]
        case .standAloneSig: return [.blob]
        case .eventMap: return [.index(.typeDef), .index(.event)]
        case .eventPtr: return [.index(.event)]
        case .event: return [.u16, .string, .coded(.typeDefOrRef)]
        case .propertyMap: return [.index(.typeDef), .index(.property)]
        case .propertyPtr: return [.index(.property)]
        case .property: return [.u16, .string, .blob]
        case .methodSemantics: return [.u16, .index(.methodDef), .coded(.hasSemantics)]
        case .methodImpl: return [.index(.typeDef), .coded(.methodDefOrRef), .coded(.methodDefOrRef)]
        case .moduleRef: return [.string]
        case .typeSpec: return [.blob]
        case .implMap: return [.u16, .coded(.memberForwarded), .string, .index(.moduleRef)]
        case .fieldRVA: return [.u32, .index(.field)]
        case .encLog: return [.u32, .u32]
        case .encMap: return [.u32]
        case .assembly: return [.u32, .u16, .u16, .u16, .u16, .u32, .blob, .string, .string]
        case .assemblyProcessor: return [.u32]
        case .assemblyOS: return [.u32, .u32, .u32]
        case .assemblyRef: return [.u16, .u16, .u16, .u16, .u32, .blob, .string, .string, .blob]
        case .assemblyRefProcessor: return [.u32, .index(.assemblyRef)]
        case .assemblyRefOS: return [.u32, .u32, .u32, .index(.assemblyRef)]
        case .file: return [.u32, .string, .blob]
        case .exportedType: return [.u32, .u32, .string, .string, .coded(.implementation)]
        case .manifestResource: return [.u32, .u32, .string, .coded(.implementation)]
        case .nestedClass: return [.index(.typeDef), .index(.typeDef)]
        case .genericParam: return [.u16, .u16, .coded(.typeOrMethodDef), .string]
        case .methodSpec: return [.coded(.methodDefOrRef), .blob]
        case .genericParamConstraint: return [.index(.genericParam), .coded(.typeDefOrRef)]
        }
    }
}

/// Where each table and each column lives inside the tables stream, computed once from the
/// stream header. Pure value: row counts in, offsets and widths out.
struct TableLayout: Sendable {
    struct Table: Sendable {
        var rowCount = 0
        var rowSize = 0
        /// Offset of row 1 from the start of the tables stream.
        var offset = 0
        var columnOffsets: [Int] = []
        var columnSizes: [Int] = []
    }

    /// Indexed by table number (0...0x2C).
    let tables: [Table]
    /// Offset just past the last known table.
    let end: Int

    /// Row numbers are 24-bit in tokens; anything larger is corrupt.
    static let maxRows = 0x00FF_FFFF

    init(rowCounts: [TableID: Int], heapSizes: UInt8, tablesStart: Int, streamSize: Int) throws(MetadataError) {
        func rows(_ t: TableID) -> Int { rowCounts[t] ?? 0 }
        let stringSize = heapSizes & 0x01 != 0 ? 4 : 2
        let guidSize = heapSizes & 0x02 != 0 ? 4 : 2
        let blobSize = heapSizes & 0x04 != 0 ? 4 : 2

        func size(of kind: ColumnKind) -> Int {
            switch kind {
            case .u16: return 2
            case .u32: return 4
            case .string: return stringSize
            case .guid: return guidSize
            case .blob: return blobSize
            case .index(let t): return rows(t) < 0x1_0000 ? 2 : 4
            case .coded(let c):
                let maxRows = c.tables.reduce(0) { m, t in Swift.max(m, t.map(rows) ?? 0) }
                return maxRows < (1 << (16 - c.tagBits)) ? 2 : 4
            }
        }

        var result: [Table] = []
        var offset = tablesStart
        for t in TableID.allCases {
            var table = Table()
            table.rowCount = rows(t)
            var col = 0
            for kind in t.columns {
                table.columnOffsets.append(col)
                let s = size(of: kind)
                table.columnSizes.append(s)
                col += s
            }
            table.rowSize = col
            table.offset = offset
            // rowCount <= 2^24 and rowSize <= 40, so this cannot overflow; the stream check
            // below is what rejects absurd counts.
            offset += table.rowCount * table.rowSize
            guard offset <= streamSize else {
                throw MetadataError(.badFormat,
                    "table \(t) (\(table.rowCount) rows of \(table.rowSize) bytes) runs past the end of the tables stream (\(streamSize) bytes)")
            }
            result.append(table)
        }
        tables = result
        end = offset
    }

    subscript(_ t: TableID) -> Table { tables[Int(t.rawValue)] }
}
