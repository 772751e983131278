// Turning tokens and signatures into the names SOS prints, and the reverse (name -> token).
// Owner/range lookups use the sort order the format guarantees (TypeDef lists are
// non-decreasing, NestedClass is sorted by its nested column), so nothing is cached.

/// Which of the runtime's two naming conventions to produce.
public enum TypeNameStyle: Sendable {
    /// The CLR's signature formatter (vm/sigformat.cpp), which SOS uses for the parameter list of
    /// a method (`!clrstack`, `!dumpmd`): `Int32`, `System.String`, `System.Object`,
    /// ``System.Collections.Generic.List`1<System.String>``, `Boolean ByRef`, `Byte*`,
    /// `System.String[]`, `!0`, `!!0`. Like the runtime, a nested type shows only its own name.
    case signature
    /// The runtime's type name (what `!do`, `!dumpheap` and `!Name2EE` show):
    /// `System.Int32`, `Outer+Inner`,
    /// ``System.Collections.Generic.Dictionary`2[[System.String, mscorlib],[System.Int32, mscorlib]]``,
    /// `System.Byte[]`, `System.Byte*`, `System.Int32&`. Generic arguments name the assembly that
    /// this module's metadata points at (a dump may resolve it to another one, e.g. a facade).
    case runtime
}

extension MetadataReader {
    /// Nesting is at most a few levels in real code; this only stops corrupt cycles.
    static let maxNesting = 64

    // MARK: Nesting

    /// The enclosing TypeDef row of a nested TypeDef row, or nil if it is not nested.
    public func enclosingType(ofTypeDef row: Int) throws(MetadataError) -> Int? {
        let n = rowCount(.nestedClass)
        if isSorted(.nestedClass) {
            var lo = 1, hi = n
            while lo <= hi {
                let mid = (lo + hi) / 2
                let nested = Int(try cell(.nestedClass, mid, 0))
                if nested == row { return Int(try cell(.nestedClass, mid, 1)) }
                if nested < row { lo = mid + 1 } else { hi = mid - 1 }
            }
            return nil
        }
        for r in stride(from: 1, through: n, by: 1) where Int(try cell(.nestedClass, r, 0)) == row {
            return Int(try cell(.nestedClass, r, 1))
        }
        return nil
    }

    // MARK: Type names

    /// `Namespace.Name`, or `Namespace.Outer+Inner` for nested types, as the CLR prints a
    /// type definition (generic arity stays in the name: ``List`1``).
    /// A generic parameter's declared name (`TResult`): the GenericParam table's Name column (ECMA-335 II.22.20).
    public func genericParameterName(row: Int) throws(MetadataError) -> String {
        guard row >= 1, row <= rowCount(.genericParam) else {
            throw MetadataError(.badFormat, "GenericParam row \(row) is outside the table (\(rowCount(.genericParam)) rows)")
        }
        return try string(at: try cell(.genericParam, row, 3))
    }

    public func fullName(ofTypeDef row: Int) throws(MetadataError) -> String {
        var parts: [String] = []
        var current = row
        var namespace = ""
        for _ in 0..<Self.maxNesting {
            let t = try typeDef(current)
            parts.append(t.name)
            namespace = t.namespace
            guard let outer = try enclosingType(ofTypeDef: current) else {
                return join(namespace, parts.reversed().joined(separator: "+"))
            }
            current = outer
        }
        throw MetadataError(.badFormat, "TypeDef \(MetadataToken(.typeDef, row: row)) nests more than \(Self.maxNesting) levels (cycle?)")
    }

    /// Full name of a TypeRef, following TypeRef resolution scopes for nested types.
    public func fullName(ofTypeRef row: Int) throws(MetadataError) -> String {
        var parts: [String] = []
        var current = row
        for _ in 0..<Self.maxNesting {
            let t = try typeRef(current)
            if let scope = t.resolutionScope, scope.table == .typeRef {
                parts.append(t.name)
                current = scope.row
                continue
            }
            parts.append(t.name)
            return join(t.namespace, parts.reversed().joined(separator: "+"))
        }
        throw MetadataError(.badFormat, "TypeRef \(MetadataToken(.typeRef, row: row)) nests more than \(Self.maxNesting) levels (cycle?)")
    }

    /// The name of a TypeDef, TypeRef or TypeSpec token.
    public func typeName(_ token: MetadataToken, style: TypeNameStyle = .runtime) throws(MetadataError) -> String {
        try typeName(token, style: style, depth: 0)
    }

    func typeName(_ token: MetadataToken, style: TypeNameStyle, depth: Int) throws(MetadataError) -> String {
        switch token.table {
        case .typeDef?:
            let row = try checkRow(token, .typeDef)
            if style == .signature {
                let t = try typeDef(row)
                return join(t.namespace, t.name)
            }
            return try fullName(ofTypeDef: row)
        case .typeRef?:
            let row = try checkRow(token, .typeRef)
            if style == .signature {
                let t = try typeRef(row)
                return join(t.namespace, t.name)
            }
            return try fullName(ofTypeRef: row)
        case .typeSpec?:
            let row = try checkRow(token, .typeSpec)
            guard depth < Self.maxNesting else {
                throw MetadataError(.badSignature, "TypeSpec \(token) refers to itself")
            }
            let sig = try typeSpecSignature(blob: typeSpec(row).signature)
            return try format(sig, style: style, depth: depth + 1)
        default:
            throw MetadataError(.badToken, "token \(token) is not a TypeDef, TypeRef or TypeSpec")
        }
    }

    /// Text for a decoded type signature in the given style.
    public func format(_ type: TypeSignature, style: TypeNameStyle = .runtime) throws(MetadataError) -> String {
        try format(type, style: style, depth: 0)
    }

    func format(_ type: TypeSignature, style: TypeNameStyle, depth: Int) throws(MetadataError) -> String {
        switch type {
        case .primitive(let p):
            switch (style, p) {
            case (.signature, .string), (.signature, .object): return "System." + p.systemName
            case (.signature, _): return p.systemName
            case (.runtime, _): return "System." + p.systemName
            }
        case .named(let token, _):
            return try typeName(token, style: style, depth: depth)
        case .szArray(let e):
            return try format(e, style: style, depth: depth) + "[]"
        case .array(let e, let rank):
            let commas = String(repeating: ",", count: Swift.max(0, Swift.min(rank, 32) - 1))
            // The runtime names a rank-1 general array `T[*]`; the signature formatter `T[]`.
            let inside = style == .runtime && rank == 1 ? "*" : commas
            return try format(e, style: style, depth: depth) + "[" + inside + "]"
        case .genericInstance(let g, let args):
            let base = try format(g, style: style, depth: depth)
            var parts: [String] = []
            for a in args {
                let name = try format(a, style: style, depth: depth)
                if style == .signature {
                    parts.append(name)
                } else if let assembly = try assemblyName(of: a, depth: depth) {
                    parts.append("[" + name + ", " + assembly + "]")
                } else {
                    parts.append("[" + name + "]")
                }
            }
            return style == .signature ? base + "<" + parts.joined(separator: ",") + ">"
                                       : base + "[" + parts.joined(separator: ",") + "]"
        case .typeParameter(let n):
            return "!\(n)"
        case .methodParameter(let n):
            return "!!\(n)"
        case .pointer(let t):
            return try format(t, style: style, depth: depth) + "*"
        case .byRef(let t):
            return try format(t, style: style, depth: depth) + (style == .signature ? " ByRef" : "&")
        case .functionPointer(let m):
            var params: [String] = []
            for p in m.parameters { params.append(try format(p, style: style, depth: depth)) }
            if m.isVarArg { params.append("...") }
            return try format(m.returnType, style: style, depth: depth) + " (" + params.joined(separator: ", ") + ")"
        case .modified(let t, _, _), .pinned(let t):
            return try format(t, style: style, depth: depth)
        case .runtimeHandle(let h):
            // Metadata cannot name a runtime TypeHandle; the runtime layer names these before formatting.
            return "<TypeHandle 0x" + String(h, radix: 16) + ">"
        }
    }

    /// The name of the assembly this module's metadata says defines the type (used inside
    /// runtime-style generic argument lists); nil for type parameters.
    func assemblyName(of type: TypeSignature, depth: Int) throws(MetadataError) -> String? {
        guard depth < Self.maxNesting else { return nil }
        switch type {
        case .primitive: return try coreLibraryName()
        case .named(let token, _):
            switch token.table {
            case .typeDef?: return try ownAssemblyName()
            case .typeRef?:
                var row = try checkRow(token, .typeRef)
                for _ in 0..<Self.maxNesting {
                    guard let scope = try typeRef(row).resolutionScope else { return try ownAssemblyName() }
                    switch scope.table {
                    case .assemblyRef?: return try assemblyRef(checkRow(scope, .assemblyRef)).name
                    case .typeRef?: row = try checkRow(scope, .typeRef)
                    default: return try ownAssemblyName()
                    }
                }
                return nil
            case .typeSpec?:
                let sig = try typeSpecSignature(blob: typeSpec(checkRow(token, .typeSpec)).signature)
                return try assemblyName(of: sig, depth: depth + 1)
            default: return nil
            }
        case .genericInstance(let g, _): return try assemblyName(of: g, depth: depth + 1)
        case .szArray(let e), .array(let e, _), .pointer(let e), .byRef(let e),
             .modified(let e, _, _), .pinned(let e):
            return try assemblyName(of: e, depth: depth + 1)
        case .functionPointer: return try coreLibraryName()
        case .typeParameter, .methodParameter, .runtimeHandle: return nil
        }
    }

    /// This module's assembly name (or module name for a netmodule).
    public func ownAssemblyName() throws(MetadataError) -> String {
        if let a = try assembly() { return a.name }
        let m = try module().name
        return m.hasSuffix(".dll") || m.hasSuffix(".exe") ? String(m.dropLast(4)) : m
    }

    /// The assembly primitives live in, as seen from this module: itself when it references
    /// no core library (it is one), else the first well-known core library it references.
    public func coreLibraryName() throws(MetadataError) -> String {
        let known = ["System.Private.CoreLib", "mscorlib", "System.Runtime", "netstandard"]
        var found: [String] = []
        for r in stride(from: 1, through: rowCount(.assemblyRef), by: 1) {
            let name = try assemblyRef(r).name
            if known.contains(name) { found.append(name) }
        }
        for k in known where found.contains(k) { return k }
        return try ownAssemblyName()
    }

    private func join(_ namespace: String, _ name: String) -> String {
        namespace.isEmpty ? name : namespace + "." + name
    }

    // MARK: Members of a type

    /// The Field rows owned by a TypeDef (through FieldPtr when the tables are uncompressed).
    public func fields(ofTypeDef row: Int) throws(MetadataError) -> [FieldRow] {
        var result: [FieldRow] = []
        for r in try memberRows(ofTypeDef: row, column: 4, members: .field, pointers: .fieldPtr) {
            result.append(try field(r))
        }
        return result
    }

    /// The MethodDef rows owned by a TypeDef.
    public func methods(ofTypeDef row: Int) throws(MetadataError) -> [MethodDefRow] {
        var result: [MethodDefRow] = []
        for r in try memberRows(ofTypeDef: row, column: 5, members: .methodDef, pointers: .methodPtr) {
            result.append(try methodDef(r))
        }
        return result
    }

    /// The Param rows of a MethodDef (sequence 0 is the return value, when present).
    public func params(ofMethod row: Int) throws(MetadataError) -> [ParamRow] {
        let start = try listStart(.methodDef, row, column: 5, members: .param)
        let end = row < rowCount(.methodDef) ? try listStart(.methodDef, row + 1, column: 5, members: .param)
                                             : rowCount(.param) + 1
        var result: [ParamRow] = []
        for r in start..<Swift.max(start, end) {
            result.append(try param(try resolvePointer(r, pointers: .paramPtr)))
        }
        return result
    }

    /// The TypeDef row that owns a Field row.
    public func declaringType(ofField row: Int) throws(MetadataError) -> Int? {
        try owner(of: row, column: 4, members: .field, pointers: .fieldPtr)
    }

    /// The TypeDef row that owns a MethodDef row.
    public func declaringType(ofMethod row: Int) throws(MetadataError) -> Int? {
        try owner(of: row, column: 5, members: .methodDef, pointers: .methodPtr)
    }

    /// Start of a member list, clamped to 1...count+1 so corrupt values give empty runs.
    private func listStart(_ table: TableID, _ row: Int, column: Int, members: TableID) throws(MetadataError) -> Int {
        let v = Int(try cell(table, row, column))
        return Swift.min(Swift.max(v, 1), listCount(members) + 1)
    }

    /// Length of the list a member column indexes: the Ptr table when present.
    private func listCount(_ members: TableID) -> Int {
        let ptr: TableID? = members == .field ? .fieldPtr : members == .methodDef ? .methodPtr : members == .param ? .paramPtr : nil
        if let ptr, rowCount(ptr) > 0 { return rowCount(ptr) }
        return rowCount(members)
    }

    private func resolvePointer(_ index: Int, pointers: TableID) throws(MetadataError) -> Int {
        rowCount(pointers) > 0 ? Int(try cell(pointers, index, 0)) : index
    }

    private func memberRows(ofTypeDef row: Int, column: Int, members: TableID, pointers: TableID) throws(MetadataError) -> [Int] {
        let start = try listStart(.typeDef, row, column: column, members: members)
        let end = row < rowCount(.typeDef) ? try listStart(.typeDef, row + 1, column: column, members: members)
                                           : listCount(members) + 1
        var rows: [Int] = []
        for i in start..<Swift.max(start, end) { rows.append(try resolvePointer(i, pointers: pointers)) }
        return rows
    }

    private func owner(of memberRow: Int, column: Int, members: TableID, pointers: TableID) throws(MetadataError) -> Int? {
        guard memberRow >= 1, memberRow <= rowCount(members) else { return nil }
        // Position of the member in the list the TypeDef column indexes.
        var index = memberRow
        if rowCount(pointers) > 0 {
            var found: Int?
            for i in stride(from: 1, through: rowCount(pointers), by: 1) where Int(try cell(pointers, i, 0)) == memberRow {
                found = i
                break
            }
            guard let found else { return nil }
            index = found
        }
        // Last TypeDef whose list starts at or before `index` (lists are non-decreasing).
        var lo = 1, hi = rowCount(.typeDef), best: Int?
        while lo <= hi {
            let mid = (lo + hi) / 2
            if try listStart(.typeDef, mid, column: column, members: members) <= index {
                best = mid
                lo = mid + 1
            } else {
                hi = mid - 1
            }
        }
        return best
    }

    // MARK: Token lookups

    /// Runtime-style name of a TypeDef token (0x02xxxxxx).
    public func typeName(ofTypeDef token: MetadataToken) throws(MetadataError) -> String {
        try fullName(ofTypeDef: checkRow(token, .typeDef))
    }

    /// A Field token's row, decoded type and owner.
    public func fieldInfo(_ token: MetadataToken) throws(MetadataError) -> FieldInfo {
        let row = try checkRow(token, .field)
        let f = try field(row)
        let type = try fieldSignature(blob: f.signature)
        return FieldInfo(row: f, type: type,
                         typeName: try format(type, style: .runtime),
                         declaringType: try declaringType(ofField: row).map { MetadataToken(.typeDef, row: $0) })
    }

    /// A MethodDef token's row, decoded signature, owner and SOS-style display name.
    public func methodInfo(_ token: MetadataToken) throws(MetadataError) -> MethodInfo {
        let row = try checkRow(token, .methodDef)
        let m = try methodDef(row)
        let sig = try methodSignature(blob: m.signature)
        let owner = try declaringType(ofMethod: row)
        var params: [String] = []
        for p in sig.parameters { params.append(try format(p, style: .signature)) }
        if sig.isVarArg { params.append("...") }
        let ownerName = try owner.map { (r: Int) throws(MetadataError) -> String in try fullName(ofTypeDef: r) }
        let prefix = ownerName.map { $0 + "." } ?? ""
        return MethodInfo(row: m, signature: sig,
                          declaringType: owner.map { MetadataToken(.typeDef, row: $0) },
                          displayName: prefix + m.name + "(" + params.joined(separator: ", ") + ")")
    }

    /// The TypeDef whose runtime-style full name (`Namespace.Outer+Inner`) is `name`, as
    /// `!Name2EE module name` needs. Linear over the TypeDef table; names are case-sensitive.
    public func typeDef(named name: String) throws(MetadataError) -> MetadataToken? {
        // Cheap prefilter: the simple name is the part after the last '+' (nested) or '.'.
        let simple = name.split(separator: "+").last.map(String.init) ?? name
        for r in stride(from: 1, through: rowCount(.typeDef), by: 1) {
            let own = try string(at: cell(.typeDef, r, 1))
            guard simple == own || simple.hasSuffix("." + own) else { continue }
            if try fullName(ofTypeDef: r) == name { return MetadataToken(.typeDef, row: r) }
        }
        return nil
    }

    /// Every TypeDef with its full name, in table order (row 1 is `<Module>`).
    public func allTypeNames() throws(MetadataError) -> [(token: MetadataToken, name: String)] {
        var result: [(token: MetadataToken, name: String)] = []
        for r in stride(from: 1, through: rowCount(.typeDef), by: 1) {
            result.append((MetadataToken(.typeDef, row: r), try fullName(ofTypeDef: r)))
        }
        return result
    }
}

/// A field with its decoded type, for `!do`/`!DumpClass`-style listings.
public struct FieldInfo: Sendable, Equatable {
    public let row: FieldRow
    public let type: TypeSignature
    /// Runtime-style type name (`System.String`, `System.Int32`).
    public let typeName: String
    public let declaringType: MetadataToken?
    public var name: String { row.name }
    public var token: MetadataToken { row.token }
}

/// A method with its decoded signature and the name SOS prints for it.
public struct MethodInfo: Sendable, Equatable {
    public let row: MethodDefRow
    public let signature: MethodSignature
    public let declaringType: MetadataToken?
    /// `Namespace.Type.Method(System.String, Int32)`, like `!clrstack` and `!dumpmd`.
    public let displayName: String
    public var name: String { row.name }
    public var token: MetadataToken { row.token }
}
