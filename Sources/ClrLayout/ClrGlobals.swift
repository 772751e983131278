import DumpModel
import Native

/// The runtime globals the resolver starts from, named by what they are rather than by how one build
/// spells them. Each runtime build's layout table says where each is found.
public enum ClrGlobal: String, Sendable, CaseIterable {
    case threadStore, freeObjectMethodTable, stringMethodTable, objectMethodTable, exceptionMethodTable
    case finalizerThread, generationTable, ephemeralHeapSegment, allocAllocated, maxGeneration, gcHeapType
    case appDomain, flatImageLayoutVTable
    /// 3.1: `ExecutionManager::m_CodeRangeList` (holds the list head); 8.0: `g_codeRangeMap`, the map itself.
    case codeRangeList
    /// The stub a method's precode calls until the method is compiled (a code address).
    case thePreStub
    /// Pointers to the sync table (SyncTableEntry*), the SyncBlockCache, the thin-lock IdDispenser and the
    /// GC's CFinalize.
    case syncTable, syncBlockCache, thinLockIdDispenser, finalizeQueue
    /// The handle table map itself (HandleTableMap, held by value).
    case handleTableMap
    /// Server GC: the heap count (an int), the array of gc_heap pointers (a pointer to it), and (8.0) the GC's
    /// own table of gc_heap field offsets (an int array; Docs/clr/server-gc.md).
    case gcHeapCount, gcHeapList, gcHeapFieldOffsets
    /// Pointer to the SystemDomain.
    case systemDomain
    /// The FCall table (ECall::MapTargetBackToMethod): the lowest and highest FCall implementation addresses,
    /// and the 127 bucket heads (Docs/clr/fcall-frames.md).
    case fcallLowest, fcallHighest, fcallMethods
    /// The native thread pool's statics (3.1): ThreadCounters and LONGs, the work request list head, the
    /// timer queue (a LIST_ENTRY).
    case tpCpuUtilization, tpWorkerCounter, tpMinWorkers, tpMaxWorkers, tpWorkRequestHead, tpCPThreadCounter
    case tpMaxFreeCPThreads, tpMaxLimitCPThreads, tpMinLimitCPThreads, tpTimerQueue
}

/// The runtime's explicit Frame classes `!CLRStack` names (`[HelperMethodFrame: …]`), found by their vtables: on a
/// build with a symbol table by `_ZTV<length><name>`, through the DAC table by the entry each layout lists.
public enum ClrFrameClasses {
    public static let names = [
        "HelperMethodFrame", "HelperMethodFrame_1OBJ", "HelperMethodFrame_2OBJ", "HelperMethodFrame_3OBJ",
        "HelperMethodFrame_PROTECTOBJ", "GCFrame", "InlinedCallFrame", "DebuggerU2MCatchHandlerFrame",
        "DebuggerClassInitMarkFrame", "DebuggerSecurityCodeMarkFrame", "DebuggerExitFrame", "FaultingExceptionFrame",
        "FuncEvalFrame", "HijackFrame", "ResumableFrame", "RedirectedThreadFrame", "MulticastFrame", "PInvokeCalliFrame",
        "PrestubMethodFrame", "CallCountingHelperFrame", "ProtectByRefsFrame", "ProtectValueClassFrame", "StubDispatchFrame",
        "ExternalMethodFrame", "DynamicHelperFrame", "StubHelperFrame", "TailCallFrame", "ExceptionFilterFrame",
        "SecureDelegateFrame", "ContextTransitionFrame", "UMThkCallFrame", "ComMethodFrame", "ComPlusMethodFrame",
        "ComPrestubMethodFrame", "CLRToCOMMethodFrame",
    ]

    /// FramedMethodFrame's subclasses: m_pMD (+0x18) is the method whose call they stand in for (NULL in some).
    public static let framedMethodFrames: Set<String> = [
        "PrestubMethodFrame", "ExternalMethodFrame", "DynamicHelperFrame", "CallCountingHelperFrame", "StubDispatchFrame",
        "ComPlusMethodFrame",
    ]
    /// The Frames that protect the arguments of a call the runtime is preparing (PromoteCallerStack and kin).
    public static let argumentFrames = framedMethodFrames.union(["MulticastFrame", "SecureDelegateFrame", "PInvokeCalliFrame"])

    /// The Itanium C++ ABI name of a class's vtable.
    static func vtableSymbol(_ name: String) -> String { "_ZTV\(name.utf8.count)\(name)" }
}

/// How a runtime build's globals are found.
public enum ClrGlobalsLocation: Sendable {
    /// By name in libcoreclr.so's ELF symbol table (the file found on the image path); address = module base
    /// + st_value. The names are the build's mangled C++ names.
    case elfSymbols([ClrGlobal: String])
    /// Through the runtime's own table of its globals for the DAC, `g_dacTable`, which the build exports.
    case dacTable(ClrDacTableLayout)
}

/// Where a build's DAC table is and what its entries mean.
public struct ClrDacTableLayout: Sendable {
    public enum Source: Sendable {
        /// An exported ELF symbol (`.dynsym`) of the runtime's file, holding 8-byte absolute addresses (8.0).
        case exportedSymbol(String)
        /// A resource of the runtime's PE image in the dump's memory: `headerWords` 32-bit words, then one
        /// 32-bit RVA per entry (Windows: RT_RCDATA "COREXTERNALDATAACCESSRESOURCE").
        case peResource(type: UInt32, name: String, headerWords: Int)
    }
    public let source: Source
    /// Entries that hold the address of a global variable (8.0: absolute 8-byte addresses).
    public let variables: [ClrGlobal: Int]
    /// Entries that hold an address themselves rather than a variable's: a vtable's address point (compared
    /// with an object's first word) or a function's code.
    public let addresses: [ClrGlobal: Int]
    /// The entry of `g_gcDacGlobals` (GcDacVars*), and the GcDacVars fields that hold the addresses of the
    /// GC's globals (for arrays, the array itself).
    public let gcDacGlobals: Int
    public let gcFields: [ClrGlobal: UInt64]
    /// GcDacVars' major version this layout was read from (checked before any field is trusted).
    public let gcDacVarsMajorVersion: UInt8
    /// The VPTR entries of the explicit Frame classes (vptr_list.h order), by class name.
    public var frameVTables: [String: Int] = [:]
}

/// The addresses of a runtime's globals in the target, whatever way the build makes them findable.
public protocol ClrGlobalsSource: Sendable {
    /// Where the globals came from, said once to the user (`.loadby`, `!eeversion`).
    var provenance: String { get }
    /// The address of the global itself (not the value stored there); nil when this build does not have it.
    func address(of global: ClrGlobal) -> UInt64?
    /// The vtable of an explicit Frame class (as its symbol or DAC entry gives it); nil when not known.
    func frameVTable(_ name: String) -> UInt64?
}

/// Globals through the runtime's DAC table: each entry names the address of a global (or of a function or
/// a vtable); the GC's globals come through GcDacVars.
struct DacTableGlobals: ClrGlobalsSource {
    let layout: ClrDacTableLayout
    let provenance: String
    /// The address entry `index` names.
    let entry: @Sendable (Int) -> UInt64?
    let read: @Sendable (UInt64) -> UInt64?

    /// `g_dacTable` exported by the runtime's ELF file: the table is filled at start-up, so its entries are
    /// read from the dump.
    static func exported(_ name: String, symbols: ElfSymbolFile, base: UInt64, layout: ClrDacTableLayout,
                         read: @escaping @Sendable (UInt64) -> UInt64?) -> DacTableGlobals? {
        guard let table = symbols.symbols[name] else { return nil }
        let start = base &+ table.value
        let count = table.size / 8
        return DacTableGlobals(layout: layout, provenance: "the runtime's DAC table (\(name), exported by \(symbols.path))",
                               entry: { i in UInt64(i) < count ? read(start &+ UInt64(i) &* 8) : nil }, read: read)
    }

    /// The table the runtime's PE image carries as a resource, read from the image in the dump's memory.
    static func resource(type: UInt32, name: String, headerWords: Int, memory: AddressSpace, base: UInt64, fileName: String,
                         layout: ClrDacTableLayout, read: @escaping @Sendable (UInt64) -> UInt64?) -> DacTableGlobals? {
        guard let resources = PEImageResources(memory: memory, base: base),
              let (address, size) = resources.find(type: .id(type), name: .name(name)) else { return nil }
        let count = (Int(size) / 4) - headerWords
        guard count > 0 else { return nil }
        let first = address &+ UInt64(headerWords) * 4
        return DacTableGlobals(layout: layout, provenance: "the runtime's DAC table (resource \(name) of \(fileName) in the dump)",
                               entry: { i in
                                   guard i < count, let rva = memory.readU32(first &+ UInt64(i) * 4), rva != 0 else { return nil }
                                   return base &+ UInt64(rva)
                               }, read: read)
    }

    func address(of global: ClrGlobal) -> UInt64? {
        if let i = layout.variables[global] ?? layout.addresses[global] { return entry(i).flatMap { $0 == 0 ? nil : $0 } }
        guard let field = layout.gcFields[global], let slot = entry(layout.gcDacGlobals),
              let vars = read(slot), vars != 0, gcDacVarsVersion(vars) == layout.gcDacVarsMajorVersion,
              let a = read(vars &+ field), a != 0 else { return nil }
        return a
    }

    private func gcDacVarsVersion(_ vars: UInt64) -> UInt8? { read(vars).map { UInt8(truncatingIfNeeded: $0) } }

    func frameVTable(_ name: String) -> UInt64? {
        layout.frameVTables[name].flatMap(entry).flatMap { $0 == 0 ? nil : $0 }
    }
}

/// Globals from the ELF symbol table of the runtime's own file.
struct ElfSymbolGlobals: ClrGlobalsSource {
    let symbols: ElfSymbolFile
    let names: [ClrGlobal: String]
    let base: UInt64

    var provenance: String { "symbol table of \(symbols.path)" }

    func address(of global: ClrGlobal) -> UInt64? {
        guard let name = names[global], let s = symbols.symbols[name] else { return nil }
        return base &+ s.value
    }

    func frameVTable(_ name: String) -> UInt64? {
        symbols.symbols[ClrFrameClasses.vtableSymbol(name)].map { base &+ $0.value }
    }
}
