/// Constants of the minidump format (minidumpapiset.h, Breakpad's and Crashpad's extensions).
public enum MinidumpStreamType: UInt32, Sendable {
    case unused = 0, threadList = 3, moduleList = 4, memoryList = 5, exception = 6, systemInfo = 7
    case threadExList = 8, memory64List = 9, commentA = 10, commentW = 11, handleData = 12
    case functionTable = 13, unloadedModuleList = 14, miscInfo = 15, memoryInfoList = 16
    case threadInfoList = 17, handleOperationList = 18, token = 19, javaScriptData = 20
    case systemMemoryInfo = 21, processVmCounters = 22, iptTrace = 23, threadNames = 24
    // Breakpad ("Gg")
    case breakpadInfo = 0x4767_0001, assertionInfo = 0x4767_0002, linuxCpuInfo = 0x4767_0003
    case linuxProcStatus = 0x4767_0004, linuxLsbRelease = 0x4767_0005, linuxCmdLine = 0x4767_0006
    case linuxEnviron = 0x4767_0007, linuxAuxv = 0x4767_0008, linuxMaps = 0x4767_0009, linuxDsoDebug = 0x4767_000A
    // Crashpad
    case crashpadInfo = 0x4350_0001

    public var name: String {
        switch self {
        case .unused: return "Unused"
        case .threadList: return "ThreadListStream"
        case .moduleList: return "ModuleListStream"
        case .memoryList: return "MemoryListStream"
        case .exception: return "ExceptionStream"
        case .systemInfo: return "SystemInfoStream"
        case .threadExList: return "ThreadExListStream"
        case .memory64List: return "Memory64ListStream"
        case .commentA: return "CommentStreamA"
        case .commentW: return "CommentStreamW"
        case .handleData: return "HandleDataStream"
        case .functionTable: return "FunctionTableStream"
        case .unloadedModuleList: return "UnloadedModuleListStream"
        case .miscInfo: return "MiscInfoStream"
        case .memoryInfoList: return "MemoryInfoListStream"
        case .threadInfoList: return "ThreadInfoListStream"
        case .handleOperationList: return "HandleOperationListStream"
        case .token: return "TokenStream"
        case .javaScriptData: return "JavaScriptDataStream"
        case .systemMemoryInfo: return "SystemMemoryInfoStream"
        case .processVmCounters: return "ProcessVmCountersStream"
        case .iptTrace: return "IptTraceStream"
        case .threadNames: return "ThreadNamesStream"
        case .breakpadInfo: return "BreakpadInfoStream"
        case .assertionInfo: return "BreakpadAssertionInfoStream"
        case .linuxCpuInfo: return "BreakpadLinuxCpuInfo"
        case .linuxProcStatus: return "BreakpadLinuxProcStatus"
        case .linuxLsbRelease: return "BreakpadLinuxLsbRelease"
        case .linuxCmdLine: return "BreakpadLinuxCmdLine"
        case .linuxEnviron: return "BreakpadLinuxEnviron"
        case .linuxAuxv: return "BreakpadLinuxAuxv"
        case .linuxMaps: return "BreakpadLinuxMaps"
        case .linuxDsoDebug: return "BreakpadLinuxDsoDebug"
        case .crashpadInfo: return "CrashpadInfoStream"
        }
    }
}

enum MinidumpProcessorArchitecture: UInt16 {
    case x86 = 0, mips = 1, alpha = 2, ppc = 3, shx = 4, arm = 5, ia64 = 6, alpha64 = 7, msil = 8
    case amd64 = 9, x86OnWin64 = 10, arm64 = 12
    // Breakpad's own values
    case sparc = 0x8001, ppc64 = 0x8002, arm64Old = 0x8003, mips64 = 0x8004, riscv = 0x8005, riscv64 = 0x8006

    var cpu: CPUArchitecture {
        switch self {
        case .x86, .x86OnWin64: return .x86
        case .amd64: return .amd64
        case .arm: return .arm
        case .arm64, .arm64Old: return .arm64
        case .ppc: return .ppc
        case .ppc64: return .ppc64
        case .mips, .mips64: return .mips
        case .sparc: return .sparc
        case .riscv64: return .riscv64
        default: return .unknown(UInt32(rawValue))
        }
    }
}

enum MinidumpPlatform: UInt32 {
    case win32s = 0, win32Windows = 1, win32NT = 2, win32CE = 3
    case unix = 0x8000, macOS = 0x8101, iOS = 0x8102, linux = 0x8201, solaris = 0x8202
    case android = 0x8203, ps3 = 0x8204, nacl = 0x8205, fuchsia = 0x8206

    var os: OperatingSystem {
        switch self {
        case .win32s, .win32Windows, .win32NT, .win32CE: return .windows
        case .macOS: return .macOS
        case .iOS: return .iOS
        case .linux: return .linux
        case .solaris: return .solaris
        case .android: return .android
        default: return .unknown
        }
    }
}
