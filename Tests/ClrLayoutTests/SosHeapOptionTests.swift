import ClrLayout
@testable import Commands
import DumpModel
import Foundation
import Testing

@Suite("!da -details on structs, !pe -nested, !dumpheap -strings and ranges")
struct HeapOptionTests {
    @Test("!da -details on the sample's Samples.Point[16] gives every X and Y facts.txt lists")
    func pointArray() throws {
        guard let (s, b) = try sampleSession() else { return }
        let facts = try sampleFacts()
        let addr = try #require(ClrFixtures.run(s, b, "!dumpheap -short -type Samples.Point[]").split(separator: "\n").first.map(String.init))
        let out = ClrFixtures.run(s, b, "!da -details \(addr)")
        #expect(out.contains("Name:        Samples.Point[]\n"), "\(out)")
        #expect(out.contains("Array:       Rank 1, Number of elements 16, Type VALUETYPE\n"))
        // Element rows and their X / Y values, in order.
        let lines = out.split(separator: "\n").map(String.init)
        var points: [(x: Int, y: Int)] = []
        var x: Int?
        for line in lines {
            let p = line.split(separator: " ")
            guard p.count >= 7, p[p.count - 3] == "instance" else { continue }
            let v = Int(p[p.count - 2])
            if p.last == "X" { x = v } else if p.last == "Y", let xv = x, let yv = v { points.append((xv, yv)); x = nil }
        }
        #expect(points.count == 16, "\(out)")
        for (i, pt) in points.enumerated() {
            #expect(pt.x == i * 10 && pt.y == i * i - 5, "point \(i)")  // FACT rule.Samples.Point[i]
            #expect(facts["point[\(i)]"] == "X=\(pt.x) Y=\(pt.y)")
        }
        // Each element is shown !DumpVC-style at its own address: data + i * 8.
        let base = try #require(UInt64(addr, radix: 16)) + 0x10
        #expect(lines.contains("[15] \(Sos.p(base + 15 * 8))"))
        #expect(out.contains("\n    Name:        Samples.Point\n    MethodTable: "))
        // -length / -start and -nofields.
        let some = ClrFixtures.run(s, b, "!da -details -nofields -start 2 -length 2 \(addr)")
        #expect(some.contains("[2] \(Sos.p(base + 16))\n    Name:        Samples.Point\n    MethodTable: "), "\(some)")
        #expect(!some.contains("[4]") && !some.contains(" instance "))
        // -details on an array of references dumps each object.
        let customers = try #require(ClrFixtures.run(s, b, "!dumpheap -short -type Samples.Customer[]").split(separator: "\n").first)
        let c = ClrFixtures.run(s, b, "!da -details -length 1 \(customers)")
        #expect(c.contains("    Name:        Samples.Customer\n"), "\(c)")
    }

    @Test("!pe -nested prints the exception and says what it cannot see; !pe on other objects refuses")
    func printExceptionNested() throws {
        guard let (s, b) = try sampleSession() else { return }
        let r = try SosRuntimes.runtime(for: s)
        let faulting = try #require(r.threads().first { $0.lastThrownHandle != 0 })
        let index = try #require(s.dump.threads.firstIndex { $0.id == faulting.osId })
        _ = ClrFixtures.run(s, b, "~\(index)s")
        let plain = ClrFixtures.run(s, b, "!pe")
        #expect(plain.contains("Exception type:   System.NullReferenceException\n"))
        let nested = ClrFixtures.run(s, b, "!pe -nested")
        #expect(nested.hasPrefix(plain), "\(nested)")
        #expect(nested.hasSuffix("(no inner exceptions; nested exception trackers are not read by dumpdbg)\n"))
        let facts = try sampleFacts()
        #expect(plain.contains("Message:          \(facts["exception.message"] ?? "?")\n"))
        // A string is an object but not an exception; 0 is not an object.
        let request = try #require(ClrFixtures.run(s, b, "!dumpheap -short -type System.Web.Hosting.IIS7WorkerRequest").split(separator: "\n").first)
        #expect(ClrFixtures.run(s, b, "!pe \(request)") == "Not a valid exception object\n")
        #expect(ClrFixtures.run(s, b, "!pe -nested 0") == "Invalid object\n")
    }

    @Test("!dumpheap -strings counts strings by value; the totals equal -stat's System.String row")
    func strings() throws {
        guard let (s, b) = try ObjectCommandTests.seed() else { return }
        let out = ClrFixtures.run(s, b, "!dumpheap -strings")
        #expect(out.hasPrefix("Statistics:\n   Count    TotalSize String Value\n"), "\(out.prefix(300))")
        var rows: [(count: Int, size: Int, text: String)] = []
        for line in out.split(separator: "\n").dropFirst(2) where !line.hasPrefix("Total ") {
            let count = Int(line.prefix(8).trimmingCharacters(in: .whitespaces)) ?? -1
            let size = Int(line.dropFirst(9).prefix(12).trimmingCharacters(in: .whitespaces)) ?? -1
            rows.append((count, size, String(line.dropFirst(22))))
        }
        let stat = StatRow.parse(ClrFixtures.run(s, b, "!dumpheap -stat"))
        let strings = try #require(stat.first { $0.name == "System.String" })
        #expect(rows.reduce(0) { $0 + $1.count } == strings.count)
        #expect(rows.reduce(0) { $0 + $1.size } == strings.size)
        #expect(out.hasSuffix("Total \(strings.count) strings\n"))
        // "/Account/Login" (14 chars: 22 + 28 = 50 bytes) and "POST" from Program.cs.
        #expect(rows.contains { $0.text == "/Account/Login" && $0.size == 50 * $0.count })
        #expect(rows.contains { $0.text == "POST" })
        #expect(rows.map(\.size) == rows.map(\.size).sorted())
        // -strings -short: the string addresses only.
        let short = ClrFixtures.run(s, b, "!dumpheap -strings -short").split(separator: "\n")
        #expect(short.count == strings.count)
    }

    @Test("!dumpheap -type X -stat, -mt with -short, and START END ranges")
    func filtersAndRanges() throws {
        guard let (s, b) = try ObjectCommandTests.seed() else { return }
        let all = StatRow.parse(ClrFixtures.run(s, b, "!dumpheap -stat"))
        let typed = StatRow.parse(ClrFixtures.run(s, b, "!dumpheap -type CrashLab. -stat"))
        #expect(typed == all.filter { $0.name.contains("CrashLab.") }, "\(typed)")
        #expect(typed.first { $0.name == "CrashLab.UserProfile" }?.count == 2000)
        let up = try #require(all.first { $0.name == "CrashLab.UserProfile" })
        let short = ClrFixtures.run(s, b, "!dumpheap -mt \(up.mt) -short").split(separator: "\n").map(String.init)
        #expect(short.count == 2000)
        #expect(short.allSatisfy { $0.count == 16 && UInt64($0, radix: 16) != nil })
        // The two requests (DAC: 00007fb070238a38 and 00007fb07023a0a0): a range holding exactly them.
        let reqs = ClrFixtures.run(s, b, "!dumpheap -type System.Web.Hosting.IIS7WorkerRequest -short")
        #expect(reqs == "00007fb070238a38\n00007fb07023a0a0\n")
        let ranged = ClrFixtures.run(s, b, "!dumpheap 00007fb070238a38 00007fb07023a0a0")
        let addrs = ranged.split(separator: "\n", omittingEmptySubsequences: false).dropFirst().prefix { !$0.isEmpty }.map { String($0.prefix(16)) }
        #expect(addrs.first == "00007fb070238a38" && addrs.last == "00007fb07023a0a0", "\(ranged.prefix(400))")
        #expect(addrs == addrs.sorted())
        #expect(ClrFixtures.run(s, b, "!dumpheap -short 00007fb070238a38 00007fb070238a38") == "00007fb070238a38\n")
        #expect(ClrFixtures.run(s, b, "!dumpheap -type IIS7WorkerRequest -short 00007fb070238a39") == "00007fb07023a0a0\n")
        #expect(ClrFixtures.run(s, b, "!dumpheap 2 1").hasPrefix("Invalid range"))
        #expect(ClrFixtures.run(s, b, "!dumpheap 1 2 3") == "Invalid argument 3\n")
    }
}
