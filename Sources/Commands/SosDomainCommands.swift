import ClrLayout
import DumpModel

/// `!DumpDomain [<domain address>]`: the SystemDomain and the AppDomain, their loader heaps, and the
/// AppDomain's assemblies with their modules.
struct DumpDomainCommand: ValueCommand {
    let names = ["!DumpDomain", "!dumpdomain"]
    let summary = "list the application domains, their loader heaps, assemblies and modules"
    let help = """
    !DumpDomain [<domain address>]
    the SystemDomain and the AppDomain (.NET Core has one), each with its loader heaps, stage and name,
    then the AppDomain's loaded assemblies in load order: Assembly, its file, ClassLoader, and its modules
    (Module addresses lead to !DumpModule). Paths are the ones the runtime recorded on the machine that
    wrote the dump. With an address, that domain only.
    Example: !DumpDomain
    """
    var extensionName: String? { "sos" }

    func evaluate(_ inv: Invocation, in s: Session) throws -> any CommandValue {
        let args = try CommandArguments(inv, positionals: 0...1, usage: "!DumpDomain [<domain address>]")
        let r = try Sos.run { try SosRuntimes.runtime(for: s) }
        guard let (system, app) = r.domains() else {
            throw CommandError("The runtime's SystemDomain is not readable in this dump", kind: .unavailable)
        }
        var domains: [DomainsValue.Domain] = [Self.value(system, label: "System Domain")]
        if let app { domains.append(Self.value(app, label: "Domain 1")) }
        if let a = try args.positionals.first.map({ try Sos.address($0, s) }) {
            domains = domains.filter { $0.address.value == a }
            guard !domains.isEmpty else { throw CommandError("\(Sos.p(a)) is not a domain: !DumpDomain lists them") }
        }
        return DomainsValue(domains: domains)
    }

    static func value(_ d: ClrDomain, label: String) -> DomainsValue.Domain {
        .init(label: label, address: HexValue(d.address), lowFrequencyHeap: HexValue(d.lowFrequencyHeap),
              highFrequencyHeap: HexValue(d.highFrequencyHeap), stubHeap: HexValue(d.stubHeap), stage: d.stageName, name: d.name,
              assemblies: d.assemblies.map { a in
                  .init(address: HexValue(a.address), path: a.path, classLoader: HexValue(a.classLoader),
                        modules: a.modules.map { .init(address: HexValue($0.address), path: $0.path) })
              })
    }
}

struct DomainsValue: CommandValue {
    struct Module: Encodable {
        let address: HexValue
        let path: String?
    }
    struct Assembly: Encodable {
        let address: HexValue
        let path: String?
        let classLoader: HexValue
        let modules: [Module]
    }
    struct Domain: Encodable {
        /// "System Domain" or "Domain 1".
        let label: String
        let address: HexValue
        let lowFrequencyHeap: HexValue
        let highFrequencyHeap: HexValue
        let stubHeap: HexValue
        let stage: String
        let name: String?
        let assemblies: [Assembly]
    }
    let domains: [Domain]

    /// SOS's DomainInfo / AssemblyInfo (with the ClassLoader line of the SOS that shipped with these runtimes).
    func textLines() -> [String] {
        var out: [String] = []
        for d in domains {
            out.append("--------------------------------------")
            out.append((d.label + ":").rightPad(20) + Sos.p(d.address.value))
            out += ["LowFrequencyHeap:   " + Sos.P(d.lowFrequencyHeap.value), "HighFrequencyHeap:  " + Sos.P(d.highFrequencyHeap.value),
                    "StubHeap:           " + Sos.P(d.stubHeap.value), "Stage:              " + d.stage,
                    "Name:               " + ((d.name ?? "").isEmpty ? "None" : d.name!)]
            guard !d.assemblies.isEmpty else { continue }
            for (i, a) in d.assemblies.enumerated() {
                if i > 0 { out.append("") }
                out.append("Assembly:           \(Sos.p(a.address.value)) [\(a.path ?? "")]")
                out.append("ClassLoader:        " + Sos.P(a.classLoader.value))
                out.append("  Module")
                for m in a.modules { out.append("  \(Sos.p(m.address.value))    \((m.path ?? "").isEmpty ? "Unknown Module" : m.path!)") }
            }
            out.append("")
        }
        return out
    }
}

/// `!ThreadPool`: the thread pool's CPU utilization, worker and completion port threads, queued requests, timers.
struct ThreadPoolCommand: ValueCommand {
    let names = ["!ThreadPool", "!threadpool"]
    let summary = "show the thread pool: CPU utilization, worker threads, queued requests, timers"
    let help = """
    !ThreadPool [-wi]
    .NET Core 3.1's native thread pool (ThreadpoolMgr: worker and completion port thread counts and limits,
    the work request queue, the timer count), or .NET 8's managed PortableThreadPool (CPU utilization,
    running and idle workers and their limits, read from its statics; all zero before the first work item).
    Printed as SOS's native !ThreadPool did.
    -wi also lists the managed work items waiting in the queues (the global ThreadPoolWorkQueue and each
    worker's local queue), with the method each will call, and their per-type statistics.
    Example: !threadpool -wi
    """
    var extensionName: String? { "sos" }

    func evaluate(_ inv: Invocation, in s: Session) throws -> any CommandValue {
        let args = try CommandArguments(inv, flags: ["-wi"], positionals: 0...0, usage: "!ThreadPool [-wi]")
        let r = try Sos.run { try SosRuntimes.runtime(for: s) }
        guard let p = r.threadPool() else {
            throw CommandError("Failed to obtain ThreadPool data: neither the native pool's statics nor PortableThreadPool were found", kind: .unavailable)
        }
        let cp = p.completionPorts
        var items: [ThreadPoolValue.WorkItem]?, stats: HeapStatisticsValue?
        if args.has("-wi") {
            let (_, heap) = try Sos.run { try SosRuntimes.heap(for: s) }
            let queued = r.queuedWorkItems(heap)
            items = queued.map { q in
                ThreadPoolValue.WorkItem(queue: q.localQueue.map { HexValue($0) }, highPriority: q.highPriority, object: HexValue(q.object),
                                         type: r.type(q.methodTable)?.name ?? "<unknown type>",
                                         callback: q.callback.map { r.methodName($0, withModule: false) })
            }
            var byType: [UInt64: (count: Int, size: UInt64)] = [:]
            for q in queued { byType[q.methodTable, default: (0, 0)].count += 1; byType[q.methodTable, default: (0, 0)].size += q.size }
            stats = HeapStatisticsValue(counts: byType.map { ($0.key, $0.value.count, $0.value.size) },
                                        name: { r.type($0)?.name ?? "<unknown type>" }, walkProblems: heap.walkProblems)
        }
        return ThreadPoolValue(workItems: items, workItemStatistics: stats, portable: p.isPortable, logStart: p.hillClimbingLog?.start, logSize: p.hillClimbingLog?.size,
                               cpuUtilization: Int(p.cpuUtilization), workersTotal: p.workersRunning + p.workersIdle + p.workersRetired,
                               workersRunning: p.workersRunning, workersIdle: p.workersIdle, minWorkers: p.minWorkers, maxWorkers: p.maxWorkers,
                               workRequests: p.workRequests.map { .init(function: HexValue($0.function), context: HexValue($0.context)) },
                               timers: p.timers, completionPortsTotal: cp.total, completionPortsFree: cp.free, completionPortsMaxFree: cp.maxFree,
                               completionPortsCurrentLimit: cp.currentLimit, completionPortsMaxLimit: cp.maxLimit, completionPortsMinLimit: cp.minLimit)
    }
}

struct ThreadPoolValue: CommandValue {
    struct Request: Encodable {
        let function: HexValue
        let context: HexValue
    }
    /// A managed work item waiting to run (`-wi`).
    struct WorkItem: Encodable {
        /// The worker's local queue (WorkStealingQueue), or nil for the global queue.
        let queue: HexValue?
        let highPriority: Bool
        let object: HexValue
        let type: String
        /// The method it will call (`Type.Method(Args)`), when its delegate leads to one.
        let callback: String?
    }
    /// Only with `-wi`.
    let workItems: [WorkItem]?
    let workItemStatistics: HeapStatisticsValue?
    let portable: Bool
    let logStart: Int32?
    let logSize: Int32?
    let cpuUtilization: Int
    let workersTotal: Int
    let workersRunning: Int
    let workersIdle: Int
    let minWorkers: Int
    let maxWorkers: Int
    let workRequests: [Request]
    let timers: Int
    let completionPortsTotal: Int
    let completionPortsFree: Int
    let completionPortsMaxFree: Int
    let completionPortsCurrentLimit: Int
    let completionPortsMaxLimit: Int
    let completionPortsMinLimit: Int

    func textLines() -> [String] {
        var out: [String] = []
        if let logStart, let logSize { out += ["logStart: \(logStart)", "logSize: \(logSize)"] }
        out.append("CPU utilization: \(cpuUtilization) %")
        out.append("Worker Thread: Total: \(workersTotal) Running: \(workersRunning) Idle: \(workersIdle) MaxLimit: \(maxWorkers) MinLimit: \(minWorkers)")
        out.append("Work Request in Queue: \(workRequests.count)")
        for r in workRequests { out.append("    Unknown Function: \(Sos.P(r.function.value))  Context: \(Sos.P(r.context.value))") }
        if let workItems {
            // SOS's layout: the queue ("[Global]" or the local queue's address) and the item, right-aligned in
            // pointer-wide columns, its type, and " => " the method its delegate calls.
            out += ["", "Queued work items:", "           Queue          Address Work Item"]
            for w in workItems {
                let queue = w.queue.map { Sos.p($0.value) } ?? (w.highPriority ? "[Global high-pri]" : "[Global]").leftPad(16)
                out.append("\(queue) \(Sos.p(w.object.value)) \(w.type)" + (w.callback.map { " => " + $0 } ?? ""))
            }
            if let workItemStatistics { out += workItemStatistics.textLines() }
            out.append("")
        }
        out += ["--------------------------------------", "Number of Timers: \(timers)", "--------------------------------------"]
        out.append("Completion Port Thread:Total: \(completionPortsTotal) Free: \(completionPortsFree) MaxFree: \(completionPortsMaxFree) "
                   + "CurrentLimit: \(completionPortsCurrentLimit) MaxLimit: \(completionPortsMaxLimit) MinLimit: \(completionPortsMinLimit)")
        return out
    }
}
