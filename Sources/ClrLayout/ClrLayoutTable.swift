/// Versioned knowledge of CoreCLR's data structures: one value of this struct per supported runtime build.
/// Every offset the resolver uses comes from here (see Docs/clr/coreclr-3.1.23-layouts.md), never from
/// literals scattered through the code.
public struct ClrLayoutTable: Sendable {
    /// The product version this table was verified on ("3.1.23").
    public let productVersion: String
    /// libcoreclr.so's own version string (`@(#)Version X`), how the runtime is recognised.
    public let fileVersions: [String]

    // Globals (.symtab names; address = module base + st_value).
    public struct Symbols: Sendable {
        public var threadStore = "_ZN11ThreadStore14s_pThreadStoreE"
        public var freeObjectMT = "g_pFreeObjectMethodTable"
        public var stringMT = "g_pStringClass"
        public var objectMT = "g_pObjectClass"
        public var exceptionMT = "g_pExceptionClass"
        public var finalizerThread = "g_pFinalizerThread"
        public var generationTable = "_ZN3WKS7gc_heap16generation_tableE"
        public var ephemeralSegment = "_ZN3WKS7gc_heap22ephemeral_heap_segmentE"
        public var allocAllocated = "_ZN3WKS7gc_heap15alloc_allocatedE"
        public var maxGeneration = "g_max_generation"
        public var heapType = "g_heap_type"
        public var theAppDomain = "_ZN9AppDomain15m_pTheAppDomainE"
    }
    public var symbols = Symbols()

    // GC
    public var generationSize: UInt64 = 0xF0
    public var generationCount = 5
    public var genStartSegment: UInt64 = 0x38
    public var genAllocationStart: UInt64 = 0x40
    public var allocContextPtr: UInt64 = 0x00
    public var allocContextLimit: UInt64 = 0x08
    public var segAllocated: UInt64 = 0x00
    public var segCommitted: UInt64 = 0x08
    public var segReserved: UInt64 = 0x10
    public var segUsed: UInt64 = 0x18
    public var segMem: UInt64 = 0x20
    public var segFlags: UInt64 = 0x28
    public var segNext: UInt64 = 0x30
    public var minObjectSize: UInt64 = 24
    public var objectAlignment: UInt64 = 8
    public var heapTypeServer: UInt32 = 2

    // MethodTable
    public var mtFlags: UInt64 = 0x00
    public var mtBaseSize: UInt64 = 0x04
    public var mtFlags2: UInt64 = 0x08
    public var mtToken: UInt64 = 0x0a
    public var mtNumVirtuals: UInt64 = 0x0c
    public var mtNumInterfaces: UInt64 = 0x0e
    public var mtParent: UInt64 = 0x10
    public var mtLoaderModule: UInt64 = 0x18
    public var mtEEClassOrCanon: UInt64 = 0x28
    public var mtPerInstOrElement: UInt64 = 0x30
    public var mtInterfaceMap: UInt64 = 0x38
    public var mtSize: UInt64 = 0x40
    public var flagHasComponentSize: UInt32 = 0x8000_0000
    public var flagContainsPointers: UInt32 = 0x0100_0000
    public var flagHasFinalizer: UInt32 = 0x0010_0000
    public var flagCategoryMask: UInt32 = 0x000F_0000
    public var flagArrayMask: UInt32 = 0x000C_0000
    public var flagArray: UInt32 = 0x0008_0000
    public var flagSzArray: UInt32 = 0x0002_0000
    public var flagValueTypeMask: UInt32 = 0x000C_0000
    public var flagValueType: UInt32 = 0x0004_0000
    public var flagInterface: UInt32 = 0x000C_0000
    public var flagGenericsMask: UInt32 = 0x30
    public var flagStaticsMask: UInt32 = 0x6
    public var flag2MultipurposeMask: UInt16 = 0x1F
    public var flag2HasPerInstInfo: UInt16 = 0x1
    public var flag2HasModuleOverride: UInt16 = 0x10

    // EEClass
    public var eeMethodTable: UInt64 = 0x10
    public var eeFieldDescList: UInt64 = 0x18
    public var eeChunks: UInt64 = 0x20
    public var eeAttrClass: UInt64 = 0x2c
    public var eeNormType: UInt64 = 0x34
    public var eeFieldsArePacked: UInt64 = 0x35
    public var eeFixedFieldsSize: UInt64 = 0x36
    public var packedNumInstanceFields = 0
    public var packedNumMethods = 1
    public var packedNumStaticFields = 2
    public var packedFieldCount = 11

    // FieldDesc
    public var fieldDescSize: UInt64 = 16

    // TypeDesc
    public var typeDescTemplateMT: UInt64 = 0x08

    // Module, PEFile, PEImage, PEImageLayout, DomainLocalModule
    public var moduleFile: UInt64 = 0x10
    public var moduleTypeDefMap: UInt64 = 0x2b8
    public var moduleDomainLocalModule: UInt64 = 0x518
    public var peFileIdentity: UInt64 = 0x08
    public var peImagePath: UInt64 = 0x00
    public var peImageLayouts: UInt64 = 0x48
    public var layoutBase: UInt64 = 0x08
    public var layoutSize: UInt64 = 0x10
    public var dlmGCStatics: UInt64 = 0x20

    // ThreadStore / Thread
    public var tsThreadList: UInt64 = 0xa8
    public var tsThreadCount: UInt64 = 0xc0
    public var tsUnstartedCount: UInt64 = 0xc8
    public var tsBackgroundCount: UInt64 = 0xcc
    public var tsPendingCount: UInt64 = 0xd0
    public var tsDeadCount: UInt64 = 0xd4
    public var threadState: UInt64 = 0x08
    public var threadPreemptiveDisabled: UInt64 = 0x0c
    public var threadFrame: UInt64 = 0x10
    public var threadDomain: UInt64 = 0x18
    public var threadLockCount: UInt64 = 0x20
    public var threadManagedId: UInt64 = 0x24
    public var threadAllocContext: UInt64 = 0x58
    public var threadLink: UInt64 = 0x100
    public var threadOSId: UInt64 = 0x1c8
    public var threadExposedObject: UInt64 = 0x1d0
    public var threadLastThrown: UInt64 = 0x1f8
    public var maxThreads = 10_000

    // Objects
    public var stringLength: UInt64 = 0x08
    public var stringChars: UInt64 = 0x0c
    public var arrayLength: UInt64 = 0x08
    public var szArrayData: UInt64 = 0x10
    /// Exception's _stackTrace (sbyte[]): header {count, Thread*}, then elements {ip, sp, MethodDesc*, flags}.
    public var stackTraceHeader: UInt64 = 16
    public var stackTraceElement: UInt64 = 32

    // MethodDesc
    public var mdChunkHeader: UInt64 = 0x18
    public var mdAlignment: UInt64 = 8
    public var mdChunkTokenRange: UInt64 = 0x12
    public var mdTokenRemainderBits: UInt32 = 14
    public var mdChunkTokenRangeMask: UInt16 = 0x3FF
    public var mdFlags2: UInt64 = 0x03
    public var mdSlotNumber: UInt64 = 0x04
    public var mdFlags: UInt64 = 0x06
    public var mdChunkNext: UInt64 = 0x08
    public var mdChunkSize: UInt64 = 0x10
    public var mdChunkCount: UInt64 = 0x11
    /// sizeof the MethodDesc subclass per classification (IL, FCall, NDirect, EEImpl, Array, Instantiated, ComInterop, Dynamic).
    public var mdClassificationSizes: [UInt64] = [8, 16, 64, 24, 24, 32, 8, 40]
    public var mdcHasNonVtableSlot: UInt16 = 0x0008
    public var mdcMethodImpl: UInt16 = 0x0010
    public var md2HasStableEntryPoint: UInt8 = 0x01
    public var md2HasPrecode: UInt8 = 0x02
    public var md2HasNativeCodeSlot: UInt8 = 0x08
    /// MethodTable vtable: indirection chunk pointers from mtSize, 8 slots each.
    public var vtableSlotsPerChunk: UInt64 = 8
    public var flag2HasNonVirtualSlots: UInt16 = 0x08
    public var flag2HasSingleNonVirtualSlot: UInt16 = 0x4000
    public var packedNumNonVirtualSlots = 10
    /// RealCodeHeader (pointed to by the word before JIT-compiled code): phdrMDesc.
    public var realCodeHeaderMethodDesc: UInt64 = 0x18
    // Module (more)
    public var moduleAssembly: UInt64 = 0x30
    public var moduleTransientFlags: UInt64 = 0x20
    public var moduleIndex: UInt64 = 0x520
    public var moduleLookupMapSize: UInt64 = 0x20

    /// .NET Core 3.1.23, Linux x64 (libcoreclr.so `@(#)Version 4.700.22.11601`).
    public static let coreclr3_1_23 = ClrLayoutTable(productVersion: "3.1.23", fileVersions: ["4.700.22.11601"])

    public static let supported: [ClrLayoutTable] = [.coreclr3_1_23]

    public static func forFileVersion(_ v: String) -> ClrLayoutTable? {
        supported.first { $0.fileVersions.contains(v) }
    }
}
