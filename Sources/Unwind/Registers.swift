import DumpModel

/// What the unwinder knows about one architecture: DWARF register numbers, which of them a callee must
/// preserve, and their names for printing.
public struct UnwindArchitecture: Sendable {
    public let architecture: CPUArchitecture
    public let pointerSize: Int
    let instructionPointer: Int
    let stackPointer: Int
    let framePointer: Int
    /// Registers a callee restores before returning: the caller sees the same value unless CFI says where
    /// it was saved.
    let calleeSaved: [Int]
    /// DWARF number -> register name, in WinDbg's spelling.
    let names: [Int: String]

    public static func of(_ a: CPUArchitecture) -> UnwindArchitecture? {
        switch a {
        case .amd64: return amd64
        case .x86: return x86
        case .arm64: return arm64
        default: return nil
        }
    }

    static let amd64 = UnwindArchitecture(
        architecture: .amd64, pointerSize: 8, instructionPointer: 16, stackPointer: 7, framePointer: 6,
        calleeSaved: [3, 6, 12, 13, 14, 15],
        names: [0: "rax", 1: "rdx", 2: "rcx", 3: "rbx", 4: "rsi", 5: "rdi", 6: "rbp", 7: "rsp", 8: "r8", 9: "r9", 10: "r10",
                11: "r11", 12: "r12", 13: "r13", 14: "r14", 15: "r15", 16: "rip"])

    static let x86 = UnwindArchitecture(
        architecture: .x86, pointerSize: 4, instructionPointer: 8, stackPointer: 4, framePointer: 5,
        calleeSaved: [3, 5, 6, 7],
        names: [0: "eax", 1: "ecx", 2: "edx", 3: "ebx", 4: "esp", 5: "ebp", 6: "esi", 7: "edi", 8: "eip"])

    /// AArch64 DWARF numbers: x0-x30 (x29 the frame pointer, x30 the link register), 31 sp; the pc has no
    /// DWARF number, so the unwinder keeps it as 32 (the CFI's return address column is x30).
    static let arm64: UnwindArchitecture = {
        var names: [Int: String] = [29: "fp", 30: "lr", 31: "sp", 32: "pc"]
        for i in 0..<29 { names[i] = "x\(i)" }
        return UnwindArchitecture(architecture: .arm64, pointerSize: 8, instructionPointer: 32, stackPointer: 31, framePointer: 29,
                                  calleeSaved: Array(19...29), names: names)
    }()

    /// The registers of a dump's context, by DWARF number; only those the context has.
    func registers(from context: RegisterContext) -> [Int: UInt64] {
        var out: [Int: UInt64] = [:]
        for (n, name) in names { if let v = context[name] { out[n] = v } }
        return out
    }

    func name(_ dwarf: Int) -> String { names[dwarf] ?? "r\(dwarf)" }
}

/// How a frame was found, from most to least trustworthy (rust-minidump's FrameTrust).
public enum FrameTrust: String, Sendable, Encodable {
    /// The thread's own context (or the exception context after `.ecxr`).
    case context
    /// The caller's registers computed from the module's call frame information.
    case callFrameInfo = "cfi"
    /// Followed the frame pointer chain.
    case framePointer = "frame_pointer"
    /// A word on the stack that points just after a call in a module: a guess.
    case scan

    /// rust-minidump's "Found by:" words.
    public var foundBy: String {
        switch self {
        case .context: return "given as instruction pointer in context"
        case .callFrameInfo: return "call frame info"
        case .framePointer: return "previous frame's frame pointer"
        case .scan: return "stack scanning"
        }
    }
}

/// One frame of a native call stack.
public struct NativeFrame: Sendable {
    /// The frame's instruction pointer: the faulting or current instruction for frame 0, the return address
    /// into this function for the others.
    public let instructionPointer: UInt64
    public let stackPointer: UInt64
    /// The frame pointer register in this frame, when it is known.
    public let framePointer: UInt64?
    public let trust: FrameTrust
    /// Every register known in this frame, by name (frame 0 has them all; callers only the ones unwinding
    /// could recover).
    public let registers: [(name: String, value: UInt64)]
    /// True when this frame's function was interrupted (frame 0, or the caller of a signal trampoline): its
    /// instruction pointer is not a return address.
    public let interrupted: Bool
    let dwarfRegisters: [Int: UInt64]

    /// The address to look up in symbols and unwind tables: inside the call instruction for return addresses.
    public var lookupAddress: UInt64 { interrupted ? instructionPointer : instructionPointer &- 1 }
}
