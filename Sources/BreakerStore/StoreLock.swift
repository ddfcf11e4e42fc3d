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
        if !Self.lockExclusively(fd) {
            var buffer = [UInt8](repeating: 0, count: 64)
            let n = pread(fd, &buffer, 63, 0)
            // The file holds the owner's pid on its first line, then its log's health.
            let firstLine = n > 0 ? buffer[0..<n].prefix(while: { $0 != UInt8(ascii: "\n") }) : []
            let owner = firstLine.isEmpty ? "unknown" : String(decoding: firstLine, as: UTF8.self).trimmingSpaces
            close(fd)
            throw BreakerError(
                .storeLocked,
                "store \(storePath) is owned by another process (pid \(owner)); stop it first, or use a read-only command (report, audit, status, export) meanwhile",
                context: ["path": storePath, "pid": owner])
        }
        _ = ftruncate(fd, 0)
        self.fd = fd
        // The file's whole size is written now, so that later updates overwrite blocks already
        // allocated and still land when the disk is full (that is when they matter most).
        publish(status: "log ok")
    }

    /// Takes the owner lock of `fd`, waiting out a process that only asks whether there is an
    /// owner (``ownerStatus(of:)`` holds a shared lock for an instant): up to 250 ms. An owner
    /// holds the lock for its whole life, so a real owner still refuses a second one.
    private static func lockExclusively(_ fd: Int32) -> Bool {
        let deadline = ContinuousClock.now.advanced(by: .milliseconds(250))
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK, ContinuousClock.now < deadline else { return false }
            usleep(1_000)
        }
        return true
    }

    /// Bytes of the lock file: the pid line, then the owner's one-line status, space-padded.
    static let size = 512

    /// Publishes the owner's status line (e.g. the log's health) for other processes to read.
    func publish(status: String) {
        var text = String(getpid()) + "\n" + status.replacingNewlines + "\n"
        var bytes = Array(text.utf8.prefix(Self.size - 1))
        if bytes.count < Self.size { bytes += Array(repeating: UInt8(ascii: " "), count: Self.size - bytes.count) }
        text = ""
        _ = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
    }

    /// The pid and status line published by the process that owns `storePath` now, if any.
    static func ownerStatus(of storePath: String) -> (pid: String, status: String)? {
        let path = storePath + ".owner"
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        if flock(fd, LOCK_SH | LOCK_NB) == 0 {
            flock(fd, LOCK_UN)
            return nil
        }
        var buffer = [UInt8](repeating: 0, count: size)
        let n = pread(fd, &buffer, size, 0)
        guard n > 0 else { return ("unknown", "") }
        let lines = String(decoding: buffer[0..<n], as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        return (String(lines.first ?? "unknown").trimmingSpaces, lines.count > 1 ? String(lines[1]).trimmingSpaces : "")
    }

    /// Whether some process holds the owner lock of `storePath` now (and its pid).
    static func owner(of storePath: String) -> String? { ownerStatus(of: storePath)?.pid }

    deinit {
        flock(fd, LOCK_UN)
        close(fd)
    }
}

extension String {
    var replacingNewlines: String { String(map { $0 == "\n" || $0 == "\r" ? " " : $0 }) }

    var trimmingSpaces: String {
        String(self.drop(while: { $0.isWhitespace }).reversed().drop(while: { $0.isWhitespace }).reversed())
    }
}
