import Metadata

/// .NET 8.0.4, Linux x64 (libcoreclr.so `@(#)Version 8.0.424.16909`, no .symtab). Every value, with its
/// evidence (read from the bytes of the async-crash 8.0 dump and checked against the runtime's own DAC), is
/// in Docs/clr/coreclr-8.0.4-layouts.md.
extension ClrLayoutTable {
    public static let coreclr8_0_4 = ClrLayoutTable(
        productVersion: "8.0.4",
        runtimeFile: "libcoreclr.so",
        fileVersions: ["8.0.424.16909"],
        // Globals: g_dacTable (exported in .dynsym), 156 entries of 8-byte absolute addresses; the GC's globals
        // through GcDacVars (v2), whose fields hold the addresses of the GC's variables.
        globals: .dacTable(ClrDacTableLayout(
            source: .exportedSymbol("g_dacTable"),
            variables: [
                .codeRangeList: 0, .threadStore: 16, .finalizerThread: 17, .gcHeapType: 19, .appDomain: 21,
                .objectMethodTable: 40, .stringMethodTable: 43, .exceptionMethodTable: 47, .freeObjectMethodTable: 54,
                .syncTable: 79, .syncBlockCache: 80, .thinLockIdDispenser: 38, .systemDomain: 22,
                .fcallLowest: 76, .fcallHighest: 77, .fcallMethods: 78,
            ],
            addresses: [.flatImageLayoutVTable: 121, .thePreStub: 92],
            gcDacGlobals: 20,
            gcFields: [.generationTable: 0x30, .maxGeneration: 0x38, .ephemeralHeapSegment: 0x50, .allocAllocated: 0x78, .finalizeQueue: 0x90, .handleTableMap: 0xe8,
                       // Server GC: n_heaps, g_heaps and gc_heap_field_offsets (Docs/clr/server-gc.md).
                       .gcHeapCount: 0xb0, .gcHeapList: 0xb8, .gcHeapFieldOffsets: 0xf0],
            gcDacVarsMajorVersion: 2,
            // Frame vtables: the VPTR entries, in the order this build's own DAC (libmscordaccore.so) lists the class names
            // (Samples/oracle/dac-vptr-names.py; Docs/clr/code-lookup.md §4.6); no GCFrame (not a Frame in 8.0).
            // FlatImageLayout (121), U2M (125), FaultingExceptionFrame (126), HMF (128) and ICF (134) are also checked on dumps.
            frameVTables: ["DebuggerClassInitMarkFrame": 122, "DebuggerSecurityCodeMarkFrame": 123, "DebuggerExitFrame": 124,
                           "DebuggerU2MCatchHandlerFrame": 125, "FaultingExceptionFrame": 126, "FuncEvalFrame": 127,
                           "HelperMethodFrame": 128, "HelperMethodFrame_1OBJ": 129, "HelperMethodFrame_2OBJ": 130,
                           "HelperMethodFrame_3OBJ": 131, "HelperMethodFrame_PROTECTOBJ": 132, "HijackFrame": 133, "InlinedCallFrame": 134,
                           "MulticastFrame": 135, "PInvokeCalliFrame": 136, "PrestubMethodFrame": 137, "ProtectByRefsFrame": 138,
                           "ProtectValueClassFrame": 139, "ResumableFrame": 140, "RedirectedThreadFrame": 141, "StubDispatchFrame": 142,
                           "CallCountingHelperFrame": 143, "ExternalMethodFrame": 144, "DynamicHelperFrame": 145,
                           "ExceptionFilterFrame": 146])),
        heapKind: .regions,
        // GC
        generationSize: 0x108,
        generationCount: 5,
        genStartSegment: 0x38,
        genAllocationStart: nil,
        allocContextPtr: 0x00,
        allocContextLimit: 0x08,
        segAllocated: 0x00,
        segCommitted: 0x08,
        segReserved: 0x10,
        segUsed: 0x18,
        segMem: 0x20,
        segFlags: 0x28,
        segNext: 0x30,
        minObjectSize: 24,
        objectAlignment: 8,
        heapTypeServer: 2,
        // MethodTable
        mtFlags: 0x00,
        mtBaseSize: 0x04,
        mtFlags2: 0x08,
        mtToken: 0x0a,
        mtNumVirtuals: 0x0c,
        mtNumInterfaces: 0x0e,
        mtParent: 0x10,
        mtLoaderModule: 0x18,
        mtModuleIsDirect: true,
        mtCanonTagMask: 1,
        mtCanonTag: 1,
        mtEEClassOrCanon: 0x28,
        mtPerInstOrElement: 0x30,
        mtInterfaceMap: 0x38,
        mtSize: 0x40,
        interfaceEntrySize: 8,
        flagHasComponentSize: 0x8000_0000,
        flagContainsPointers: 0x0100_0000,
        flagHasFinalizer: 0x0010_0000,
        flagCategoryMask: 0x000F_0000,
        flagArrayMask: 0x000C_0000,
        flagArray: 0x0008_0000,
        flagSzArray: 0x0002_0000,
        flagValueTypeMask: 0x000C_0000,
        flagValueType: 0x0004_0000,
        flagInterface: 0x000C_0000,
        flagGenericsMask: 0x30,
        flagStaticsMask: 0x6,
        flag2MultipurposeMask: 0x1F,
        flag2HasPerInstInfo: 0x1,
        flag2HasModuleOverride: 0x10,
        // EEClass
        eeMethodTable: 0x10,
        eeFieldDescList: 0x18,
        eeChunks: 0x20,
        eeAttrClass: 0x28,
        eeNormType: 0x30,
        eeFieldsArePacked: 0x31,
        eeFixedFieldsSize: 0x32,
        packedNumInstanceFields: 0,
        packedNumMethods: 1,
        packedNumStaticFields: 2,
        packedFieldCount: 11,
        // FieldDesc
        fieldDescSize: 16,
        // TypeDesc
        // Not seen in the 8.0 dump (arrays and generic arguments are MethodTables there); 3.1's value, unverified.
        typeDescTemplateMT: 0x08,
        // typedesc.h TypeVarTypeDesc: m_pModule, m_typeOrMethodDef, m_numConstraints, m_constraints,
        // m_hExposedClassObject, m_token (a 0x2a GenericParam token on every one read in the dumps), m_index.
        typeVarModule: 0x08,
        typeVarToken: 0x28,
        // Module, PEFile, PEImage, PEImageLayout, DomainLocalModule
        moduleFile: 0x110,
        moduleTypeDefMap: 0x2f0,
        moduleDomainLocalModule: 0x4c8,
        peFileIdentity: 0x08,
        peImagePath: 0x00,
        peImageLayouts: 0x70,
        peImageLayoutCount: 2,
        sstringBuffer: 0x10,
        layoutBase: 0x08,
        layoutSize: 0x10,
        dlmGCStatics: 0x20,
        // ThreadStore / Thread
        tsThreadList: 0xa0,
        tsThreadCount: 0xb8,
        tsUnstartedCount: 0xc0,
        tsBackgroundCount: 0xc4,
        tsPendingCount: 0xc8,
        tsDeadCount: 0xcc,
        threadState: 0x08,
        threadPreemptiveDisabled: 0x0c,
        threadFrame: 0x10,
        threadDomain: 0x18,
        threadExceptionTracker: nil,
        trackerExceptionPointers: nil,
        threadLockCount: nil,
        threadManagedId: 0x20,
        threadAllocContext: 0x58,
        threadLink: 0xe8,
        threadOSId: 0x1a8,
        threadExposedObject: 0x1b0,
        threadLastThrown: 0x1d0,
        maxThreads: 10_000,
        // Objects
        stringLength: 0x08,
        stringChars: 0x0c,
        arrayLength: 0x08,
        szArrayData: 0x10,
        // Exception's _stackTrace (sbyte[]): header {count, Thread*}, then elements {ip, sp, MethodDesc*, flags}.
        stackTraceHeader: 16,
        stackTraceElement: 32,
        // MethodDesc
        mdChunkHeader: 0x18,
        mdAlignment: 8,
        mdChunkTokenRange: 0x12,
        mdTokenRemainderBits: 12,
        mdChunkTokenRangeMask: 0xFFF,
        mdFlags2: 0x03,
        mdSlotNumber: 0x04,
        mdFlags: 0x06,
        mdChunkNext: 0x08,
        mdChunkSize: 0x10,
        mdChunkCount: 0x11,
        // sizeof the MethodDesc subclass per classification (IL, FCall, NDirect, EEImpl, Array, Instantiated, ComInterop, Dynamic).
        // IL, FCall, NDirect, EEImpl and Instantiated measured; Array, ComInterop and Dynamic do not occur in the
        // 8.0 dump and keep 3.1's sizes (a chunk walk re-synchronises on each MethodDesc's own chunk index).
        mdClassificationSizes: [8, 16, 48, 24, 24, 32, 8, 40],
        mdcHasNonVtableSlot: 0x0008,
        mdcMethodImpl: 0x0010,
        md2HasStableEntryPoint: 0x01,
        md2HasPrecode: 0x02,
        md2HasNativeCodeSlot: 0,
        mdcHasNativeCodeSlot: 0x0020,
        // MethodTable vtable: indirection chunk pointers from mtSize, 8 slots each.
        vtableSlotsPerChunk: 8,
        flag2HasNonVirtualSlots: 0x08,
        flag2HasSingleNonVirtualSlot: 0x4000,
        packedNumNonVirtualSlots: 10,
        // RealCodeHeader (pointed to by the word before JIT-compiled code): phdrMDesc.
        realCodeHeaderMethodDesc: 0x18,
        // Module (more)
        moduleAssembly: 0x128,
        moduleTransientFlags: 0x118,
        moduleIndex: 0x4d0,
        moduleLookupMapSize: 0x20,
        moduleLookupMaps: [
            ClrLookupMapLayout(name: "TypeDefToMethodTableMap", offset: 0x2f0, table: .typeDef),
            // 8.0 moved the TypeRef map into ModuleBase, at the front of Module.
            ClrLookupMapLayout(name: "TypeRefToMethodTableMap", offset: 0x08, table: .typeRef),
            ClrLookupMapLayout(name: "MethodDefToDescMap", offset: 0x310, table: .methodDef),
            ClrLookupMapLayout(name: "FieldDefToDescMap", offset: 0x330, table: .field),
        ],
        // FieldDesc
        fieldDescEnclosingMT: 0x00,
        fieldDescWord1: 0x08,
        fieldDescWord2: 0x0c,
        fdMemberDefMask: 0xFF_FFFF,
        fdShortMemberDefMask: 0x1_FFFF,
        fdStaticBit: 24,
        fdThreadLocalBit: 25,
        fdRVABit: 26,
        fdRequiresFullMemberDefBit: 30,
        fdOffsetMask: 0x7FF_FFFF,
        fdTypeShift: 27,
        // Thread state
        tsBackground: 0x0000_0200,
        tsDead: 0x0000_0800,
        tsThreadPoolWorker: 0x0100_0000,
        tsCompletionPort: 0x0800_0000,
        // FixupPrecode and StubPrecode read their Target and MethodDesc from the data page 16 KB after the code.
        precodes: .dataPages(distance: 0x4000),
        segFlagReadOnly: 1,
        lookupMapTable: 0x08,
        lookupMapCount: 0x10,
        objectFieldsOffset: 8,
        mdTokenRemainder: 0x00,
        mdChunkIndex: 0x02,
        // The DAC table holds vtable address points themselves.
        vtableSymbolOffset: 0,
        // Code lookup: Docs/clr/code-lookup.md §4 (verified against the DAC on the 8.0 dump).
        codeLookup: ClrCodeLookupLayout(
            ranges: .map(levels: 5, shift: 17, module: 0x20, nextForDelete: 0x40), rsLow: 0x00, rsHigh: 0x08, rsFlags: 0x10,
            rsFlagCodeHeap: 2, rsHeapList: 0x28,
            hlStart: 0x10, hlEnd: 0x18, hlMapBase: 0x20, hlHdrMap: 0x28,
            rchMethodDesc: 0x18, rchGCInfo: 0x10, rchUnwindCount: 0x20, rchUnwindInfos: 0x24,
            moduleReadyToRunInfo: 0x480, r2rRuntimeFunctions: 0x50, r2rRuntimeFunctionCount: 0x58, r2rEntryPointMap: 0x1b0, threadFrame: 0x10,
            rchDebugInfo: 0x00, jitDebugInfoFlagByte: true,
            // 8.0 adds m_StubSecretArg at +0x18 (Docs/clr/code-lookup.md §4.5)
            inlinedCallSiteSP: 0x20, inlinedCallerReturnAddress: 0x28,
            // Docs/clr/fcall-frames.md
            helperFrameMethodDesc: 0x10, helperFrameFCallEntry: 0x28, helperFrameReturnAddress: 0xa0),
        // Docs/clr/sync-finalize-handles.md: Crst is 0x90 bytes; thin-lock thread ids are 16 bits in 8.0.4.
        sync: ClrSyncLayout(cacheCleanupList: 0x00, cacheFreeSyncTableIndex: 0xb4, lockState: 0x00, lockRecursion: 0x04,
                            lockHoldingThread: 0x08, syncBlockLink: 0x48, thinLockThreadIdMask: 0xFFFF, thinLockRecursionMask: 0x3F0000,
                            thinLockRecursionShift: 16, dispenserHighestId: 0x00, dispenserIdToThread: 0xa0,
                            finalizeFillPointers: 7, finalizeArray: 0x38),
        // TableSegment is packed and the same in every build; HandleTable's segment list moves with the Crst size.
        handles: ClrHandleLayout(tableSegmentList: 0x30, segmentBlockTypes: 0x618, segmentUserData: 0x690, segmentNext: 0x7c8,
                                 segmentEmptyLine: 0x7da),
        // Docs/clr/domains-threadpool.md: DomainAssembly has no vtable in 8.0; one module per assembly; the
        // thread pool is managed code (PortableThreadPool), read through its statics.
        domains: ClrDomainLayout(systemDomainGlobalAllocator: 0xa00, allocatorHeaps: 0x390, appDomainAssemblies: 0x9f0,
                                 appDomainName: 0xb60, appDomainStage: 0xc38, domainAssemblyAssembly: 0x00, domainAssemblyLevel: 0x38,
                                 domainAssemblyError: 0x50, assemblyClassLoader: 0x08, assemblyModule: 0x18, assemblyFile: 0x20,
                                 moduleFileReferences: nil, threadCounterCounts: nil),
        // Docs/clr/param-types.md (every module's table points back at its module; all 14 MTs the DAC gave that
        // no object leads to are entries of CoreLib's table).
        paramTypes: ClrParamTypesLayout(moduleAvailableParamTypes: 0x3c8, tableBuckets: 0x10, shape: .sentinelBuckets,
                                        entryTypeHandle: 0x00, entryNext: 0x08, typeDescNotFullyLoaded: 0x1000),
        // gc_heap_field_offsets indices (V: the offsets read this way equal the DAC's per-heap details on a 2-heap dump).
        serverHeap: ClrServerHeapLayout(offsets: .published([.allocAllocated: 0, .ephemeralHeapSegment: 1, .finalizeQueue: 2,
                                                              .generationTable: 18]))
    )
}
