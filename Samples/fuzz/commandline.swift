// Fuzz target: a WinDbg command line: the splitter, the registry's name rules, and the MASM evaluator with
// registers and memory that answer for some addresses and not others.
import Commands

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCommandLine(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let env = ExpressionEvaluator.Environment(
        register: { $0 == "rsp" ? 0x7fff_0000 : $0 == "$ip" ? 0x40_1000 : nil },
        symbol: { $0 == "ntdll" ? 0x7ff8_0000_0000 : nil },
        readPointer: { $0 & 0xFFF == 0 ? $0 &+ 8 : nil }, readU8: { UInt8(truncatingIfNeeded: $0) },
        readU16: { UInt16(truncatingIfNeeded: $0) }, readU32: { UInt32(truncatingIfNeeded: $0) }, readU64: { $0 })
    for command in CommandLineSplitter.split(text) {
        var e = ExpressionEvaluator(command, environment: env)
        _ = try? e.evaluate()
        _ = try? ExpressionEvaluator.evaluate(command, environment: env)
    }
    return 0
}
