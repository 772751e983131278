/// C++ names as WinDbg shows them in stacks: demangled by the C++ runtime's own `__cxa_demangle` (libstdc++
/// or libc++abi, which every Swift program on Linux and macOS already links), without the parameter list.
public enum Demangler {
    @_silgen_name("__cxa_demangle")
    private static func cxaDemangle(_ mangled: UnsafePointer<CChar>, _ buffer: UnsafeMutablePointer<CChar>?,
                                    _ length: UnsafeMutablePointer<Int>?, _ status: UnsafeMutablePointer<Int32>?) -> UnsafeMutablePointer<CChar>?

    /// `_ZN6Thread9UserSleepEi` -> `Thread::UserSleep`; names that are not mangled C++ come back unchanged.
    public static func functionName(_ name: String) -> String {
        guard name.hasPrefix("_Z"), name.utf8.count < 4096 else { return name }
        var status: Int32 = 0
        guard let p = name.withCString({ cxaDemangle($0, nil, nil, &status) }), status == 0 else { return name }
        defer { free(p) }
        return stripParameters(String(cString: p))
    }

    /// Drops the outermost parameter list and what follows it (` const`, `&&`), keeping template arguments and
    /// `operator()` whole.
    static func stripParameters(_ full: String) -> String {
        let chars = Array(full)
        var depth = 0, i = 0
        while i < chars.count {
            let c = chars[i]
            if c == "<" { depth += 1 } else if c == ">" { depth = max(0, depth - 1) }
            if c == "(" && depth == 0 {
                // `operator()` and `(anonymous namespace)` are part of the name.
                let before = String(chars[..<i])
                if before.hasSuffix("operator") { i += 2; continue }
                if String(chars[i...]).hasPrefix("(anonymous namespace)") { i += "(anonymous namespace)".count; continue }
                return before
            }
            i += 1
        }
        return full
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
