import ClrLayout
@testable import Commands
import DumpModel
import Foundation
import Testing

@Suite("!pe frame offsets", .enabled(if: ClrFixtures.runtimeFolder != nil, Comment(rawValue: ClrFixtures.skipRuntime)))
struct PrintExceptionOffsetTests {
    /// Each frame of the sample's crash is `Module!Method(args)+0xNN`: the IP's distance into the method's
    /// own JIT-compiled code, which starts at the MethodDesc's native code and holds the IP.
    @Test func framesCarryTheirOffsetIntoTheMethod() throws {
        let (s, b) = try ClrFixtures.session(dump: ClrFixtures.samplesFolder + "/linux-3.1.core.xz", appFolder: ClrFixtures.samplesFolder)
        _ = ClrFixtures.run(s, b, ".loadby sos clr")
        let text = ClrFixtures.run(s, b, "!pe")
        let frames = text.split(separator: "\n").filter { $0.hasPrefix("    00007F") }
        #expect(frames.count == 9)
        #expect(frames.first?.hasSuffix("app.exe!Samples.AccountController+<LoginAsync>c__async0.MoveNext()+0x198") == true)
        for f in frames {
            let parts = f.split(separator: " ")
            let ip = try #require(UInt64(parts[1], radix: 16))
            let offsetText = try #require(f.range(of: ")+0x").map { f[$0.upperBound...] })
            let offset = try #require(UInt64(offsetText, radix: 16))
            #expect(offset > 0 && offset < 0x1000, "\(f)")
            // The code start the offset implies is where the runtime's own code-header would place the method:
            // the bytes there are in the dump (the JIT wrote them) and are not a precode jump.
            #expect(s.memory.readU8(ip - offset) != nil, "code start of \(f) is in the dump")
        }
    }
}
