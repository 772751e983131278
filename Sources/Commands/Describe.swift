import DumpModel
import Foundation

/// Words WinDbg uses for targets, exceptions and times, shared by the banner, `vertarget`, `.exr` and `.lastevent`.
public enum Describe {
    /// "Windows 10 Version 22631 MP (8 procs) Free x64".
    public static func target(_ s: SystemInfo) -> String {
        let mp = s.processorCount.map { $0 > 1 ? "MP (\($0) procs)" : "UP" } ?? "(processor count not recorded)"
        let arch = s.architecture == .x86 ? "x86 compatible" : s.architecture.description
        switch s.os {
        case .windows:
            let name: String
            if let v = s.osVersion {
                switch (v.major, v.minor) {
                case (10, _): name = v.build >= 22000 ? "Windows 10" : "Windows 10"
                case (6, 3): name = "Windows 8.1"
                case (6, 2): name = "Windows 8"
                case (6, 1): name = "Windows 7"
                case (6, 0): name = "Windows Vista"
                case (5, 2): name = "Windows Server 2003"
                case (5, 1): name = "Windows XP"
                default: name = "Windows \(v.major).\(v.minor)"
                }
                let sp = s.servicePack.flatMap { $0.hasPrefix("Service Pack") ? " (\($0))" : nil } ?? ""
                return "\(name) Version \(v.build)\(sp) \(mp) Free \(arch)"
            }
            return "Windows \(mp) Free \(arch)"
        default:
            var version = ""
            if let v = s.osVersion { version = " \(v.major).\(v.minor).\(v.build)" }
            return "\(s.os.rawValue)\(version) \(mp) \(arch)"
        }
    }

    /// WinDbg's date format: "Thu Mar 28 10:12:13.000 2024 (UTC + 0:00)".
    public static func time(_ seconds: UInt32) -> String {
        // The civil date from the day count (Howard Hinnant's days-from-civil, inverted), not gmtime and
        // strftime: those load the machine's time zone file first, at every start, for a UTC answer.
        let days = Int(seconds / 86400), secondOfDay = Int(seconds % 86400)
        let z = days + 719_468
        let era = z / 146_097, dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let clock = "\(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60)).000"
        return "\(weekdays[(days + 4) % 7]) \(months[month - 1]) \(day < 10 ? " " : "")\(day) \(clock) \(year) (UTC + 0:00)"
    }

    /// "0 days 0:00:05.000".
    public static func duration(_ seconds: UInt32) -> String {
        let d = seconds / 86400, h = (seconds % 86400) / 3600, m = (seconds % 3600) / 60, s = seconds % 60
        return "\(d) days \(h):\(String(m).leftPad(2, with: "0")):\(String(s).leftPad(2, with: "0")).000"
    }

    static let ntStatus: [UInt32: String] = [
        0xC000_0005: "Access violation", 0x8000_0003: "Break instruction exception", 0x8000_0004: "Single step exception",
        0xC000_00FD: "Stack overflow", 0xC000_0094: "Integer divide-by-zero", 0xC000_0095: "Integer overflow",
        0xC000_001D: "Illegal instruction", 0xC000_0096: "Privileged instruction", 0xC000_0409: "Security check failure or stack buffer overrun",
        0xE06D_7363: "C++ EH exception", 0xE043_4352: "CLR exception", 0xE043_4F4D: "CLR exception",
        0xC000_0008: "Invalid handle", 0xC000_000D: "Invalid parameter", 0xC000_0374: "Heap corruption",
        0xC000_0006: "In-page I/O error", 0x8000_0002: "Data misaligned", 0xC000_008E: "Floating-point divide-by-zero",
        0xC000_0602: "Unknown exception", 0xC000_0420: "Assertion failure", 0x4000_0015: "Fatal application exit",
        0xFFFF_FFFF: "Dump requested",
    ]

    static let signals: [UInt32: String] = [
        1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 5: "SIGTRAP", 6: "SIGABRT", 7: "SIGBUS", 8: "SIGFPE",
        9: "SIGKILL", 10: "SIGUSR1", 11: "SIGSEGV", 12: "SIGUSR2", 13: "SIGPIPE", 14: "SIGALRM", 15: "SIGTERM",
        16: "SIGSTKFLT", 17: "SIGCHLD", 18: "SIGCONT", 19: "SIGSTOP", 20: "SIGTSTP", 31: "SIGSYS",
    ]

    static let machExceptions: [UInt32: String] = [
        1: "EXC_BAD_ACCESS", 2: "EXC_BAD_INSTRUCTION", 3: "EXC_ARITHMETIC", 4: "EXC_EMULATION", 5: "EXC_SOFTWARE",
        6: "EXC_BREAKPOINT", 7: "EXC_SYSCALL", 8: "EXC_MACH_SYSCALL", 9: "EXC_RPC_ALERT", 10: "EXC_CRASH",
        11: "EXC_RESOURCE", 12: "EXC_GUARD", 0x4350_6E78: "Crashpad simulated NSException", 0x4350_4B21: "Crashpad simulated exception",
    ]

    /// The exception's name: NTSTATUS text on Windows, signal or Mach exception name elsewhere.
    public static func exceptionName(_ e: ExceptionInfo, os: OperatingSystem) -> String {
        switch os {
        case .windows: return ntStatus[e.code] ?? "Unknown exception"
        case .macOS, .iOS: return machExceptions[e.code] ?? "Mach exception \(e.code)"
        default:
            if e.code == 0xFFFF_FFFF { return "Dump requested" }
            return signals[e.code] ?? "signal \(e.code)"
        }
    }
}
