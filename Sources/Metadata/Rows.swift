// Decoded rows of the tables dumpdbg needs to name things. Each struct is a plain value
// holding resolved strings; signatures stay as blob indexes until asked for (Signatures.swift).

public struct ModuleRow: Sendable, Equatable {
    public let name: String
    public let mvid: GUID?
}

public struct TypeRefRow: Sendable, Equatable {
    public let token: MetadataToken
    /// Module, ModuleRef, AssemblyRef or (for nested types) TypeRef; nil = look in ExportedType.
    public let resolutionScope: MetadataToken?
    public let name: String
    public let namespace: String
}

/// TypeAttributes bits we interpret (ECMA-335 II.23.1.15).
public enum TypeAttributes {
    public static let visibilityMask: UInt32 = 0x7
    public static let interface: UInt32 = 0x20
    public static let abstract: UInt32 = 0x80
    public static let sealed: UInt32 = 0x100
}

public struct TypeDefRow: Sendable, Equatable {
    public let token: MetadataToken
    public let flags: UInt32
    public let name: String
    public let namespace: String
    /// Base type (TypeDef, TypeRef or TypeSpec); nil for System.Object, interfaces and <Module>.
    public let extends: MetadataToken?
    /// First Field row (1-based) owned by this type; the run ends at the next type's fieldList.
    public let fieldList: Int
    /// First MethodDef row owned by this type.
    public let methodList: Int

    public var isInterface: Bool { flags & TypeAttributes.interface != 0 }
    /// Visibility values 2...7 are the nested ones.
    public var isNested: Bool { flags & TypeAttributes.visibilityMask >= 2 }
}

/// FieldAttributes bits (ECMA-335 II.23.1.5).
public enum FieldAttributes {
    public static let accessMask: UInt16 = 0x7
    public static let `static`: UInt16 = 0x10
    public static let initOnly: UInt16 = 0x20
    public static let literal: UInt16 = 0x40
    public static let hasFieldRVA: UInt16 = 0x100
}

public struct FieldRow: Sendable, Equatable {
    public let token: MetadataToken
    public let flags: UInt16
    public let name: String
    /// #Blob index of the FieldSig.
    public let signature: UInt32
    public var isStatic: Bool { flags & FieldAttributes.static != 0 }
    public var isLiteral: Bool { flags & FieldAttributes.literal != 0 }
}

/// MethodAttributes bits (ECMA-335 II.23.1.10).
public enum MethodAttributes {
    public static let `static`: UInt16 = 0x10
    public static let virtual: UInt16 = 0x40
    public static let abstract: UInt16 = 0x400
}

public struct MethodDefRow: Sendable, Equatable {
    public let token: MetadataToken
    /// RVA of the IL body; 0 for abstract, extern and runtime-implemented methods.
    public let rva: UInt32
    public let implFlags: UInt16
    public let flags: UInt16
    public let name: String
    /// #Blob index of the MethodDefSig.
    public let signature: UInt32
    /// First Param row owned by this method.
    public let paramList: Int
    public var isStatic: Bool { flags & MethodAttributes.static != 0 }
}

public struct ParamRow: Sendable, Equatable {
    public let token: MetadataToken
    public let flags: UInt16
    /// 0 is the return value, 1... the parameters.
    public let sequence: UInt16
    public let name: String
}

public struct NestedClassRow: Sendable, Equatable {
    public let nested: MetadataToken
    public let enclosing: MetadataToken
}

public struct AssemblyVersion: Sendable, Equatable, CustomStringConvertible {
    public let major, minor, build, revision: UInt16
    public var description: String { "\(major).\(minor).\(build).\(revision)" }
}

public struct AssemblyRow: Sendable, Equatable {
    public let hashAlgorithm: UInt32
    public let version: AssemblyVersion
    public let flags: UInt32
    public let publicKey: [UInt8]
    public let name: String
    public let culture: String
}

public struct AssemblyRefRow: Sendable, Equatable {
    public let token: MetadataToken
    public let version: AssemblyVersion
    public let flags: UInt32
    public let publicKeyOrToken: [UInt8]
    public let name: String
    public let culture: String
}

public struct TypeSpecRow: Sendable, Equatable {
    public let token: MetadataToken
    public let signature: UInt32
}

public struct MemberRefRow: Sendable, Equatable {
    public let token: MetadataToken
    /// TypeDef, TypeRef, ModuleRef, MethodDef or TypeSpec.
    public let parent: MetadataToken?
    public let name: String
    public let signature: UInt32
}

extension MetadataReader {
    public func module() throws(MetadataError) -> ModuleRow {
        ModuleRow(name: try string(at: cell(.module, 1, 1)), mvid: try guid(at: cell(.module, 1, 2)))
    }

    public func typeRef(_ row: Int) throws(MetadataError) -> TypeRefRow {
        TypeRefRow(token: MetadataToken(.typeRef, row: row),
                   resolutionScope: try coded(.resolutionScope, .typeRef, row, 0),
                   name: try string(at: cell(.typeRef, row, 1)),
                   namespace: try string(at: cell(.typeRef, row, 2)))
    }

    public func typeDef(_ row: Int) throws(MetadataError) -> TypeDefRow {
        TypeDefRow(token: MetadataToken(.typeDef, row: row),
                   flags: try cell(.typeDef, row, 0),
                   name: try string(at: cell(.typeDef, row, 1)),
                   namespace: try string(at: cell(.typeDef, row, 2)),
                   extends: try coded(.typeDefOrRef, .typeDef, row, 3),
                   fieldList: Int(try cell(.typeDef, row, 4)),
                   methodList: Int(try cell(.typeDef, row, 5)))
    }

    public func field(_ row: Int) throws(MetadataError) -> FieldRow {
        FieldRow(token: MetadataToken(.field, row: row),
                 flags: UInt16(truncatingIfNeeded: try cell(.field, row, 0)),
                 name: try string(at: cell(.field, row, 1)),
                 signature: try cell(.field, row, 2))
    }

    public func methodDef(_ row: Int) throws(MetadataError) -> MethodDefRow {
        MethodDefRow(token: MetadataToken(.methodDef, row: row),
                     rva: try cell(.methodDef, row, 0),
                     implFlags: UInt16(truncatingIfNeeded: try cell(.methodDef, row, 1)),
                     flags: UInt16(truncatingIfNeeded: try cell(.methodDef, row, 2)),
                     name: try string(at: cell(.methodDef, row, 3)),
                     signature: try cell(.methodDef, row, 4),
                     paramList: Int(try cell(.methodDef, row, 5)))
    }

    public func param(_ row: Int) throws(MetadataError) -> ParamRow {
        ParamRow(token: MetadataToken(.param, row: row),
                 flags: UInt16(truncatingIfNeeded: try cell(.param, row, 0)),
                 sequence: UInt16(truncatingIfNeeded: try cell(.param, row, 1)),
                 name: try string(at: cell(.param, row, 2)))
    }

    public func nestedClass(_ row: Int) throws(MetadataError) -> NestedClassRow {
        NestedClassRow(nested: MetadataToken(.typeDef, row: Int(try cell(.nestedClass, row, 0))),
                       enclosing: MetadataToken(.typeDef, row: Int(try cell(.nestedClass, row, 1))))
    }

    /// The Assembly row, or nil for a netmodule (no manifest).
    public func assembly() throws(MetadataError) -> AssemblyRow? {
        guard rowCount(.assembly) >= 1 else { return nil }
        return AssemblyRow(hashAlgorithm: try cell(.assembly, 1, 0),
                           version: try version(.assembly, 1, first: 1),
                           flags: try cell(.assembly, 1, 5),
                           publicKey: try blob(at: cell(.assembly, 1, 6)),
                           name: try string(at: cell(.assembly, 1, 7)),
                           culture: try string(at: cell(.assembly, 1, 8)))
    }

    public func assemblyRef(_ row: Int) throws(MetadataError) -> AssemblyRefRow {
        AssemblyRefRow(token: MetadataToken(.assemblyRef, row: row),
                       version: try version(.assemblyRef, row, first: 0),
                       flags: try cell(.assemblyRef, row, 4),
                       publicKeyOrToken: try blob(at: cell(.assemblyRef, row, 5)),
                       name: try string(at: cell(.assemblyRef, row, 6)),
                       culture: try string(at: cell(.assemblyRef, row, 7)))
    }

    public func typeSpec(_ row: Int) throws(MetadataError) -> TypeSpecRow {
        TypeSpecRow(token: MetadataToken(.typeSpec, row: row), signature: try cell(.typeSpec, row, 0))
    }

    public func memberRef(_ row: Int) throws(MetadataError) -> MemberRefRow {
        MemberRefRow(token: MetadataToken(.memberRef, row: row),
                     parent: try coded(.memberRefParent, .memberRef, row, 0),
                     name: try string(at: cell(.memberRef, row, 1)),
                     signature: try cell(.memberRef, row, 2))
    }

    private func version(_ t: TableID, _ row: Int, first: Int) throws(MetadataError) -> AssemblyVersion {
        AssemblyVersion(major: UInt16(truncatingIfNeeded: try cell(t, row, first)),
                        minor: UInt16(truncatingIfNeeded: try cell(t, row, first + 1)),
                        build: UInt16(truncatingIfNeeded: try cell(t, row, first + 2)),
                        revision: UInt16(truncatingIfNeeded: try cell(t, row, first + 3)))
    }
}
