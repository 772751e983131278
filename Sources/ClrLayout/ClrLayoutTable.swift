import Metadata

/// Versioned knowledge of CoreCLR's data structures: one value of this struct per supported runtime build,
/// each stated in full in its own file under `Layouts/` beside its evidence note in `Docs/clr/`. There are no
/// defaults: a new runtime build states every value, so none is silently inherited from another version.
public struct ClrLayoutTable: Sendable {
    /// The product version this table was verified on ("3.1.23").
    public let productVersion: String
    /// The runtime's file this table is for: `libcoreclr.so` (Linux) or `coreclr.dll` (Windows).
    public let runtimeFile: String
    /// The runtime file's own version (libcoreclr.so's `@(#)Version X`, coreclr.dll's file version resource),
    /// how the build is recognised.
    public let fileVersions: [String]
    /// Where each runtime global is found.
    public let globals: ClrGlobalsLocation
    /// How the GC lays out its heap in this build's default configuration.
    public let heapKind: ClrHeapKind
    // GC
    public let generationSize: UInt64
    public let generationCount: Int
    public let genStartSegment: UInt64
    /// generation.allocation_start; nil with regions, where a generation is the list of regions it owns.
    public let genAllocationStart: UInt64?
    public let allocContextPtr: UInt64
    public let allocContextLimit: UInt64
    public let segAllocated: UInt64
    public let segCommitted: UInt64
    public let segReserved: UInt64
    public let segUsed: UInt64
    public let segMem: UInt64
    public let segFlags: UInt64
    public let segNext: UInt64
    public let minObjectSize: UInt64
    public let objectAlignment: UInt64
    public let heapTypeServer: UInt32
    // MethodTable
    public let mtFlags: UInt64
    public let mtBaseSize: UInt64
    public let mtFlags2: UInt64
    public let mtToken: UInt64
    public let mtNumVirtuals: UInt64
    public let mtNumInterfaces: UInt64
    public let mtParent: UInt64
    public let mtLoaderModule: UInt64
    /// True when that field is the type's own module (8.0 `m_pModule`); false when it is the loader module
    /// and generic instantiations and arrays find their module through the canonical MT (3.1).
    public let mtModuleIsDirect: Bool
    /// The EEClass/canonical-MT union: the low bits that tag it, and the tag that means "canonical MT".
    public let mtCanonTagMask: UInt64
    public let mtCanonTag: UInt64
    public let mtEEClassOrCanon: UInt64
    public let mtPerInstOrElement: UInt64
    public let mtInterfaceMap: UInt64
    public let mtSize: UInt64
    /// One entry of the interface map (InterfaceInfo_t: the interface's MethodTable).
    public let interfaceEntrySize: UInt64
    public let flagHasComponentSize: UInt32
    public let flagContainsPointers: UInt32
    public let flagHasFinalizer: UInt32
    public let flagCategoryMask: UInt32
    public let flagArrayMask: UInt32
    public let flagArray: UInt32
    public let flagSzArray: UInt32
    public let flagValueTypeMask: UInt32
    public let flagValueType: UInt32
    public let flagInterface: UInt32
    public let flagGenericsMask: UInt32
    public let flagStaticsMask: UInt32
    public let flag2MultipurposeMask: UInt16
    public let flag2HasPerInstInfo: UInt16
    public let flag2HasModuleOverride: UInt16
    // EEClass
    public let eeMethodTable: UInt64
    public let eeFieldDescList: UInt64
    public let eeChunks: UInt64
    public let eeAttrClass: UInt64
    public let eeNormType: UInt64
    public let eeFieldsArePacked: UInt64
    public let eeFixedFieldsSize: UInt64
    public let packedNumInstanceFields: Int
    public let packedNumMethods: Int
    public let packedNumStaticFields: Int
    public let packedFieldCount: Int
    // FieldDesc
    public let fieldDescSize: UInt64
    // TypeDesc
    public let typeDescTemplateMT: UInt64
    /// TypeVarTypeDesc: its Module* and its GenericParam token (the name is that row's).
    public let typeVarModule: UInt64
    public let typeVarToken: UInt64
    // Module, PEFile, PEImage, PEImageLayout, DomainLocalModule
    public let moduleFile: UInt64
    public let moduleTypeDefMap: UInt64
    public let moduleDomainLocalModule: UInt64
    public let peFileIdentity: UInt64
    public let peImagePath: UInt64
    public let peImageLayouts: UInt64
    /// How many PEImageLayout pointers PEImage holds (FLAT, MAPPED, LOADED in 3.1; FLAT, LOADED in 8.0).
    public let peImageLayoutCount: Int
    /// SString: the buffer pointer after its size, allocation and flags words.
    public let sstringBuffer: UInt64
    public let layoutBase: UInt64
    public let layoutSize: UInt64
    public let dlmGCStatics: UInt64
    // ThreadStore / Thread
    public let tsThreadList: UInt64
    public let tsThreadCount: UInt64
    public let tsUnstartedCount: UInt64
    public let tsBackgroundCount: UInt64
    public let tsPendingCount: UInt64
    public let tsDeadCount: UInt64
    public let threadState: UInt64
    public let threadPreemptiveDisabled: UInt64
    public let threadFrame: UInt64
    public let threadDomain: UInt64
    /// Thread.m_ExceptionState.m_pCurrentTracker, and the tracker's EXCEPTION_POINTERS (record, context): where
    /// the exception record the runtime raised is kept while it is in flight. Nil where not established.
    public let threadExceptionTracker: UInt64?
    public let trackerExceptionPointers: UInt64?
    /// Thread.m_dwLockCount; nil where the build no longer has it (8.0: the DAC reports -1).
    public let threadLockCount: UInt64?
    public let threadManagedId: UInt64
    public let threadAllocContext: UInt64
    public let threadLink: UInt64
    public let threadOSId: UInt64
    public let threadExposedObject: UInt64
    public let threadLastThrown: UInt64
    public let maxThreads: Int
    // Objects
    public let stringLength: UInt64
    public let stringChars: UInt64
    public let arrayLength: UInt64
    public let szArrayData: UInt64
    /// Exception's _stackTrace (sbyte[]): header {count, Thread*}, then elements {ip, sp, MethodDesc*, flags}.
    public let stackTraceHeader: UInt64
    public let stackTraceElement: UInt64
    // MethodDesc
    public let mdChunkHeader: UInt64
    public let mdAlignment: UInt64
    public let mdChunkTokenRange: UInt64
    public let mdTokenRemainderBits: UInt32
    public let mdChunkTokenRangeMask: UInt16
    public let mdFlags2: UInt64
    public let mdSlotNumber: UInt64
    public let mdFlags: UInt64
    public let mdChunkNext: UInt64
    public let mdChunkSize: UInt64
    public let mdChunkCount: UInt64
    /// sizeof the MethodDesc subclass per classification (IL, FCall, NDirect, EEImpl, Array, Instantiated, ComInterop, Dynamic).
    public let mdClassificationSizes: [UInt64]
    public let mdcHasNonVtableSlot: UInt16
    public let mdcMethodImpl: UInt16
    public let md2HasStableEntryPoint: UInt8
    public let md2HasPrecode: UInt8
    public let md2HasNativeCodeSlot: UInt8
    /// The same flag where a build keeps it in m_wFlags instead (8.0); 0 where it does not.
    public let mdcHasNativeCodeSlot: UInt16
    /// MethodTable vtable: indirection chunk pointers from mtSize, 8 slots each.
    public let vtableSlotsPerChunk: UInt64
    public let flag2HasNonVirtualSlots: UInt16
    public let flag2HasSingleNonVirtualSlot: UInt16
    public let packedNumNonVirtualSlots: Int
    /// RealCodeHeader (pointed to by the word before JIT-compiled code): phdrMDesc.
    public let realCodeHeaderMethodDesc: UInt64
    // Module (more)
    public let moduleAssembly: UInt64
    public let moduleTransientFlags: UInt64
    public let moduleIndex: UInt64
    public let moduleLookupMapSize: UInt64
    /// The Module's LookupMaps `!DumpModule` lists: name, offset in Module, the metadata table it maps.
    public let moduleLookupMaps: [ClrLookupMapLayout]

    // FieldDesc bit fields (field.h): dword 1 = mb:24, isStatic, isThreadLocal, isRVA, prot:3, requiresFullMbValue;
    // dword 2 = offset:27, type:5.
    public let fieldDescEnclosingMT: UInt64
    public let fieldDescWord1: UInt64
    public let fieldDescWord2: UInt64
    public let fdMemberDefMask: UInt32
    public let fdShortMemberDefMask: UInt32
    public let fdStaticBit: UInt32
    public let fdThreadLocalBit: UInt32
    public let fdRVABit: UInt32
    public let fdRequiresFullMemberDefBit: UInt32
    public let fdOffsetMask: UInt32
    public let fdTypeShift: UInt32

    // Thread::ThreadState bits (threads.h).
    public let tsBackground: UInt32
    public let tsDead: UInt32
    public let tsThreadPoolWorker: UInt32
    public let tsCompletionPort: UInt32

    /// How precodes look, for SOS's JIT column.
    public let precodes: ClrPrecodeShapes?
    /// heap_segment flags: read-only (frozen) segments.
    public let segFlagReadOnly: UInt64

    // Module lookup maps (ceeload.h LookupMap: pNext, pTable, dwCount, supportedFlags), one after another.
    public let lookupMapTable: UInt64
    public let lookupMapCount: UInt64

    /// Instance fields start after the MethodTable pointer: field offsets count from here.
    public let objectFieldsOffset: UInt64
    /// MethodDesc: the 16-bit token remainder and the byte index of the MethodDesc in its chunk.
    public let mdTokenRemainder: UInt64
    public let mdChunkIndex: UInt64
    /// A DynamicMethodDesc (classification 7 in `mdFlags`: a dynamic method or IL stub): its stored signature, the
    /// signature's length (u32) and its UTF-8 name (method.hpp; 3.1 and 8.0 alike).
    public var dynamicMethodSignature: UInt64 = 0x08
    public var dynamicMethodSignatureLength: UInt64 = 0x10
    public var dynamicMethodName: UInt64 = 0x18
    /// The vtable pointer of a C++ object points this far into its `_ZTV` symbol (past offset-to-top and RTTI).
    public let vtableSymbolOffset: UInt64
    /// Instruction pointer -> code range -> method (Docs/clr/code-lookup.md).
    public let codeLookup: ClrCodeLookupLayout
    /// Monitors (sync blocks, thin locks) and the finalization queue (Docs/clr/sync-finalize-handles.md).
    public let sync: ClrSyncLayout
    /// The handle table (Docs/clr/sync-finalize-handles.md §4).
    public let handles: ClrHandleLayout
    /// Domains, assemblies and the native thread pool (Docs/clr/domains-threadpool.md).
    public let domains: ClrDomainLayout
    /// The modules' tables of loaded constructed types (Docs/clr/param-types.md).
    public let paramTypes: ClrParamTypesLayout
    /// Where a server GC's per-heap fields are in its gc_heap objects (Docs/clr/server-gc.md).
    public let serverHeap: ClrServerHeapLayout

    public static let supported: [ClrLayoutTable] = [.coreclr3_1_23, .coreclr8_0_4, .coreclr3_1_23Windows]

    public static func forFileVersion(_ v: String, runtimeFile: String) -> ClrLayoutTable? {
        supported.first { $0.fileVersions.contains(v) && $0.runtimeFile == runtimeFile }
    }
}

/// One of a Module's LookupMaps: where it is in the Module and which metadata table's rows it maps.
public struct ClrLookupMapLayout: Sendable {
    public let name: String
    public let offset: UInt64
    public let table: TableID
}

/// Segments (up to .NET 6) or regions (.NET 7 on): how the GC heap's memory is listed.
public enum ClrHeapKind: String, Sendable {
    case segments, regions
}

/// The instruction shapes of the runtime's precodes (stubs standing in for a method's code until it is
/// compiled), which change between versions.
public enum ClrPrecodeShapes: Sendable {
    /// 3.1: FixupPrecode is `call` (E8, not yet compiled) or `jmp` (E9, patched) rel32, then one of these type
    /// bytes at +5; StubPrecode is `mov r10, imm64` (49 BA), a type byte, then `jmp rel32` (E9) at `stubJumpOffset`.
    case relativeBranches(fixupTypeBytes: [UInt8], stubJumpOffset: Int)
    /// 8.0: RIP-relative stubs whose data (Target, MethodDesc) sits this far after the code, on a data page.
    case dataPages(distance: UInt64)
}

/// How a build finds the managed method an instruction pointer is in (Docs/clr/code-lookup.md §9): the code
/// ranges (a linked list in 3.1, a radix map in 8.0), JIT heaps with their nibble maps and code headers, and
/// ReadyToRun images with the runtime's entry point -> MethodDesc map.
public struct ClrCodeLookupLayout: Sendable {
    public enum Ranges: Sendable {
        /// 3.1: `ExecutionManager::m_CodeRangeList` holds the head of RangeSections sorted by address, descending.
        /// ReadyToRun sections have `readyToRunFlag`, and the Module* in the HeapList slot.
        case list(next: UInt64, readyToRunFlag: UInt32)
        /// 8.0: `ExecutionManager::g_codeRangeMap` is a radix map (`levels` of 256 pointers, indexed from bit
        /// `shift`) of RangeSectionFragment lists; a section's ReadyToRun module is at `module`.
        case map(levels: Int, shift: UInt64, module: UInt64, nextForDelete: UInt64)
    }
    public let ranges: Ranges
    public let rsLow: UInt64
    public let rsHigh: UInt64
    public let rsFlags: UInt64
    public let rsFlagCodeHeap: UInt32
    /// The HeapList* (3.1: also the Module* of ReadyToRun sections).
    public let rsHeapList: UInt64
    public let hlStart: UInt64
    public let hlEnd: UInt64
    public let hlMapBase: UInt64
    public let hlHdrMap: UInt64
    /// RealCodeHeader: MethodDesc, GC info, unwind entry count and the RUNTIME_FUNCTIONs.
    public let rchMethodDesc: UInt64
    public let rchGCInfo: UInt64
    public let rchUnwindCount: UInt64
    public let rchUnwindInfos: UInt64
    public let moduleReadyToRunInfo: UInt64
    /// ReadyToRunInfo's RUNTIME_FUNCTION table pointer and its entry count (u32).
    public let r2rRuntimeFunctions: UInt64
    public let r2rRuntimeFunctionCount: UInt64
    /// ReadyToRunInfo's `m_entryPointToMethodDescMap` (a PtrHashMap; its buckets pointer at +0x10).
    public let r2rEntryPointMap: UInt64
    /// Thread's `m_pFrame`: the head of its explicit Frame chain.
    public let threadFrame: UInt64
    /// RealCodeHeader's debug info pointer (variable locations, Docs/clr/debug-info.md §1.1), and whether JIT
    /// blobs start with a flag byte (8.0: patchpoint / rich debug info follow it).
    public let rchDebugInfo: UInt64
    public let jitDebugInfoFlagByte: Bool
    /// InlinedCallFrame (a P/Invoke in progress): the managed caller's SP and return address (0 when the
    /// frame is not active). The runtime's stack walk shows the caller at that address.
    public let inlinedCallSiteSP: UInt64
    public let inlinedCallerReturnAddress: UInt64
    /// InlinedCallFrame's m_Datum: the P/Invoke's MethodDesc (3.1 and 8.0 alike).
    public var inlinedCallDatum: UInt64 = 0x10
    /// HelperMethodFrame: its MethodDesc (valid when the machine state's return address is set), the FCall entry
    /// it was made for, and that return address (LazyMachState._pRetAddr).
    public let helperFrameMethodDesc: UInt64
    public let helperFrameFCallEntry: UInt64
    public let helperFrameReturnAddress: UInt64
    /// GCFrame (GCPROTECT in native runtime code): its array of protected references, their count (u32), and
    /// whether they may be interior pointers (a BOOL).
    public var gcFrameObjectRefs: UInt64 = 0x10
    public var gcFrameCount: UInt64 = 0x18
    public var gcFrameMaybeInterior: UInt64 = 0x28
    /// FramedMethodFrame (PrestubMethodFrame and the other Frames that stand in for a call being prepared): its
    /// TransitionBlock (the saved argument registers; the stack arguments follow the return address) and the
    /// MethodDesc of the method called (NULL in some, e.g. a DynamicHelperFrame).
    public var framedMethodTransitionBlock: UInt64 = 0x10
    public var framedMethodDesc: UInt64 = 0x18
}

/// Where a build keeps its monitors and its finalization queue (Docs/clr/sync-finalize-handles.md §2–3).
public struct ClrSyncLayout: Sendable {
    /// SyncBlockCache: the cleanup list head and the next unused sync table index (entries are 1 ..< it).
    public let cacheCleanupList: UInt64
    public let cacheFreeSyncTableIndex: UInt64
    /// SyncBlock's AwareLock: lock state (bit 0 locked, bits 6+ waiter count), acquisition count, owner Thread*.
    public let lockState: UInt64
    public let lockRecursion: UInt64
    public let lockHoldingThread: UInt64
    /// SyncBlock.m_Link (the cleanup list links through it).
    public let syncBlockLink: UInt64
    /// A thin lock in the object header: the owner's thin-lock thread id and its recursion level (acquisitions - 1).
    public let thinLockThreadIdMask: UInt32
    public let thinLockRecursionMask: UInt32
    public let thinLockRecursionShift: UInt32
    /// IdDispenser: the highest id handed out and the id -> Thread* array.
    public let dispenserHighestId: UInt64
    public let dispenserIdToThread: UInt64
    /// CFinalize: the number of fill pointers (generations + 2 "ready" segments), then m_Array.
    public let finalizeFillPointers: Int
    public let finalizeArray: UInt64
    public init(cacheCleanupList: UInt64, cacheFreeSyncTableIndex: UInt64, lockState: UInt64, lockRecursion: UInt64,
                lockHoldingThread: UInt64, syncBlockLink: UInt64, thinLockThreadIdMask: UInt32, thinLockRecursionMask: UInt32,
                thinLockRecursionShift: UInt32, dispenserHighestId: UInt64, dispenserIdToThread: UInt64,
                finalizeFillPointers: Int, finalizeArray: UInt64) {
        self.cacheCleanupList = cacheCleanupList; self.cacheFreeSyncTableIndex = cacheFreeSyncTableIndex
        self.lockState = lockState; self.lockRecursion = lockRecursion; self.lockHoldingThread = lockHoldingThread
        self.syncBlockLink = syncBlockLink; self.thinLockThreadIdMask = thinLockThreadIdMask
        self.thinLockRecursionMask = thinLockRecursionMask; self.thinLockRecursionShift = thinLockRecursionShift
        self.dispenserHighestId = dispenserHighestId; self.dispenserIdToThread = dispenserIdToThread
        self.finalizeFillPointers = finalizeFillPointers; self.finalizeArray = finalizeArray
    }
}

/// The GC handle table: HandleTable's segment list, and the parts of a 64 KiB TableSegment the walk reads
/// (its handle slots start at +0x1000, 64 per block).
public struct ClrHandleLayout: Sendable {
    public let tableSegmentList: UInt64
    public let segmentBlockTypes: UInt64
    public let segmentUserData: UInt64
    public let segmentNext: UInt64
    public let segmentEmptyLine: UInt64
}

/// SystemDomain, AppDomain and their assemblies (Docs/clr/domains-threadpool.md §3), and the native thread
/// pool's counters (§4.1; nil where the runtime has none: 8.0's pool is managed code).
public struct ClrDomainLayout: Sendable {
    /// SystemDomain's embedded global LoaderAllocator, and that allocator's low-frequency, high-frequency and
    /// stub heap pointers (three consecutive words).
    public let systemDomainGlobalAllocator: UInt64
    public let allocatorHeaps: UInt64
    /// AppDomain: the assembly list (an ArrayList of DomainAssembly*), the friendly name (SString), the stage.
    public let appDomainAssemblies: UInt64
    public let appDomainName: UInt64
    public let appDomainStage: UInt64
    /// DomainAssembly: its Assembly*, load level (kept from FILE_LOAD_DELIVER_EVENTS = 10 on) and error.
    public let domainAssemblyAssembly: UInt64
    public let domainAssemblyLevel: UInt64
    public let domainAssemblyError: UInt64
    /// Assembly: ClassLoader*, manifest Module*, manifest PEFile/PEAssembly*.
    public let assemblyClassLoader: UInt64
    public let assemblyModule: UInt64
    public let assemblyFile: UInt64
    /// Module's FileReferencesMap (a LookupMap of the assembly's modules), nil where an assembly has one module.
    public let moduleFileReferences: UInt64?
    /// The native thread pool's ThreadCounter: its Counts (four i16: MaxWorking, NumActive, NumWorking, NumRetired).
    public let threadCounterCounts: UInt64?
}

/// Module::m_pAvailableParamTypes, the hash table of the constructed types (generic instantiations, arrays,
/// pointers) whose loader module is that module (Docs/clr/param-types.md).
public struct ClrParamTypesLayout: Sendable {
    public enum Shape: Sendable {
        /// 3.1's NgenHashTable without its persisted parts: a bucket array and its u32 count; chains end at 0.
        case countedBuckets(count: UInt64)
        /// 8.0's DacEnumerableHashTable: slot 0 holds the bucket count, slot 1 a newer array during a resize,
        /// slot 2 the base end sentinel; bucket i is slot 3 + i; a chain ends at any odd value.
        case sentinelBuckets
    }
    public let moduleAvailableParamTypes: UInt64
    /// The table's bucket array pointer.
    public let tableBuckets: UInt64
    public let shape: Shape
    /// An entry: its TypeHandle and the next entry.
    public let entryTypeHandle: UInt64
    public let entryNext: UInt64
    /// TypeDesc::m_typeAndFlags' IsNotFullyLoaded bit: the DAC's lookup (DontLoadTypes, CLASS_LOADED) skips
    /// such types, so SOS prints no MT for a field of that type.
    public let typeDescNotFullyLoaded: UInt32
}

/// A server GC heap's fields (workstation GC keeps them in globals). 3.1 fixes gc_heap's layout to match the
/// DAC's; 8.0 publishes each field's offset in the dump (GcDacVars gc_heap_field_offsets, -1 when absent).
public struct ClrServerHeapLayout: Sendable {
    public enum Field: Sendable, CaseIterable { case allocAllocated, ephemeralHeapSegment, finalizeQueue, generationTable }
    public enum Offsets: Sendable {
        case fixed([Field: UInt64])
        /// The index of each field in the published offsets array.
        case published([Field: Int])
    }
    public let offsets: Offsets
}
