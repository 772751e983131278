import Metadata

/// .NET Core 3.1.23, Windows x64 (coreclr.dll, file version 4.700.22.11601, no symbols). Every value, with its
/// evidence (the dump's bytes checked against the Windows DAC, mscordaccore.dll, run under Wine), is in
/// Docs/clr/coreclr-3.1.23-windows-layouts.md.
extension ClrLayoutTable {
    public static let coreclr3_1_23Windows = ClrLayoutTable(
        productVersion: "3.1.23",
        runtimeFile: "coreclr.dll",
        fileVersions: ["4.700.22.11601"],
        // Globals: the DAC table coreclr.dll carries as its RT_RCDATA resource COREXTERNALDATAACCESSRESOURCE
        // (a 24-byte header, then 32-bit RVAs), read from the image in the dump; the GC's through GcDacVars v1.
        globals: .dacTable(ClrDacTableLayout(
            source: .peResource(type: 10, name: "COREXTERNALDATAACCESSRESOURCE", headerWords: 6),
            variables: [
                .codeRangeList: 0, .threadStore: 16, .finalizerThread: 31, .gcHeapType: 33, .appDomain: 35,
                .objectMethodTable: 55, .stringMethodTable: 58, .exceptionMethodTable: 63, .freeObjectMethodTable: 70,
                // Docs/clr/sync-finalize-handles.md §1 (shape-checked on the Windows dump; no Windows DAC run).
                .syncTable: 98, .syncBlockCache: 103, .thinLockIdDispenser: 53, .systemDomain: 36,
                .fcallLowest: 95, .fcallHighest: 96, .fcallMethods: 97,
                .tpCpuUtilization: 17, .tpWorkerCounter: 18, .tpMinWorkers: 19, .tpMaxWorkers: 20, .tpWorkRequestHead: 21,
                .tpCPThreadCounter: 23, .tpMaxFreeCPThreads: 24, .tpMaxLimitCPThreads: 25, .tpMinLimitCPThreads: 26, .tpTimerQueue: 27,
            ],
            addresses: [.flatImageLayoutVTable: 152, .thePreStub: 115],
            gcDacGlobals: 34,
            gcFields: [.generationTable: 0x28, .maxGeneration: 0x30, .ephemeralHeapSegment: 0x48, .allocAllocated: 0x70, .finalizeQueue: 0x88, .handleTableMap: 0xe0,
                       // Server GC: n_heaps and g_heaps (Docs/clr/server-gc.md; the Linux 3.1 GcDacVars has them at the same offsets).
                       .gcHeapCount: 0xa8, .gcHeapList: 0xb0],
            gcDacVarsMajorVersion: 1,
            // Frame vtables: the VPTR entries, in the order this build's own DAC (mscordaccore.dll) lists the class names
            // (Samples/oracle/dac-vptr-names.py; Docs/clr/code-lookup.md §4.6). U2M, GCFrame, HMF, ICF and FaultingExceptionFrame
            // are also checked on dumps.
            frameVTables: ["ComMethodFrame": 153, "ComPlusMethodFrame": 154, "ComPrestubMethodFrame": 155, "ContextTransitionFrame": 156,
                           "DebuggerClassInitMarkFrame": 157, "DebuggerSecurityCodeMarkFrame": 158, "DebuggerExitFrame": 159,
                           "DebuggerU2MCatchHandlerFrame": 160, "FaultingExceptionFrame": 161, "FuncEvalFrame": 162, "GCFrame": 163,
                           "HelperMethodFrame": 164, "HelperMethodFrame_1OBJ": 165, "HelperMethodFrame_2OBJ": 166,
                           "HelperMethodFrame_3OBJ": 167, "HelperMethodFrame_PROTECTOBJ": 168, "HijackFrame": 169, "InlinedCallFrame": 170,
                           "SecureDelegateFrame": 171, "MulticastFrame": 172, "PInvokeCalliFrame": 173, "PrestubMethodFrame": 174,
                           "ProtectByRefsFrame": 175, "ProtectValueClassFrame": 176, "ResumableFrame": 177, "RedirectedThreadFrame": 178,
                           "StubDispatchFrame": 179, "ExternalMethodFrame": 180, "DynamicHelperFrame": 181, "StubHelperFrame": 182,
                           "TailCallFrame": 183, "ExceptionFilterFrame": 184])),
        heapKind: .segments,
        // GC
        generationSize: 0xF0,
        generationCount: 5,
        genStartSegment: 0x38,
        genAllocationStart: 0x40,
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
        mtModuleIsDirect: false,
        mtCanonTagMask: 3,
        mtCanonTag: 2,
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
        // EEClass: two COM members on Windows move everything from +0x28 by 0xC.
        eeAttrClass: 0x38,
        eeNormType: 0x40,
        eeFieldsArePacked: 0x41,
        eeFixedFieldsSize: 0x42,
        packedNumInstanceFields: 0,
        packedNumMethods: 1,
        packedNumStaticFields: 2,
        packedFieldCount: 11,
        // FieldDesc
        fieldDescSize: 16,
        // TypeDesc
        typeDescTemplateMT: 0x08,
        // typedesc.h TypeVarTypeDesc: m_pModule, m_typeOrMethodDef, m_numConstraints, m_constraints,
        // m_hExposedClassObject, m_token (a 0x2a GenericParam token on every one read in the dumps), m_index.
        typeVarModule: 0x08,
        typeVarToken: 0x28,
        // Module, PEFile, PEImage, PEImageLayout, DomainLocalModule
        moduleFile: 0x10,
        // Module: a Windows Crst is 0x30 bytes (the PAL's 0x98), so everything after the first one moves up.
        moduleTypeDefMap: 0x118,
        moduleDomainLocalModule: 0x310,
        peFileIdentity: 0x08,
        peImagePath: 0x00,
        peImageLayouts: 0x48,
        peImageLayoutCount: 3,
        sstringBuffer: 0x10,
        layoutBase: 0x08,
        layoutSize: 0x10,
        dlmGCStatics: 0x20,
        // ThreadStore / Thread
        tsThreadList: 0x40,
        tsThreadCount: 0x58,
        tsUnstartedCount: 0x60,
        tsBackgroundCount: 0x64,
        tsPendingCount: 0x68,
        tsDeadCount: 0x6c,
        threadState: 0x08,
        threadPreemptiveDisabled: 0x0c,
        threadFrame: 0x10,
        threadDomain: 0x18,
        threadExceptionTracker: 0x218,
        trackerExceptionPointers: 0x38,
        threadLockCount: 0x20,
        threadManagedId: 0x24,
        threadAllocContext: 0x58,
        // Thread: m_pTEB (+0x98) and m_pRCWStack (+0xa0) move everything after them by 0x10.
        threadLink: 0x110,
        threadOSId: 0x1d8,
        threadExposedObject: 0x1e0,
        threadLastThrown: 0x208,
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
        mdTokenRemainderBits: 14,
        mdChunkTokenRangeMask: 0x3FF,
        mdFlags2: 0x03,
        mdSlotNumber: 0x04,
        mdFlags: 0x06,
        mdChunkNext: 0x08,
        mdChunkSize: 0x10,
        mdChunkCount: 0x11,
        // sizeof the MethodDesc subclass per classification (IL, FCall, NDirect, EEImpl, Array, Instantiated, ComInterop, Dynamic).
        // ComInterop MethodDescs are 16 bytes on Windows (128 measured); Array and Dynamic as on Linux (not present).
        mdClassificationSizes: [8, 16, 64, 24, 24, 32, 16, 40],
        mdcHasNonVtableSlot: 0x0008,
        mdcMethodImpl: 0x0010,
        md2HasStableEntryPoint: 0x01,
        md2HasPrecode: 0x02,
        md2HasNativeCodeSlot: 0x08,
        mdcHasNativeCodeSlot: 0,
        // MethodTable vtable: indirection chunk pointers from mtSize, 8 slots each.
        vtableSlotsPerChunk: 8,
        flag2HasNonVirtualSlots: 0x08,
        flag2HasSingleNonVirtualSlot: 0x4000,
        packedNumNonVirtualSlots: 10,
        // RealCodeHeader (pointed to by the word before JIT-compiled code): phdrMDesc.
        realCodeHeaderMethodDesc: 0x18,
        // Module (more)
        moduleAssembly: 0x30,
        moduleTransientFlags: 0x20,
        moduleIndex: 0x318,
        moduleLookupMapSize: 0x20,
        moduleLookupMaps: [
            ClrLookupMapLayout(name: "TypeDefToMethodTableMap", offset: 0x118, table: .typeDef),
            ClrLookupMapLayout(name: "TypeRefToMethodTableMap", offset: 0x138, table: .typeRef),
            ClrLookupMapLayout(name: "MethodDefToDescMap", offset: 0x158, table: .methodDef),
            ClrLookupMapLayout(name: "FieldDefToDescMap", offset: 0x178, table: .field),
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
        precodes: .relativeBranches(fixupTypeBytes: [0x5E, 0x5F], stubJumpOffset: 11),
        segFlagReadOnly: 1,
        lookupMapTable: 0x08,
        lookupMapCount: 0x10,
        objectFieldsOffset: 8,
        mdTokenRemainder: 0x00,
        mdChunkIndex: 0x02,
        // The DAC table's vtable entries are the addresses objects hold.
        vtableSymbolOffset: 0,
        // Code lookup: Docs/clr/code-lookup.md §3 (verified against the Windows DAC under Wine).
        codeLookup: ClrCodeLookupLayout(
            ranges: .list(next: 0x18, readyToRunFlag: 4), rsLow: 0x00, rsHigh: 0x08, rsFlags: 0x28, rsFlagCodeHeap: 2, rsHeapList: 0x30,
            hlStart: 0x10, hlEnd: 0x18, hlMapBase: 0x20, hlHdrMap: 0x28,
            rchMethodDesc: 0x18, rchGCInfo: 0x10, rchUnwindCount: 0x20, rchUnwindInfos: 0x24,
            moduleReadyToRunInfo: 0x2b8, r2rRuntimeFunctions: 0x18, r2rRuntimeFunctionCount: 0x20, r2rEntryPointMap: 0xe8, threadFrame: 0x10,
            rchDebugInfo: 0x00, jitDebugInfoFlagByte: false,
            // from frames.h (no active InlinedCallFrame in the 3.1 dumps: unverified)
            inlinedCallSiteSP: 0x20, inlinedCallerReturnAddress: 0x28,
            // Docs/clr/fcall-frames.md
            helperFrameMethodDesc: 0x10, helperFrameFCallEntry: 0x28, helperFrameReturnAddress: 0xc0),
        // Docs/clr/sync-finalize-handles.md: Crst is 0x30 bytes on Windows; SyncBlock has the EnC pointer.
        sync: ClrSyncLayout(cacheCleanupList: 0x00, cacheFreeSyncTableIndex: 0x54, lockState: 0x00, lockRecursion: 0x04,
                            lockHoldingThread: 0x08, syncBlockLink: 0x40, thinLockThreadIdMask: 0x3FF, thinLockRecursionMask: 0xFC00,
                            thinLockRecursionShift: 10, dispenserHighestId: 0x00, dispenserIdToThread: 0x40,
                            finalizeFillPointers: 6, finalizeArray: 0x30),
        // TableSegment is packed and the same in every build; HandleTable's segment list moves with the Crst size.
        handles: ClrHandleLayout(tableSegmentList: 0x68, segmentBlockTypes: 0x618, segmentUserData: 0x690, segmentNext: 0x7c8,
                                 segmentEmptyLine: 0x7da),
        // Docs/clr/domains-threadpool.md (equal to the Windows DAC's answers, run under Wine).
        domains: ClrDomainLayout(systemDomainGlobalAllocator: 0x558, allocatorHeaps: 0x210, appDomainAssemblies: 0x548,
                                 appDomainName: 0x7b8, appDomainStage: 0x844, domainAssemblyAssembly: 0x68, domainAssemblyLevel: 0x28,
                                 domainAssemblyError: 0x38, assemblyClassLoader: 0x08, assemblyModule: 0x18, assemblyFile: 0x20,
                                 moduleFileReferences: 0x1e0, threadCounterCounts: 0x40),
        // Docs/clr/param-types.md (every module's table points back at its module; all 14 MTs the DAC gave that
        // no object leads to are entries of CoreLib's table).
        paramTypes: ClrParamTypesLayout(moduleAvailableParamTypes: 0x260, tableBuckets: 0x10, shape: .countedBuckets(count: 0x18),
                                        entryTypeHandle: 0x00, entryNext: 0x08, typeDescNotFullyLoaded: 0x1000),
        // The same gc_heap layout as Linux 3.1 (raw reads of a Wine server-GC dump agree; no DAC comparison, C).
        serverHeap: ClrServerHeapLayout(offsets: .fixed([.allocAllocated: 0x00, .ephemeralHeapSegment: 0x08, .finalizeQueue: 0x10,
                                                          .generationTable: 0x158]))
    )
}
