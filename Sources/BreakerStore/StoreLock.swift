import BreakerCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The owner's exclusive lock on a store: `flock` on `<store>.owner`, holding the owner's pid.
///
/// The kernel releases it when the owner exits for any reason, SIGKILL included, so a crashed
/// owner never leaves a stale lock behind.
final class StoreLock: Sendable {
    let path: String
    let fd: Int32

    init(storePath: String) throws(BreakerError) {
        path = storePath + ".owner"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            let e = errno
            throw BreakerError(
                .storeUnavailable,
                "cannot create the owner lock \(path): \(String(cString: strerror(e))); the store's directory must be writable by the owner",
                context: ["path": path])
        }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            var buffer = [UInt8](repeating: 0, count: 64)
            let n = pread(fd, &buffer, 63, 0)
            let owner = n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self).trimmingSpaces : "unknown"
            close(fd)
            throw BreakerError(
                .storeLocked,
                "store \(storePath) is owned by another process (pid \(owner)); stop it first, or use a read-only command (report, audit, status, export) meanwhile",
                context: ["path": storePath, "pid": owner])
        }
        let pid = String(getpid()) + "\n"
        _ = ftruncate(fd, 0)
        _ = pid.withCString { pwrite(fd, $0, strlen($0), 0) }
        self.fd = fd
    }

    /// Whether some process holds the owner lock of `storePath` now (and its pid).
    static func owner(of storePath: String) -> String? {
        let path = storePath + ".owner"
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        if flock(fd, LOCK_SH | LOCK_NB) == 0 {
            flock(fd, LOCK_UN)
            return nil
        }
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = pread(fd, &buffer, 63, 0)
        return n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self).trimmingSpaces : "unknown"
    }

    deinit {
        flock(fd, LOCK_UN)
        close(fd)
    }
}

extension String {
    var trimmingSpaces: String {
        String(self.drop(while: { $0.isWhitespace }).reversed().drop(while: { $0.isWhitespace }).reversed())
    }
}
