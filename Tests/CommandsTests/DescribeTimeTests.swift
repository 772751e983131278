@testable import Commands
import Foundation
import Testing
import TestSupport

/// `Describe.time` gives what `gmtime` and `strftime` give, for every kind of date a dump's 32-bit time holds.
@Suite struct DescribeTimeTests {
    func expected(_ seconds: UInt32) -> String {
        var t = time_t(seconds)
        var parts = tm()
        gmtime_r(&t, &parts)
        var buf = [CChar](repeating: 0, count: 64)
        let n = strftime(&buf, buf.count, "%a %b %e %H:%M:%S.000 %Y", &parts)
        return String(decoding: buf.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self) + " (UTC + 0:00)"
    }

    @Test func agreesWithTheCLibrary() {
        // The epoch, leap days, the turn of 2000, and the last second a UInt32 holds.
        for s: UInt32 in [0, 59, 86_399, 86_400, 68_169_600, 951_782_400, 951_868_799, 946_684_800, 1_700_000_000, .max] {
            #expect(Describe.time(s) == expected(s), "\(s)")
        }
        var rng = SplitMix(state: 1970)
        for _ in 0..<5000 {
            let s = UInt32(truncatingIfNeeded: rng.next())
            #expect(Describe.time(s) == expected(s), "\(s)")
        }
        #expect(Describe.time(1_136_160_000) == "Mon Jan  2 00:00:00.000 2006 (UTC + 0:00)")
    }
}
