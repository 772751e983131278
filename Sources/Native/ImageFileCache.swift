import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Image files parsed once per process and shared by every session: a runtime's or libc's symbol table is the
/// same for every dump that names the same file, and sorting tens of thousands of symbols dominated opening a
/// session on a CLR dump (a test suite or a fuzz run opens thousands). An entry is found again only while the
/// file on disk is the one parsed (same device, inode, size and modification time), so a replaced file is read
/// anew. Parsed files are immutable, so sessions on other threads can share them.
public final class ImageFileCache: Sendable {
    public static let shared = ImageFileCache()

    /// What identifies a file's contents without reading them.
    struct Stamp: Hashable {
        let path: String
        let device: UInt64, inode: UInt64, size: Int64, modifiedSeconds: Int64, modifiedNanoseconds: Int64
        /// The inode's change time: unlike the modification time, no tool can set it back (`touch -r`, `cp -p`,
        /// `rsync -t` and `tar` restore modification times).
        let changedSeconds: Int64, changedNanoseconds: Int64

        /// The modification time in seconds since 1970.
        var modified: Double { Double(modifiedSeconds) + Double(modifiedNanoseconds) / 1e9 }

        init?(path: String) {
            var st = stat()
            guard stat(path, &st) == 0 else { return nil }
            self.path = path
            device = UInt64(st.st_dev)
            inode = UInt64(st.st_ino)
            size = Int64(st.st_size)
            #if canImport(Darwin)
            modifiedSeconds = Int64(st.st_mtimespec.tv_sec); modifiedNanoseconds = Int64(st.st_mtimespec.tv_nsec)
            changedSeconds = Int64(st.st_ctimespec.tv_sec); changedNanoseconds = Int64(st.st_ctimespec.tv_nsec)
            #else
            modifiedSeconds = Int64(st.st_mtim.tv_sec); modifiedNanoseconds = Int64(st.st_mtim.tv_nsec)
            changedSeconds = Int64(st.st_ctim.tv_sec); changedNanoseconds = Int64(st.st_ctim.tv_nsec)
            #endif
        }
    }

    struct Key: Hashable {
        let kind: String
        let files: [Stamp]
    }

    /// Bounds the cache for a long process that meets many files (a debugger reopening dump after dump).
    static let capacity = 128

    private let entries = Mutex<[Key: any Sendable]>([:])

    /// The parse of `kind` over `paths` (a file, or an image and its debug file), made by `make` the first time
    /// and whenever one of the files changed. Nil results are cached too: a file that does not parse will not
    /// parse the next time either. Files that cannot be stat'ed are not cached.
    public func value<T: Sendable>(_ kind: String, paths: [String], make: () -> T?) -> T? {
        var stamps: [Stamp] = []
        for p in paths {
            guard let s = Stamp(path: p) else { return make() }
            stamps.append(s)
        }
        let key = Key(kind: kind, files: stamps)
        if let hit = entries.withLock({ $0[key] }) { return hit as? T }
        // Made outside the lock: making one entry may need another (an image, then its debug file).
        let made = make()
        let boxed: any Sendable = made  // an Optional, so that a file that did not parse is remembered too
        entries.withLock { table in
            if table.count >= Self.capacity { table.removeAll(keepingCapacity: true) }
            table[key] = boxed
        }
        return made
    }
}
