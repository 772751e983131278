import Commands
import Foundation
import Testing

/// createdump 3.1 marks every thread with SIGABRT; after `.loadby sos`, the runtime names the crashing thread
/// and every command agrees on it: `.lastevent`, `.ecxr`, `~` and `!analyze -v`.
struct EventThreadTests {
    @Test func oneEventThreadEverywhere() throws {
        guard ClrFixtures.seedAvailable else { print("skip: ../shared/dumps is absent"); return }
        let (s, b) = try ClrFixtures.session(dump: ClrFixtures.seedDump, appFolder: ClrFixtures.seedFolder)
        #expect(ClrFixtures.run(s, b, ".lastevent").hasPrefix("Last event: 3809.3809: SIGABRT"))
        #expect(ClrFixtures.run(s, b, ".loadby sos clr").contains("Event thread: ~8 (OS thread 0x3811)"))
        #expect(ClrFixtures.run(s, b, ".lastevent").hasPrefix("Last event: 3809.3811: SIGABRT"))
        _ = ClrFixtures.run(s, b, "~0s")
        _ = ClrFixtures.run(s, b, ".ecxr")
        #expect(s.currentThread == 8)
        #expect(ClrFixtures.run(s, b, "~").contains(".  8  Id: 3809.3811"))
        _ = ClrFixtures.run(s, b, "~0s")
        let analysis = ClrFixtures.run(s, b, "!analyze -v")
        #expect(analysis.contains("FAULTING_THREAD:  3811") && analysis.contains("STACK_COMMAND:  ~8s; !pe; !clrstack"), "\(analysis.prefix(3000))")
        #expect(s.currentThread == 8)
    }
}
