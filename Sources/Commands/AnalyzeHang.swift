import Foundation
import ClrLayout
import DumpModel

/// What `!analyze -v -hang` found: each managed thread's wait, the monitors and their owners, the deadlock
/// cycle if there is one, and the thread that gets the blame, with a bucket id in WinDbg's hang style.
struct HangAnalysisValue: CommandValue {
    struct ThreadWait: Encodable {
        let debuggerThread: Int
        let osId: HexValue
        /// "Monitor", "Sleep", "Wait" (a wait handle, Monitor.Wait, Join), or "Running" (no known wait).
        let waitType: String
        /// The monitor's object, for "Monitor" waits; nil when the stack did not say which one.
        let waitsForObject: HexValue?
        /// The thread that owns that monitor.
        let waitsForThread: Int?
        /// In the deadlock cycle.
        let deadlocked: Bool
        /// The top managed method (`Samples.Hang.Transfer.Move`).
        let topMethod: String?
    }
    struct Monitor: Encodable {
        let object: HexValue
        let type: String
        let ownerThread: Int?
        let recursion: UInt32
        let waiters: UInt32
    }
    /// Every worker the pool may have is busy and work waits behind them.
    struct Starvation: Encodable {
        let workersRunning: Int
        let maxWorkers: Int
        /// Debugger thread numbers of the pool's workers that are blocked (not running code).
        let blockedWorkers: [Int]
        let queuedWorkItems: Int
    }
    let verbose: Bool
    /// Why a hang analysis ran without `-hang` (a snapshot with no exception).
    var note: String? = nil
    let problemClass: String
    let starvation: Starvation?
    let waits: [ThreadWait]
    let monitors: [Monitor]
    /// Debugger thread numbers around the cycle, starting at the blocking thread.
    let deadlockCycle: [Int]?
    let blockingThread: Int
    let blockingThreadId: HexValue
    let processName: String?
    let managedStack: [ManagedStacksValue.Frame]
    let symbolName: String
    let moduleName: String?
    let imageName: String?
    let failureBucketId: String
    let failureHash: String
    let platform: String
    let osName: String

    func textLines() -> [String] {
        let star = String(repeating: "*", count: 79)
        let blank = "*" + String(repeating: " ", count: 77) + "*"
        var out = [star, blank, "*" + "Hang Analysis".leftPad(39).rightPad(77) + "*", blank, star, "", ""]
        if let note { out += [note, ""] }
        func key(_ k: String, _ v: String) { out += ["    Key  : \(k)", "    Value: \(v)", ""] }
        func field(_ name: String, _ value: String) { out += ["\(name):  \(value)", ""] }
        out += ["KEY_VALUES_STRING: 1", ""]
        key("Failure.Bucket", failureBucketId)
        key("Failure.Hash", failureHash)
        out.append("")
        field("BLOCKING_THREAD", Hex.pad(blockingThreadId.value, 16))
        if let cycle = deadlockCycle {
            field("DEADLOCK", "threads " + cycle.map { "~\($0)" }.joined(separator: " -> ") + " -> ~\(cycle[0]), each waiting for a monitor the next one owns")
        }
        if let st = starvation {
            field("THREADPOOL_STARVATION", "worker threads at the pool's limit (Running \(st.workersRunning), MaxLimit \(st.maxWorkers)); "
                  + "blocked workers \(st.blockedWorkers.map { "~\($0)" }.joined(separator: " ")); "
                  + "\(st.queuedWorkItems) work items queued (!ThreadPool -wi)")
        }
        out += ["DERIVED_WAIT_CHAIN:  ", "", "Dl Eid Cid     WaitType", "-- --- ------- --------------------------"]
        for w in waits where w.waitType != "Running" {
            var line = (w.deadlocked ? "x " : "  ") + String(w.debuggerThread).leftPad(3) + " " + String(w.osId.value, radix: 16).rightPad(7) + " "
            line += w.waitType.rightPad(10)
            if let o = w.waitsForObject {
                line += " on \(Sos.p(o.value))" + (w.waitsForThread.map { " owned by ~\($0)" } ?? "")
            }
            if let m = w.topMethod { line += "  in " + m }
            out.append(line)
        }
        out.append("")
        if verbose, !monitors.isEmpty {
            out.append("MONITORS:  (!syncblk)")
            out.append("          Object Owner Recursion Waiters Type")
            for m in monitors {
                out.append("\(Sos.p(m.object.value)) \((m.ownerThread.map { "~\($0)" } ?? "none").leftPad(5)) \(String(m.recursion).leftPad(9)) \(String(m.waiters).leftPad(7)) \(m.type)")
            }
            out.append("")
        }
        field("PROCESS_NAME", processName ?? "Unknown")
        if !managedStack.isEmpty {
            out.append("MANAGED_STACK: !CLRStack")
            out.append("        Child SP               IP Call Site")
            out += managedStack.map(ManagedStacksValue.frameLine)
            out.append("")
        }
        field("STACK_COMMAND", "~\(blockingThread)s; !clrstack")
        field("PRIMARY_PROBLEM_CLASS", problemClass)
        field("SYMBOL_NAME", symbolName)
        if let moduleName { out += ["MODULE_NAME: \(moduleName)", ""] }
        if let imageName { field("IMAGE_NAME", imageName) }
        field("FAILURE_BUCKET_ID", failureBucketId)
        field("OSPLATFORM_TYPE", platform)
        field("OSNAME", osName)
        field("FAILURE_ID_HASH", failureHash)
        out += ["Followup:     MachineOwner", "---------", ""]
        return out
    }
}

enum HangAnalysis {
    /// Methods a thread blocks in, by what they wait for (their full names, parameters left out).
    static let monitorEnter = ["System.Threading.Monitor.Enter", "System.Threading.Monitor.ReliableEnter",
                               "System.Threading.Monitor.TryEnter", "System.Threading.Monitor.ReliableEnterTimeout"]
    static let sleeps = ["System.Threading.Thread.Sleep", "System.Threading.Thread.SleepInternal"]
    static let handleWaits = ["System.Threading.WaitHandle.", "System.Threading.Monitor.Wait", "System.Threading.Monitor.ObjWait",
                        "System.Threading.Thread.Join", "System.Threading.ManualResetEventSlim.Wait", "System.Threading.Tasks.Task.Wait",
                        "System.Threading.SemaphoreSlim.Wait", "System.Threading.Tasks.Task.InternalWait", "System.Threading.SpinWait"]

    static func analyze(verbose: Bool, in s: Session) throws -> HangAnalysisValue {
        guard let r = AnalyzeCommand.clrRuntime(s) else {
            throw CommandError("!analyze -hang reads the .NET runtime's monitors and managed stacks: this dump has no .NET runtime dumpdbg can read (.loadby sos clr, and the runtime's folder on the image path)", kind: .unavailable)
        }
        let managedThreads = r.threads().filter { !$0.isDead }
        let indexOf: (UInt64) -> Int? = { os in s.dump.threads.firstIndex { $0.id == os } }
        var held: [ClrSyncBlockEntry] = []
        r.forEachSyncBlockEntry { e in if !e.isFree && e.isLocked { held.append(e) } }
        var ownerOfObject: [UInt64: Int] = [:]
        var monitors: [HangAnalysisValue.Monitor] = []
        for e in held {
            let owner = managedThreads.first { $0.address == e.holdingThread }.flatMap { indexOf($0.osId) }
            if let owner { ownerOfObject[e.object] = owner }
            monitors.append(.init(object: HexValue(e.object), type: r.objectType(e.object)?.name ?? "<unknown type>",
                                  ownerThread: owner, recursion: e.recursion, waiters: e.waiters))
        }
        let contended = Set(held.filter { $0.waiters > 0 }.map(\.object))

        var waits: [HangAnalysisValue.ThreadWait] = []
        var stacks: [Int: [ManagedStacksValue.Frame]] = [:]
        for t in managedThreads {
            try s.checkInterrupt()
            guard let i = indexOf(t.osId) else { continue }
            let thread = s.dump.threads[i]
            let frames = ClrStackCommand.frames(thread: i, context: thread.context, native: false, r, s)
            stacks[i] = frames
            let top = frames.first(where: \.managed).map { ManagedMethodName($0.callSite).method }
            let firstExplicit = frames.first.flatMap { $0.managed ? nil : $0.callSite }
            var type = "Running"
            var object: UInt64?
            if let top, monitorEnter.contains(top) || (firstExplicit?.hasPrefix("[HelperMethodFrame_1OBJ") == true && !sleeps.contains(top) && !handleWaits.contains(where: { top.hasPrefix($0) })) {
                type = "Monitor"
                // The object it wants: a contended monitor, owned by another thread, whose object the top frames
                // of this thread's stack hold (the runtime's frame keeps it there while the thread waits).
                if let sp = thread.context?.stackPointer {
                    let limit = frames.filter(\.managed).dropFirst().first?.childSP.value ?? sp &+ 0x800
                    object = candidates(from: sp, to: min(limit, sp &+ 0x4000), contended: contended, owners: ownerOfObject, me: i, s)
                }
            } else if let top, sleeps.contains(top) {
                type = "Sleep"
            } else if let top, handleWaits.contains(where: { top.hasPrefix($0) }) {
                type = "Wait"
            }
            waits.append(.init(debuggerThread: i, osId: HexValue(t.osId), waitType: type, waitsForObject: object.map(HexValue.init),
                               waitsForThread: object.flatMap { ownerOfObject[$0] }, deadlocked: false, topMethod: top))
        }

        // A cycle in "waits for the owner of": follow each thread's edge until a thread repeats.
        let next = Dictionary(waits.compactMap { w in w.waitsForThread.map { (w.debuggerThread, $0) } }, uniquingKeysWith: { a, _ in a })
        var cycle: [Int]?
        for start in waits.map(\.debuggerThread) where cycle == nil {
            var path: [Int] = [], cur = start
            while let n = next[cur], path.count <= waits.count {
                if let at = path.firstIndex(of: cur) { cycle = Array(path[at...]); break }
                path.append(cur)
                cur = n
            }
            if cycle == nil, let at = path.firstIndex(of: cur), path.count > at + 1 { cycle = Array(path[at...]) }
        }
        if let c = cycle, let lowest = c.min(), let at = c.firstIndex(of: lowest) { cycle = Array(c[at...] + c[..<at]) }
        let inCycle = Set(cycle ?? [])
        waits = waits.map { w in
            .init(debuggerThread: w.debuggerThread, osId: w.osId, waitType: w.waitType, waitsForObject: w.waitsForObject,
                  waitsForThread: w.waitsForThread, deadlocked: inCycle.contains(w.debuggerThread), topMethod: w.topMethod)
        }

        // Thread pool starvation: the pool runs as many workers as it may, each of them is blocked, and work
        // items wait in its queues.
        var starvation: HangAnalysisValue.Starvation?
        if cycle == nil, let pool = r.threadPool(), pool.maxWorkers > 0, pool.workersRunning >= pool.maxWorkers,
           let heap = try? SosRuntimes.heap(for: s).1 {
            let workers = Set(managedThreads.filter(\.isThreadPoolWorker).compactMap { indexOf($0.osId) })
            let blockedWorkers = waits.filter { workers.contains($0.debuggerThread) && $0.waitType != "Running" }.map(\.debuggerThread)
            let queued = r.queuedWorkItems(heap).count
            if queued > 0, blockedWorkers.count >= pool.maxWorkers {
                starvation = .init(workersRunning: pool.workersRunning, maxWorkers: pool.maxWorkers, blockedWorkers: blockedWorkers,
                                   queuedWorkItems: queued)
            }
        }

        // The blame: the cycle's first thread; else, when the pool is starved, its first blocked worker; else the
        // owner of the most contended monitor; else the first blocked thread that is not the runtime's own
        // (finalizer) thread; else the main thread.
        let problemClass: String
        let blocking: Int
        if let c = cycle {
            problemClass = "APPLICATION_HANG_DEADLOCK_MONITOR"
            blocking = c[0]
        } else if let st = starvation, let first = st.blockedWorkers.first {
            problemClass = "APPLICATION_HANG_THREADPOOL_STARVATION"
            blocking = first
        } else if let busiest = monitors.filter({ $0.waiters > 0 && $0.ownerThread != nil }).max(by: { $0.waiters < $1.waiters }),
                  let owner = busiest.ownerThread {
            problemClass = "APPLICATION_HANG_BlockedOn_MONITOR"
            blocking = owner
        } else {
            let finalizer = managedThreads.first(where: \.isFinalizer).flatMap { indexOf($0.osId) }
            let blocked = waits.first { $0.waitType != "Running" && $0.debuggerThread != finalizer }
            problemClass = blocked.map { "APPLICATION_HANG_BlockedOn_" + $0.waitType.uppercased() } ?? "APPLICATION_HANG"
            blocking = blocked?.debuggerThread ?? 0
        }
        let frames = stacks[blocking] ?? []
        // The blamed method: the blocking thread's first managed frame outside the framework.
        let managed = frames.filter(\.managed)
        let blamed = managed.first { !$0.callSite.hasPrefix("System.") } ?? managed.first
        let name = blamed?.methodDesc.map { ManagedMethodName(r.methodName($0.value)) }
        let bucket = problemClass + (name.map { "_\($0.image)!\($0.method)" } ?? "")
        let hash = AnalyzeCommand.guidHash(([bucket] + managed.prefix(8).map(\.callSite)).joined(separator: "\n"))
        // WinDbg leaves the session on the blocking thread.
        s.currentThread = blocking
        s.useExceptionContext = false
        return HangAnalysisValue(
            verbose: verbose, problemClass: problemClass, starvation: starvation, waits: waits, monitors: monitors, deadlockCycle: cycle,
            blockingThread: blocking, blockingThreadId: HexValue(s.dump.threads[blocking].id),
            processName: s.dump.processName.map { ($0 as NSString).lastPathComponent } ?? s.dump.modules.first?.fileName,
            managedStack: frames, symbolName: name.map { "\($0.module)!\($0.method)" } ?? "Unknown", moduleName: name?.module,
            imageName: name?.image, failureBucketId: bucket, failureHash: hash,
            platform: s.dump.system.architecture.description, osName: AnalyzeCommand.osName(s.dump.system))
    }

    /// The one contended monitor, owned by another thread, whose object a word of [from, to) points to.
    static func candidates(from: UInt64, to: UInt64, contended: Set<UInt64>, owners: [UInt64: Int], me: Int, _ s: Session) -> UInt64? {
        guard to > from else { return nil }
        var found: [UInt64] = []
        var a = from
        while a < to {
            if let w = s.memory.readU64(a), contended.contains(w), owners[w] != me, !found.contains(w) { found.append(w) }
            a &+= 8
        }
        return found.count == 1 ? found[0] : nil
    }
}
