import BreakerCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Checks on a store's file made before SQLite touches it, so that bad input is refused
/// with a clear message and the file is left exactly as it was.
package enum StoreFile {
    /// Whether a store file exists, and its size.
    package enum Presence: Sendable {
        case missing
        case present(size: Int64)
    }

    static func presence(_ path: String) throws(BreakerError) -> Presence {
        var st = stat()
        if stat(path, &st) != 0 {
            let e = errno
            if e == ENOENT {
                let dir = directory(of: path)
                var ds = stat()
                if stat(dir, &ds) != 0 || (ds.st_mode & S_IFMT) != S_IFDIR {
                    throw BreakerError(
                        .storeUnavailable, "directory \(dir) does not exist; create it or choose another --db path",
                        context: ["path": path])
                }
                return .missing
            }
            throw BreakerError(.storeUnavailable, "cannot read \(path): \(String(cString: strerror(e)))", context: ["path": path])
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw BreakerError(.storeUnavailable, "\(path) is not a regular file", context: ["path": path])
        }
        return .present(size: Int64(st.st_size))
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// Validates the SQLite header: the magic string, and a file at least as long as the page
    /// count the header claims (a truncated store fails here).
    static func checkHeader(_ path: String, size: Int64) throws(BreakerError) {
        guard size >= 100 else {
            throw BreakerError(
                .storeCorrupt,
                "\(path) is not a TenantBreaker store: it is \(size) bytes long, too short for a SQLite database",
                context: ["path": path])
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let e = errno
            throw BreakerError(.storeUnavailable, "cannot read \(path): \(String(cString: strerror(e)))", context: ["path": path])
        }
        defer { close(fd) }
        var h = [UInt8](repeating: 0, count: 100)
        guard pread(fd, &h, 100, 0) == 100 else {
            throw BreakerError(.storeCorrupt, "cannot read the header of \(path)", context: ["path": path])
        }
        let magic = Array("SQLite format 3".utf8) + [0]
        guard Array(h[0..<16]) == magic else {
            throw BreakerError(
                .storeCorrupt, "\(path) is not a TenantBreaker store: it is not a SQLite database (bad header)",
                context: ["path": path])
        }
        let rawPageSize = Int64(h[16]) << 8 | Int64(h[17])
        let pageSize = rawPageSize == 1 ? 65536 : rawPageSize
        func be32(_ o: Int) -> Int64 { Int64(h[o]) << 24 | Int64(h[o + 1]) << 16 | Int64(h[o + 2]) << 8 | Int64(h[o + 3]) }
        let pageCount = be32(28)
        let headerCountValid = pageCount > 0 && be32(24) == be32(92)
        guard pageSize >= 512, pageSize <= 65536, pageSize & (pageSize - 1) == 0 else {
            throw BreakerError(.storeCorrupt, "\(path) is corrupt: bad page size in its header", context: ["path": path])
        }
        // With a write-ahead log beside it, the file may lag the header until the next checkpoint.
        var walInfo = stat()
        let hasWAL = stat(path + "-wal", &walInfo) == 0 && walInfo.st_size > 0
        if headerCountValid && !hasWAL && size < pageCount * pageSize {
            throw BreakerError(
                .storeCorrupt,
                "\(path) is truncated: its header says \(pageCount * pageSize) bytes but the file has \(size); restore it from a backup",
                context: ["path": path])
        }
    }

    static func isWritable(_ path: String) -> Bool { access(path, W_OK) == 0 }
}
