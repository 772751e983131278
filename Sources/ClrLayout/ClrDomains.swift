import DumpModel

/// An application domain (or the SystemDomain) with its loader heaps and, for the AppDomain, its assemblies
/// (Docs/clr/domains-threadpool.md §3).
public struct ClrDomain: Sendable {
    public struct Assembly: Sendable {
        public let address: UInt64
        public let classLoader: UInt64
        /// The manifest file's path as the runtime recorded it.
        public let path: String?
        public let modules: [(address: UInt64, path: String?)]
    }
    public let address: UInt64
    public let lowFrequencyHeap: UInt64
    public let highFrequencyHeap: UInt64
    public let stubHeap: UInt64
    /// AppDomain::Stage (the SystemDomain is always OPEN).
    public let stage: UInt32
    public let name: String?
    public let assemblies: [Assembly]

    public static let stageNames = ["CREATING", "READYFORMANAGEDCODE", "ACTIVE", "OPEN", "UNLOAD_REQUESTED", "EXITING", "EXITED",
                                    "FINALIZING", "FINALIZED", "HANDLETABLE_NOACCESS", "CLEARED", "COLLECTED", "CLOSED"]
    public var stageName: String { Int(stage) < Self.stageNames.count ? Self.stageNames[Int(stage)] : "UNKNOWN" }
}

/// The thread pool's counters (3.1: the native ThreadpoolMgr; 8.0: the managed PortableThreadPool).
public struct ClrThreadPool: Sendable {
    public let cpuUtilization: Int32
    public let workersRunning: Int
    public let workersIdle: Int
    public let workersRetired: Int
    public let minWorkers: Int
    public let maxWorkers: Int
    /// The native pool's queued work requests (function, context).
    public let workRequests: [(function: UInt64, context: UInt64)]
    public let timers: Int
    /// Completion port threads (the native pool): total, free, max free, current limit, max limit, min limit.
    public let completionPorts: (total: Int, free: Int, maxFree: Int, currentLimit: Int, maxLimit: Int, minLimit: Int)
    /// The managed pool: its hill climbing log's start and size (nil for the native pool, or no pool yet).
    public let hillClimbingLog: (start: Int32, size: Int32)?
    public let isPortable: Bool
}

extension ClrRuntime {
    /// The SystemDomain and the AppDomain, or nil when the runtime's globals are not readable.
    public func domains(limit: Int = 100_000) -> (system: ClrDomain, app: ClrDomain?)? {
        let l = layout.domains, t = target
        guard let sd = globalPointer(.systemDomain), sd != 0 else { return nil }
        let allocator = sd &+ l.systemDomainGlobalAllocator
        let heaps = (0..<3).map { t.u64(allocator &+ l.allocatorHeaps &+ UInt64($0) * 8) ?? 0 }
        let system = ClrDomain(address: sd, lowFrequencyHeap: heaps[0], highFrequencyHeap: heaps[1], stubHeap: heaps[2], stage: 3,
                               name: nil, assemblies: [])
        guard let ad = globalPointer(.appDomain), ad != 0 else { return (system, nil) }
        var assemblies: [ClrDomain.Assembly] = []
        for da in arrayList(ad &+ l.appDomainAssemblies, limit: limit) {
            // The DAC's AssemblyIterator: loaded far enough (FILE_LOAD_DELIVER_EVENTS), with no load error.
            guard da != 0, t.u64(da &+ l.domainAssemblyError) == 0, let level = t.u32(da &+ l.domainAssemblyLevel), level >= 10,
                  let a = t.u64(da &+ l.domainAssemblyAssembly), a != 0 else { continue }
            let manifest = t.u64(a &+ l.assemblyModule) ?? 0
            var modules: [UInt64] = [manifest]
            if let refs = l.moduleFileReferences, manifest != 0 {
                let listed = lookupMap(manifest &+ refs, limit: 4096)
                if !listed.isEmpty { modules = listed }
            }
            assemblies.append(ClrDomain.Assembly(
                address: a, classLoader: t.u64(a &+ l.assemblyClassLoader) ?? 0,
                path: t.u64(a &+ l.assemblyFile).flatMap { peFilePath($0) },
                modules: modules.filter { $0 != 0 }.map { ($0, module(at: $0)?.recordedPath) }))
        }
        let app = ClrDomain(address: ad, lowFrequencyHeap: heaps[0], highFrequencyHeap: heaps[1], stubHeap: heaps[2],
                            stage: t.u32(ad &+ l.appDomainStage) ?? 0, name: sstring(at: ad &+ l.appDomainName), assemblies: assemblies)
        return (system, app)
    }

    /// The entries of an ArrayList (arraylist.h): the count, then an inline block of 5 (next at +8, size at
    /// +0x10, slots from +0x18), then heap blocks (next at +0, size at +8, slots from +0x10).
    func arrayList(_ list: UInt64, limit: Int) -> [UInt64] {
        let t = target
        guard let count = t.u32(list) else { return [] }
        var out: [UInt64] = []
        var block = list &+ 8, slots = list &+ 0x18
        var size = Int(t.u32(list &+ 0x10) ?? 0)
        var seen = Set<UInt64>()
        while out.count < min(Int(count), limit), size > 0, size < 1 << 24, seen.insert(block).inserted {
            for i in 0..<size where out.count < Int(count) { out.append(t.u64(slots &+ UInt64(i) * 8) ?? 0) }
            guard let next = t.u64(block), next != 0 else { break }
            block = next; slots = next &+ 0x10
            size = Int(t.u32(next &+ 8) ?? 0)
        }
        return out
    }

    /// The values of a LookupMap (ceeload.h): next at +0, table at +8, count at +0x10, flag bits at +0x18.
    func lookupMap(_ map: UInt64, limit: Int) -> [UInt64] {
        let t = target
        var out: [UInt64] = []
        var m = map
        var seen = Set<UInt64>()
        while m != 0, out.count < limit, seen.insert(m).inserted {
            guard let table = t.u64(m &+ 8), let count = t.u32(m &+ 0x10), let flags = t.u64(m &+ 0x18) else { break }
            for i in 0..<UInt64(min(count, UInt32(limit))) { if let v = t.u64(table &+ i * 8) { out.append(v & ~flags) } }
            m = t.u64(m) ?? 0
        }
        return out
    }

    /// The thread pool: the native ThreadpoolMgr where the runtime has one (3.1), else the managed
    /// PortableThreadPool's statics (8.0; zeros when no pool was created yet).
    public func threadPool() -> ClrThreadPool? {
        let t = target
        if let countsAt = layout.domains.threadCounterCounts, let worker = global(.tpWorkerCounter) {
            func counts(_ c: ClrGlobal) -> [Int] {
                guard let a = global(c) else { return [0, 0, 0, 0] }
                return (0..<4).map { Int(Int16(bitPattern: t.u16(a &+ countsAt &+ UInt64($0) * 2) ?? 0)) }
            }
            func long(_ g: ClrGlobal) -> Int { global(g).flatMap { t.u32($0) }.map { Int(Int32(bitPattern: $0)) } ?? 0 }
            let w = counts(.tpWorkerCounter), cp = counts(.tpCPThreadCounter)
            _ = worker
            // [MaxWorking, NumActive, NumWorking, NumRetired]
            var requests: [(UInt64, UInt64)] = []
            var r = global(.tpWorkRequestHead).flatMap { t.u64($0) } ?? 0
            var seen = Set<UInt64>()
            while r != 0, requests.count < 10_000, seen.insert(r).inserted {
                requests.append((t.u64(r &+ 8) ?? 0, t.u64(r &+ 0x10) ?? 0))
                r = t.u64(r) ?? 0
            }
            var timers = 0
            if let head = global(.tpTimerQueue) {
                var n = t.u64(head) ?? 0
                var visited = Set<UInt64>()
                while n != 0, n != head, timers < 100_000, visited.insert(n).inserted { timers += 1; n = t.u64(n) ?? 0 }
            }
            return ClrThreadPool(cpuUtilization: Int32(long(.tpCpuUtilization)), workersRunning: w[2], workersIdle: w[1] - w[2],
                                 workersRetired: w[3], minWorkers: long(.tpMinWorkers), maxWorkers: long(.tpMaxWorkers),
                                 workRequests: requests, timers: timers,
                                 completionPorts: (cp[1] + cp[3], cp[1] - cp[2], long(.tpMaxFreeCPThreads), cp[1], long(.tpMaxLimitCPThreads),
                                                   long(.tpMinLimitCPThreads)),
                                 hillClimbingLog: nil, isPortable: false)
        }
        // The managed pool: PortableThreadPool.ThreadPoolInstance. Until the first work item the runtime has not
        // loaded the type, or the static is null: every count is zero, as SOS reports it.
        let zero = ClrThreadPool(cpuUtilization: 0, workersRunning: 0, workersIdle: 0, workersRetired: 0, minWorkers: 0, maxWorkers: 0,
                                 workRequests: [], timers: 0, completionPorts: (0, 0, 0, 0, 0, 0), hillClimbingLog: nil, isPortable: true)
        guard let poolType = methodTable(named: "System.Threading.PortableThreadPool").flatMap({ type($0) }),
              let pool = staticReference(poolType, "ThreadPoolInstance"), pool != 0 else { return zero }
        func int(_ name: String) -> Int { if case .signed(let v)? = fieldValue(pool, named: name) { return Int(v) } else { return 0 } }
        // _separated.counts._data: processing work in bits 0-15, existing threads in bits 16-31.
        var countsWord: UInt64 = 0
        if let sep = objectType(pool)?.field(named: "_separated"), let sepType = type(fieldTypeMT(sep)),
           let c = sepType.field(named: "counts"), let cType = type(fieldTypeMT(c)), let d = cType.field(named: "_data") {
            countsWord = t.u64(instanceFieldAddress(pool, sep) &+ UInt64(c.offset) &+ UInt64(d.offset)) ?? 0
        }
        let processing = Int(countsWord & 0xFFFF), existing = Int((countsWord >> 16) & 0xFFFF)
        var log: (Int32, Int32)?
        if let hc = methodTable(named: "System.Threading.PortableThreadPool+HillClimbing").flatMap({ type($0) }),
           let climber = staticReference(hc, "ThreadPoolHillClimber"), climber != 0,
           let start = int32Field(climber, "_logStart"), let size = int32Field(climber, "_logSize") {
            log = (start, size)
        }
        return ClrThreadPool(cpuUtilization: Int32(int("_cpuUtilization")), workersRunning: processing, workersIdle: max(0, existing - processing),
                             workersRetired: 0, minWorkers: int("_minThreads"), maxWorkers: int("_maxThreads"), workRequests: [], timers: 0,
                             completionPorts: (0, 0, 0, 0, 0, 0), hillClimbingLog: log, isPortable: true)
    }

    /// A reference-type static field's value.
    func staticReference(_ t: ClrType, _ name: String) -> UInt64? {
        guard let f = t.staticFields.first(where: { $0.name == name }), let a = staticFieldAddress(f, of: t) else { return nil }
        return target.u64(a)
    }
}
