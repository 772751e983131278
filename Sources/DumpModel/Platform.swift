// The one seam between the dump model and the operating system: mapping a file read-only.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

enum Platform {
    struct Mapping {
        let base: UnsafeRawPointer?
        let size: Int
    }

    /// Maps `path` read-only and private. The kernel pages it in on demand, so opening a 4 GiB dump
    /// costs what opening a 4 KiB one does.
    struct Failure: Error { let reason: String }

    static func mapReadOnly(path: String) -> Result<Mapping, Failure> {
        let fd = open(path, O_RDONLY)
        if fd < 0 { return .failure(Failure(reason: String(cString: strerror(errno)))) }
        defer { close(fd) }
        var st = stat()
        if fstat(fd, &st) != 0 { return .failure(Failure(reason: String(cString: strerror(errno)))) }
        if (st.st_mode & S_IFMT) == S_IFDIR { return .failure(Failure(reason: "is a directory")) }
        let size = Int(st.st_size)
        if size == 0 { return .success(Mapping(base: nil, size: 0)) }
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            return .failure(Failure(reason: String(cString: strerror(errno))))
        }
        return .success(Mapping(base: UnsafeRawPointer(p), size: size))
    }

    /// Drops the whole pages inside [address, address+count) from the process's resident set. The mapping is
    /// private and never written, so the next read maps the same bytes back from the page cache.
    static func dropPages(_ address: UnsafeRawPointer, count: Int) {
        let page = Int(getpagesize())
        let start = (Int(bitPattern: address) + page - 1) / page * page
        let end = (Int(bitPattern: address) + count) / page * page
        guard end > start, let p = UnsafeMutableRawPointer(bitPattern: start) else { return }
        _ = madvise(p, end - start, MADV_DONTNEED)
    }

    static func unmap(_ mapping: Mapping) {
        if let base = mapping.base { munmap(UnsafeMutableRawPointer(mutating: base), mapping.size) }
    }
}
