/// The format-independent facts a dump holds. Minidumps and ELF cores both produce these.

public enum CPUArchitecture: Sendable, Equatable, CustomStringConvertible {
    case x86, amd64, arm, arm64, x32, ppc, ppc64, ppc64le, s390x, riscv64, mips, sparc
    case unknown(UInt32)

    public var pointerSize: Int {
        switch self {
        case .x86, .arm, .x32, .ppc, .mips: return 4
        default: return 8
        }
    }

    /// The name WinDbg prints in `vertarget` and `||` ("x86", "x64", "ARM64").
    public var description: String {
        switch self {
        case .x86: return "x86"
        case .amd64: return "x64"
        case .arm: return "ARM"
        case .arm64: return "ARM64"
        case .x32: return "x32"
        case .ppc: return "PPC"
        case .ppc64: return "PPC64"
        case .ppc64le: return "PPC64LE"
        case .s390x: return "s390x"
        case .riscv64: return "RISCV64"
        case .mips: return "MIPS"
        case .sparc: return "SPARC"
        case .unknown(let v): return "unknown (0x\(String(v, radix: 16)))"
        }
    }
}

public enum OperatingSystem: String, Sendable {
    case windows = "Windows", linux = "Linux", macOS = "macOS", iOS = "iOS", android = "Android"
    case netBSD = "NetBSD", solaris = "Solaris", unknown = "unknown OS"
}

public struct SystemInfo: Sendable {
    public var architecture: CPUArchitecture
    public var os: OperatingSystem
    public var osVersion: (major: UInt32, minor: UInt32, build: UInt32)?
    public var servicePack: String?
    public var processorCount: Int?
    public var processorLevel: UInt16?
    public var processorRevision: UInt16?
    public var cpuVendor: String?
    /// Windows PRODUCT type: 1 workstation, 2 domain controller, 3 server.
    public var productType: UInt8?
    public var platformId: UInt32?

    public init(architecture: CPUArchitecture, os: OperatingSystem) {
        self.architecture = architecture
        self.os = os
    }
}

/// A thread's registers, in the order the architecture's debuggers print them.
public struct RegisterContext: Sendable {
    public struct Register: Sendable {
        public let name: String
        public let value: UInt64
        /// Width in bits, for printing (segment registers are 16, eflags 32, GPRs pointer-sized).
        public let bits: Int

        public init(name: String, value: UInt64, bits: Int) {
            self.name = name
            self.value = value
            self.bits = bits
        }
    }

    public let architecture: CPUArchitecture
    public let registers: [Register]
    private let index: [String: Int]

    public init(architecture: CPUArchitecture, registers: [Register]) {
        self.architecture = architecture
        self.registers = registers
        var idx: [String: Int] = [:]
        for (i, r) in registers.enumerated() where idx[r.name] == nil { idx[r.name] = i }
        index = idx
    }

    public subscript(_ name: String) -> UInt64? { index[name.lowercased()].map { registers[$0].value } }

    public var instructionPointer: UInt64? {
        switch architecture {
        case .x86: return self["eip"]
        case .amd64, .x32: return self["rip"]
        case .arm64, .arm, .riscv64: return self["pc"]
        case .ppc, .ppc64, .ppc64le: return self["nip"]
        case .s390x: return self["pswa"]
        default: return self["pc"]
        }
    }

    public var stackPointer: UInt64? {
        switch architecture {
        case .x86: return self["esp"]
        case .amd64, .x32: return self["rsp"]
        case .ppc, .ppc64, .ppc64le: return self["r1"]
        case .s390x: return self["r15"]
        default: return self["sp"]
        }
    }

    public var framePointer: UInt64? {
        switch architecture {
        case .x86: return self["ebp"]
        case .amd64, .x32: return self["rbp"]
        case .arm64: return self["fp"]
        case .riscv64: return self["s0"]
        default: return nil
        }
    }
}

public struct DumpThread: Sendable {
    /// OS thread id (Windows TID, Linux LWP).
    public var id: UInt64
    public var suspendCount: UInt32 = 0
    public var priorityClass: UInt32 = 0
    public var priority: UInt32 = 0
    /// Windows TEB; 0 where the OS has none.
    public var teb: UInt64 = 0
    public var stackStart: UInt64 = 0
    public var stackSize: UInt64 = 0
    public var context: RegisterContext?
    public var name: String?
    /// Linux cores: the signal the kernel recorded for this thread (pr_cursig).
    public var signal: Int?
    public var startAddress: UInt64?
    /// FILETIME of the thread's creation (minidump ThreadInfoList).
    public var createTime: UInt64?
    /// CPU time the thread spent in user and kernel mode, in 100 ns units (minidump ThreadInfoList;
    /// ELF NT_PRSTATUS pr_utime/pr_stime).
    public var userTime: UInt64?
    public var kernelTime: UInt64?

    public init(id: UInt64) { self.id = id }
}

public struct FileVersion: Sendable, Equatable, CustomStringConvertible {
    public var major, minor, build, revision: UInt16
    public var description: String { "\(major).\(minor).\(build).\(revision)" }
}

public struct DumpModule: Sendable {
    public var base: UInt64
    public var size: UInt64
    /// The path as the dump recorded it (the machine that made the dump).
    public var path: String { didSet { (fileName, moduleName) = Self.names(of: path) } }
    /// The file name without folders, for either path style (`fileName(of:)`), and WinDbg's module name
    /// (`moduleName(ofFile:)`): derived once from the path, since stacks, `lm` and every MASM symbol lookup ask.
    public private(set) var fileName: String
    public private(set) var moduleName: String
    public var timestamp: UInt32?
    public var checksum: UInt32?
    public var fileVersion: FileVersion?
    public var productVersion: FileVersion?
    /// CodeView PDB70: the pdb name, its GUID and age (Windows).
    public var pdbName: String?
    public var pdbGuid: [UInt8]?
    public var pdbAge: UInt32?
    /// ELF/Mach-O build id or Breakpad code id bytes.
    public var buildId: [UInt8]?

    public init(base: UInt64, size: UInt64, path: String) {
        self.base = base
        self.size = size
        self.path = path
        (fileName, moduleName) = Self.names(of: path)
    }

    static func names(of path: String) -> (file: String, module: String) {
        let file = fileName(of: path)
        return (file, moduleName(ofFile: file))
    }

    public var end: UInt64 { base &+ size }
    public func contains(_ address: UInt64) -> Bool { address >= base && address < end }

    /// The file name without folders, for either path style.
    static func fileName(of path: String) -> String {
        // The text after the last separator (either kind: the path is as the dump's machine wrote it). Searched
        // as UTF-8 bytes: a damaged dump's names run to thousands of characters of any script, and a walk by
        // Character (grapheme breaking) made `lm` on such a dump the slowest part of a session.
        let isSeparator = { (byte: UInt8) in byte == UInt8(ascii: "/") || byte == UInt8(ascii: "\\") }
        guard let sep = path.utf8.lastIndex(where: isSeparator) else { return path }
        let tail = path[path.utf8.index(after: sep)...]
        if !tail.isEmpty { return String(tail) }
        return String(path.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last ?? Substring(path))
    }

    /// WinDbg's module name: the file name without its last extension, every character a MASM expression
    /// cannot hold replaced by '_' (libc.so.6 -> libc_so, System.Private.CoreLib.dll -> System_Private_CoreLib).
    /// Decided per Unicode scalar, not per Character, for the same reason.
    static func moduleName(ofFile file: String) -> String {
        var name = Substring(file)
        if let dot = name.utf8.lastIndex(of: UInt8(ascii: ".")), dot != name.startIndex { name = name[..<dot] }
        // Most names are ASCII: byte by byte, without building the string a scalar at a time.
        if name.utf8.allSatisfy({ $0 < 0x80 }) {
            return String(decoding: name.utf8.map { keepsASCII(UInt32($0)) ? $0 : UInt8(ascii: "_") }, as: UTF8.self)
        }
        // UTF-8 bytes, then one string: appending to a String a scalar at a time grows and checks it every time.
        var utf8: [UInt8] = []
        utf8.reserveCapacity(name.utf8.count)
        for scalar in name.unicodeScalars {
            let kept: Bool
            switch scalar.value {
            case 0..<0x80: kept = keepsASCII(scalar.value)
            default:
                // Letters and digits of any script, and the marks that combine with them (é as e + U+0301).
                // A switch, not `[...].contains`: an array literal here was an allocation per scalar.
                let p = scalar.properties
                switch p.generalCategory {
                case .nonspacingMark, .spacingMark, .enclosingMark: kept = true
                default: kept = p.isAlphabetic || p.numericType != nil
                }
            }
            UTF8.encode(kept ? scalar : "_") { utf8.append($0) }
        }
        return String(decoding: utf8, as: UTF8.self)
    }

    /// The ASCII characters a MASM expression can hold in a name: letters, digits and '_'.
    private static func keepsASCII(_ v: UInt32) -> Bool {
        switch v {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, 0x5F: return true
        default: return false
        }
    }
}

public struct UnloadedModule: Sendable {
    public var base: UInt64
    public var size: UInt64
    public var path: String
    public var timestamp: UInt32
}

public struct ExceptionInfo: Sendable {
    public var threadId: UInt64
    public var code: UInt32
    public var flags: UInt32 = 0
    public var record: UInt64 = 0
    public var address: UInt64
    public var parameters: [UInt64] = []
    /// The context at the exception (what `.ecxr` switches to), when the dump has one.
    public var context: RegisterContext?
    /// True for Linux cores and Linux/macOS minidumps, whose code is a signal or Mach exception.
    public var isSignal: Bool = false

    public init(threadId: UInt64, code: UInt32, address: UInt64) {
        self.threadId = threadId
        self.code = code
        self.address = address
    }
}

/// A region of the target's address space as `!address` shows it.
public struct MemoryRegion: Sendable {
    public var base: UInt64
    public var size: UInt64
    public var allocationBase: UInt64
    public var allocationProtect: UInt32
    public var state: UInt32
    public var protect: UInt32
    public var type: UInt32
    /// ELF cores: the mapped file, if any.
    public var mappedPath: String?
    /// ELF cores: r/w/x as the program header said.
    public var elfFlags: UInt32?

    public var end: UInt64 { base &+ size }
}

public struct HandleInfo: Sendable {
    public var handle: UInt64
    public var typeName: String?
    public var objectName: String?
    public var attributes: UInt32
    public var grantedAccess: UInt32
    public var handleCount: UInt32
    public var pointerCount: UInt32
}

public enum DumpFormat: String, Sendable {
    case minidump = "Windows minidump"
    case elfCore = "ELF core"
}

/// What every dump format offers to the layers above. Parsing happens once at open and costs
/// O(streams + entries); memory bytes are read through `memory` on demand.
public protocol Dump: AnyObject, Sendable {
    var path: String { get }
    var format: DumpFormat { get }
    var system: SystemInfo { get }
    var threads: [DumpThread] { get }
    var modules: [DumpModule] { get }
    var unloadedModules: [UnloadedModule] { get }
    var exception: ExceptionInfo? { get }
    var memory: AddressSpace { get }
    /// Regions for `!address`; nil when the dump records none (then only the memory ranges are known).
    var regions: [MemoryRegion]? { get }
    var processId: UInt64? { get }
    var processName: String? { get }
    var commandLine: String? { get }
    /// Seconds since 1970 when the dump was written.
    var dumpTime: UInt32? { get }
    var processCreateTime: UInt32? { get }
    var handles: [HandleInfo]? { get }
    var comment: String? { get }
    /// The producer ("Breakpad", "Crashpad", "createdump", "Linux kernel"...), as far as it can be told.
    var producer: String { get }
    /// Non-fatal problems found while opening (a truncated stream, a range past the end).
    var warnings: [String] { get }
    /// Free-form lines for `vertarget`/`||` that only one format knows.
    var details: [(String, String)] { get }
    /// Unwind tables the process registered at run time (RtlAddFunctionTable) for code outside its modules,
    /// such as a JIT's code range; only a minidump's FunctionTableStream records them.
    var functionTables: [MinidumpFunctionTable] { get }
}

extension Dump {
    public var functionTables: [MinidumpFunctionTable] { [] }
}
