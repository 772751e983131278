import Foundation
import Testing
@testable import Metadata

/// app.exe is compiled by mcs from Program.cs beside it; every name asserted here is in that source.
@Suite struct AppExeTests {
    let reader: MetadataReader
    let image: PEImage

    init() throws {
        image = try PEImage(path: Fixtures.appExe)
        reader = try MetadataReader(image: image)
    }

    @Test func peHeaders() throws {
        #expect(image.machine == 0x14C)          // mcs emits an AnyCPU PE32 image
        #expect(!image.isPE32Plus)
        #expect(image.imageBase == 0x0040_0000)
        #expect(image.sections.map(\.name).contains(".text"))
        #expect(image.dataDirectories.count == 16)
        let cli = try image.cliHeader()
        #expect(cli.majorRuntimeVersion == 2)
        #expect(cli.metadata.size > 0)
        // The entry point is CrashLab.Program.Main.
        let main = try reader.methodInfo(MetadataToken(rawValue: cli.entryPointToken))
        #expect(main.displayName == "CrashLab.Program.Main(System.String[])")
    }

    @Test func metadataRoot() throws {
        #expect(reader.versionString == "v4.0.30319")
        let names = reader.streams.map(\.name)
        #expect(names.contains("#~"))
        #expect(names.contains("#Strings"))
        #expect(names.contains("#Blob"))
        #expect(names.contains("#GUID"))
        #expect(names.contains("#US"))
        #expect(reader.rowCount(.typeDef) == 6)
        #expect(reader.rowCount(.field) == 22)
        #expect(reader.rowCount(.methodDef) == 12)
        #expect(reader.rowCount(.nestedClass) == 1)
        // Row sizes for a small module: every heap and table index is 2 bytes.
        #expect(reader.rowSize(.typeDef) == 14)
        #expect(reader.rowSize(.methodDef) == 14)
        #expect(reader.rowSize(.field) == 6)
    }

    /// The MVID is fixed by the checked-in app.exe (sha256 in build-info.txt); monodis --module
    /// prints {0397B2F4-F0EC-44E7-BB5D-65BE7A5F6205} for it.
    @Test func moduleAndAssembly() throws {
        let module = try reader.module()
        #expect(module.name == "app.exe")
        #expect(module.mvid?.description == "0397b2f4-f0ec-44e7-bb5d-65be7a5f6205")
        let assembly = try #require(try reader.assembly())
        #expect(assembly.name == "app")
        #expect(assembly.version.description == "0.0.0.0")
        let refs = try (1...reader.rowCount(.assemblyRef)).map { try reader.assemblyRef($0).name }
        #expect(refs.contains("mscorlib"))
        #expect(try reader.coreLibraryName() == "mscorlib")
    }

    @Test func buildInfoMatchesThisFile() throws {
        let info = try String(contentsOfFile: Fixtures.asyncCrashDirectory + "/build-info.txt", encoding: .utf8)
        #expect(info.contains("app_sha256=9b6005c215f08e7c5775a22b5028307d47f33dcf16a0e865cfcfb0cc2289a20c"))
    }

    @Test func typeNames() throws {
        let names = try reader.allTypeNames().map(\.name)
        #expect(names == [
            "<Module>",
            "System.Web.Hosting.IIS7WorkerRequest",
            "CrashLab.UserProfile",
            "CrashLab.AccountController",
            "CrashLab.Program",
            "CrashLab.AccountController+<LoginAsync>c__async0",
        ])
        let sm = try #require(try reader.typeDef(named: "CrashLab.AccountController+<LoginAsync>c__async0"))
        #expect(sm.rawValue == 0x0200_0006)
        #expect(try reader.enclosingType(ofTypeDef: sm.row) == 4)
        #expect(try reader.typeDef(sm.row).isNested)
        #expect(try reader.typeDef(named: "CrashLab.UserProfile")?.rawValue == 0x0200_0003)
        #expect(try reader.typeDef(named: "CrashLab.Nope") == nil)
        #expect(try reader.typeDef(named: "UserProfile") == nil)
        #expect(try reader.typeName(ofTypeDef: MetadataToken(rawValue: 0x0200_0002)) == "System.Web.Hosting.IIS7WorkerRequest")
    }

    @Test func baseTypes() throws {
        let request = try reader.typeDef(2)
        #expect(try reader.typeName(try #require(request.extends)) == "System.Object")
        let sm = try reader.typeDef(6)
        #expect(try reader.typeName(try #require(sm.extends)) == "System.ValueType") // mcs makes async state machines structs
    }

    @Test func workerRequestFields() throws {
        let fields = try reader.fieldList("System.Web.Hosting.IIS7WorkerRequest")
        #expect(fields.map(\.name) == ["_path", "_httpVerb", "_queryString", "_statusCode", "_startTime", "_headers"])
        #expect(fields.map(\.type) == [
            "System.String", "System.String", "System.String", "System.Int32", "System.DateTime",
            "System.Collections.Generic.Dictionary`2[[System.String, mscorlib],[System.String, mscorlib]]",
        ])
        let path = try reader.fieldInfo(MetadataToken(rawValue: 0x0400_0001))
        #expect(path.name == "_path")
        #expect(path.declaringType?.rawValue == 0x0200_0002)
        #expect(!path.type.isValueType)
        #expect(!path.row.isStatic)
        let start = try reader.fieldInfo(MetadataToken(rawValue: 0x0400_0005))
        #expect(start.type.isValueType)
        // The signature style is the runtime's SigFormat.
        #expect(try reader.format(start.type, style: .signature) == "System.DateTime")
        #expect(try reader.format(reader.fieldInfo(MetadataToken(rawValue: 0x0400_0004)).type, style: .signature) == "Int32")
        #expect(try reader.format(reader.fieldInfo(MetadataToken(rawValue: 0x0400_0006)).type, style: .signature)
                == "System.Collections.Generic.Dictionary`2<System.String,System.String>")
    }

    @Test func crashLabFields() throws {
        let profile = try reader.fieldList("CrashLab.UserProfile")
        #expect(profile.map(\.name) == ["UserName", "Email", "LoginCount", "Manager"])
        #expect(profile.map(\.type) == ["System.String", "System.String", "System.Int32", "CrashLab.UserProfile"])

        let controller = try reader.fieldList("CrashLab.AccountController")
        #expect(controller.map(\.name) == ["Request", "CurrentUser"])
        #expect(controller.map(\.type) == ["System.Web.Hosting.IIS7WorkerRequest", "CrashLab.UserProfile"])

        let program = try reader.fieldList("CrashLab.Program")
        #expect(program.map(\.name) == ["Ready", "Never", "Roots", "Mode", "<>f__mg$cache0"])
        #expect(program[2].type == "System.Collections.Generic.List`1[[System.Object, mscorlib]]")
        #expect(program[0].type == "System.Threading.ManualResetEvent")
        let statics = try reader.fields(ofTypeDef: 5).map(\.isStatic)
        #expect(statics.allSatisfy { $0 })

        let sm = try reader.fieldList("CrashLab.AccountController+<LoginAsync>c__async0")
        #expect(sm.map(\.name) == ["user", "$this", "$builder", "$PC", "$awaiter0"])
        #expect(sm.map(\.type) == [
            "System.String", "CrashLab.AccountController",
            "System.Runtime.CompilerServices.AsyncVoidMethodBuilder", "System.Int32",
            "System.Runtime.CompilerServices.TaskAwaiter",
        ])
    }

    @Test func methodsAsSOSPrintsThem() throws {
        var names: [String] = []
        for row in 1...reader.rowCount(.methodDef) {
            names.append(try reader.methodInfo(MetadataToken(.methodDef, row: row)).displayName)
        }
        #expect(names == [
            "System.Web.Hosting.IIS7WorkerRequest..ctor(System.String, System.String)",
            "CrashLab.UserProfile..ctor()",
            "CrashLab.AccountController..ctor(System.Web.Hosting.IIS7WorkerRequest)",
            "CrashLab.AccountController.LoginAsync(System.String)",
            "CrashLab.Program.WorkerThreadProc()",
            "CrashLab.Program.ProcessRequest(System.Web.Hosting.IIS7WorkerRequest)",
            "CrashLab.Program.ExecuteStep(CrashLab.AccountController, System.Web.Hosting.IIS7WorkerRequest)",
            "CrashLab.Program.AllocateHeap()",
            "CrashLab.Program.Main(System.String[])",
            "CrashLab.Program..cctor()",
            "CrashLab.AccountController+<LoginAsync>c__async0.MoveNext()",
            "CrashLab.AccountController+<LoginAsync>c__async0.SetStateMachine(System.Runtime.CompilerServices.IAsyncStateMachine)",
        ])
        let login = try reader.methodInfo(MetadataToken(rawValue: 0x0600_0004))
        #expect(login.signature.hasThis)
        #expect(login.signature.returnType == .primitive(.void))
        #expect(login.declaringType?.rawValue == 0x0200_0004)
        #expect(login.row.rva != 0)
        #expect(try reader.params(ofMethod: 4).map(\.name) == ["user"])
        #expect(try reader.params(ofMethod: 7).map(\.name) == ["ctl", "wr"])
        #expect(try reader.methods(ofTypeDef: 5).map(\.name)
                == ["WorkerThreadProc", "ProcessRequest", "ExecuteStep", "AllocateHeap", "Main", ".cctor"])
        #expect(try reader.declaringType(ofMethod: 12) == 6)
        #expect(try reader.declaringType(ofField: 22) == 6)
        #expect(try reader.declaringType(ofField: 1) == 2)
    }

    @Test func typeRefsAndMemberRefs() throws {
        var refs: [String] = []
        for r in 1...reader.rowCount(.typeRef) { refs.append(try reader.fullName(ofTypeRef: r)) }
        #expect(refs.contains("System.Threading.Tasks.Task"))
        #expect(refs.contains("System.Runtime.CompilerServices.AsyncVoidMethodBuilder"))
        var members: [String] = []
        for r in 1...reader.rowCount(.memberRef) { members.append(try reader.memberRef(r).name) }
        #expect(members.contains("Delay"))
        #expect(members.contains("WriteLine"))
        // MemberRef signatures decode with the same machinery.
        let delay = try #require(try (1...reader.rowCount(.memberRef)).map { try reader.memberRef($0) }.first { $0.name == "Delay" })
        let sig = try reader.methodSignature(blob: delay.signature)
        #expect(try sig.parameters.map { try reader.format($0, style: .signature) } == ["Int32"])
        #expect(try reader.format(sig.returnType) == "System.Threading.Tasks.Task")
    }

    @Test func userStrings() throws {
        // "/Account/Login" is an ldstr literal; #US offset 1 is the first literal mcs wrote.
        var found: [String] = []
        var index: UInt32 = 1
        let heap = try #require(reader.streams.first { $0.name == "#US" })
        while index < heap.size {
            let s = try reader.userString(at: index)
            found.append(s)
            // Entry size: compressed length prefix + bytes.
            let length = UInt32(s.utf16.count * 2 + 1)
            index += length + (length < 0x80 ? 1 : 2)
        }
        #expect(found.contains("/Account/Login"))
        #expect(found.contains("POST"))
        #expect(found.contains("ReturnUrl=%2F"))
    }

    /// A dump holds the image as the loader mapped it; build that layout from the file and
    /// check both layouts read the same metadata.
    @Test func loadedLayoutMatchesFileLayout() throws {
        let file = try Fixtures.appBytes()
        var mapped = [UInt8](repeating: 0, count: Int(image.sizeOfImage))
        mapped.replaceSubrange(0..<Int(image.sizeOfHeaders), with: file[0..<Int(image.sizeOfHeaders)])
        for s in image.sections {
            let n = Int(min(s.sizeOfRawData, s.virtualSize == 0 ? s.sizeOfRawData : max(s.virtualSize, s.sizeOfRawData)))
            let src = Int(s.pointerToRawData)
            let len = min(n, file.count - src, mapped.count - Int(s.virtualAddress))
            mapped.replaceSubrange(Int(s.virtualAddress)..<Int(s.virtualAddress) + len, with: file[src..<src + len])
        }
        let loaded = try PEImage(source: ByteArraySource(mapped), layout: .loaded)
        let r = try MetadataReader(image: loaded)
        #expect(try r.allTypeNames().map(\.name) == reader.allTypeNames().map(\.name))
        #expect(try r.module().mvid == reader.module().mvid)
        // Reading the mapped image as if it were a file layout must not silently succeed
        // with the same answer... but it must not crash either.
        _ = try? MetadataReader(image: PEImage(source: ByteArraySource(mapped), layout: .file)).walkEverything()
    }

    /// A dump's memory may only serve reads inside one region; simulate 64-byte regions.
    @Test func sourceThatOnlyServesSmallPages() throws {
        let paged = PagedSource(inner: ByteArraySource(try Fixtures.appBytes()), page: 64)
        let r = try MetadataReader(image: PEImage(source: paged))
        #expect(try r.walkEverything() == reader.walkEverything())
        #expect(try r.allTypeNames().map(\.name) == reader.allTypeNames().map(\.name))
        #expect(try r.module().mvid == reader.module().mvid)
    }

    @Test func inMemoryAndMappedSourcesAgree() throws {
        let inMemory = try MetadataReader(image: PEImage(source: ByteArraySource(Fixtures.appBytes())))
        #expect(try inMemory.walkEverything() == reader.walkEverything())
    }
}

/// Serves only ranges that stay inside one `page`-sized block, like a dump whose memory
/// comes in separate regions.
struct PagedSource: ByteSource {
    let inner: ByteArraySource
    let page: Int
    var count: Int { inner.count }
    func bytes(at offset: Int, count n: Int) -> UnsafeRawBufferPointer? {
        guard n > 0 else { return inner.bytes(at: offset, count: n) }
        guard offset >= 0, offset / page == (offset + n - 1) / page else { return nil }
        return inner.bytes(at: offset, count: n)
    }
}
