import Foundation
import Testing
@testable import Metadata

/// System.Private.CoreLib.dll of .NET Core 3.1.23 (a ReadyToRun PE32+ image, ~9 MB, 1891 types):
/// exercises 4-byte heap indexes, big tables and every signature shape the BCL uses.
@Suite(.enabled(if: Fixtures.runtime31 != nil, Fixtures.coreLibSkipReason))
struct CoreLibTests {
    let reader: MetadataReader
    let image: PEImage

    init() throws {
        let path = try #require(Fixtures.runtime31)
        image = try PEImage(path: path)
        reader = try MetadataReader(image: image)
    }

    @Test func identity() throws {
        #expect(image.isPE32Plus)
        #expect(try reader.assembly()?.name == "System.Private.CoreLib")
        #expect(try reader.assembly()?.version.description == "4.0.0.0")
        #expect(try reader.module().name == "System.Private.CoreLib.dll")
        // monodis --module prints {82D8E023-E6B4-4028-A9DC-44DEE6B6A537}.
        #expect(try reader.module().mvid?.description == "82d8e023-e6b4-4028-a9dc-44dee6b6a537")
        #expect(try reader.coreLibraryName() == "System.Private.CoreLib")
        #expect(reader.rowCount(.typeDef) == 1891) // monodis --typedef lists 1891 rows
        #expect(reader.rowCount(.methodDef) > 20000)
    }

    @Test func stringFields() throws {
        let fields = try reader.fieldList("System.String")
        #expect(fields.map(\.name) == ["_stringLength", "_firstChar", "Empty"])
        #expect(fields.map(\.type) == ["System.Int32", "System.Char", "System.String"])
        #expect(try reader.typeDef(named: "System.String")?.rawValue == 0x0200_0075)
    }

    @Test func exceptionFields() throws {
        let fields = try reader.fieldList("System.Exception")
        let byName = Dictionary(fields.map { ($0.name, $0.type) }, uniquingKeysWith: { a, _ in a })
        #expect(byName["_message"] == "System.String")
        #expect(byName["_innerException"] == "System.Exception")
        #expect(byName["_stackTrace"] == "System.Object")
        #expect(byName["_HResult"] == "System.Int32")
        #expect(byName["_ipForWatsonBuckets"] == "System.UIntPtr")
        #expect(byName["_data"] == "System.Collections.IDictionary")
    }

    @Test func listFields() throws {
        let list = try reader.fieldList("System.Collections.Generic.List`1")
        #expect(list.map(\.name) == ["_items", "_size", "_version", "s_emptyArray"])
        #expect(list.map(\.type) == ["!0[]", "System.Int32", "System.Int32", "!0[]"])
        let enumerator = try reader.fieldList("System.Collections.Generic.List`1+Enumerator")
        #expect(enumerator.first?.name == "_list")
        #expect(enumerator.first?.type == "System.Collections.Generic.List`1[[!0]]")
    }

    @Test func nestedTypeNames() throws {
        let names = Set(try reader.allTypeNames().map(\.name))
        #expect(names.contains("System.Collections.Generic.Dictionary`2+KeyCollection+Enumerator"))
        #expect(names.contains("System.Threading.Tasks.Task+<>c"))
        #expect(names.contains("System.Collections.Generic.Dictionary`2+Entry"))
        let entry = try #require(try reader.typeDef(named: "System.Collections.Generic.Dictionary`2+Entry"))
        let outer = try #require(try reader.enclosingType(ofTypeDef: entry.row))
        #expect(try reader.fullName(ofTypeDef: outer) == "System.Collections.Generic.Dictionary`2")
    }

    /// Frames of the async-crash stack (linux-3.1.log) named the way SOS's !clrstack names them.
    @Test func methodDisplayNames() throws {
        let task = try #require(try reader.typeDef(named: "System.Threading.Tasks.Task+<>c"))
        let throwAsync = try #require(try reader.methods(ofTypeDef: task.row).first { $0.name == "<ThrowAsync>b__139_1" })
        #expect(try reader.methodInfo(throwAsync.token).displayName
                == "System.Threading.Tasks.Task+<>c.<ThrowAsync>b__139_1(System.Object)")

        let queue = try #require(try reader.typeDef(named: "System.Threading.ThreadPoolWorkQueue"))
        let dispatch = try #require(try reader.methods(ofTypeDef: queue.row).first { $0.name == "Dispatch" })
        #expect(try reader.methodInfo(dispatch.token).displayName == "System.Threading.ThreadPoolWorkQueue.Dispatch()")

        let string = try #require(try reader.typeDef(named: "System.String"))
        let display = try reader.methods(ofTypeDef: string.row).map { try reader.methodInfo($0.token).displayName }
        #expect(display.contains("System.String.Concat(System.String, System.String)"))
        #expect(display.contains("System.String.Concat(System.Object[])"))
        #expect(display.contains("System.String.Concat(System.ReadOnlySpan`1<Char>, System.ReadOnlySpan`1<Char>)"))
        #expect(display.contains("System.String.Concat(System.Collections.Generic.IEnumerable`1<!!0>)"))
        #expect(display.contains("System.String.Join(Char, System.String[], Int32, Int32)"))

        let monitor = try #require(try reader.typeDef(named: "System.Threading.Monitor"))
        let monitorMethods = try reader.methods(ofTypeDef: monitor.row).map { try reader.methodInfo($0.token).displayName }
        #expect(monitorMethods.contains("System.Threading.Monitor.Enter(System.Object, Boolean ByRef)"))
    }

    /// Every field and method signature in CoreLib must decode: this covers PTR, custom
    /// modifiers, GENERICINST, VAR/MVAR and BYREF as the compiler really emits them.
    /// (C# 8 emits no FNPTR, so 3.1's CoreLib has none; that case is only decoded, not asserted.)
    @Test func everySignatureDecodes() throws {
        let visited = try reader.walkEverything()
        #expect(visited > 25000)
        var sawPointer = false, sawModifier = false
        func scan(_ t: TypeSignature) {
            switch t {
            case .pointer(let e): sawPointer = true; scan(e)
            case .modified(let e, _, _): sawModifier = true; scan(e)
            case .functionPointer(let m): scan(m.returnType); m.parameters.forEach(scan)
            case .szArray(let e), .array(let e, _), .byRef(let e), .pinned(let e): scan(e)
            case .genericInstance(let g, let args): scan(g); args.forEach(scan)
            default: break
            }
        }
        for r in 1...reader.rowCount(.methodDef) {
            let sig = try reader.methodSignature(blob: reader.methodDef(r).signature)
            scan(sig.returnType)
            sig.parameters.forEach(scan)
        }
        for r in 1...reader.rowCount(.field) { scan(try reader.fieldSignature(blob: reader.field(r).signature)) }
        #expect(sawPointer)
        #expect(sawModifier)
    }

    @Test func tokenLookups() throws {
        let f = try reader.fieldInfo(MetadataToken(rawValue: 0x0400_022A)) // 554 = _stringLength
        #expect(f.name == "_stringLength")
        #expect(try reader.typeName(ofTypeDef: try #require(f.declaringType)) == "System.String")
        #expect(throws: MetadataError.self) { try reader.fieldInfo(MetadataToken(rawValue: 0x04FF_FFFF)) }
        #expect(throws: MetadataError.self) { try reader.methodInfo(MetadataToken(rawValue: 0x0200_0001)) }
    }
}
