import Foundation

/// A PostgreSQL server of a test's own (Debian's `postgresql`): `initdb` into a temporary
/// directory, started on an ephemeral loopback port as the unprivileged user `postgres` (the
/// server refuses to run as root), stopped by ``stop()``. Never a system service.
public final class PostgresCluster: @unchecked Sendable {
    // Safety: its state is set once in init; stop() and pause() are called from one test.
    public let directory: String
    public let port: Int
    /// The server's process id (for SIGSTOP / SIGCONT).
    public private(set) var pid: Int32 = 0
    /// `postgres://postgres@127.0.0.1:PORT/fleet?sslmode=disable`.
    public var url: String { "postgres://postgres@127.0.0.1:\(port)/fleet?sslmode=disable" }

    /// Where Debian installs the server's programs, the newest version first; `nil` without it.
    public static var binDirectory: String? {
        let root = "/usr/lib/postgresql"
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        return versions.compactMap(Int.init).sorted(by: >).map { "\(root)/\($0)/bin" }
            .first { FileManager.default.isExecutableFile(atPath: $0 + "/initdb") }
    }

    public static var isAvailable: Bool { binDirectory != nil }

    /// Makes and starts a cluster with a database `fleet`, trusting loopback connections.
    public init() throws {
        guard let bin = Self.binDirectory else { throw Failure("PostgreSQL is not installed (apt-get install postgresql)") }
        directory = try temporaryDirectory("pg")
        port = try Self.freePort()
        let data = directory + "/data"
        try Self.asPostgres(["chown", "postgres", directory], root: true)
        try Self.asPostgres([bin + "/initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"])
        try start()
        try Self.asPostgres([bin + "/createdb", "-h", "127.0.0.1", "-p", String(port), "-U", "postgres", "fleet"])
    }

    /// Starts the server (again), waiting until it accepts connections.
    public func start() throws {
        let bin = Self.binDirectory!
        try Self.asPostgres([
            bin + "/pg_ctl", "-D", directory + "/data", "-l", directory + "/server.log", "-w", "-t", "60", "-o",
            "-p \(port) -c listen_addresses=127.0.0.1 -k \(directory) -c fsync=off", "start",
        ])
        let pidFile = (try? String(contentsOfFile: directory + "/data/postmaster.pid", encoding: .utf8)) ?? ""
        pid = Int32(pidFile.split(separator: "\n").first ?? "") ?? 0
    }

    /// Stops the server (fast shutdown: sessions are ended).
    public func stop() {
        guard let bin = Self.binDirectory else { return }
        _ = try? Self.asPostgres([bin + "/pg_ctl", "-D", directory + "/data", "-m", "fast", "-w", "-t", "60", "stop"])
    }

    /// Sends `signal` to the server and every process it started (`SIGSTOP` pauses the whole
    /// cluster, sessions included; `SIGCONT` resumes it).
    public func signal(_ signal: Int32) {
        // Never 0 or less: kill(0, …) would signal the test's own process group.
        guard pid > 0 else { return }
        var pids = [pid]
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for entry in entries {
            guard let child = Int32(entry),
                let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { continue }
            // "pid (comm) state ppid …": the parent is the second field after the command.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 1, Int32(fields[1]) == pid { pids.append(child) }
        }
        for p in pids { kill(p, signal) }
    }

    /// Stops the server and removes its directory.
    public func destroy() {
        stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Runs `sql` with psql and returns its output (unaligned, tuples only).
    @discardableResult
    public func psql(_ sql: String) throws -> String {
        try Self.asPostgres([
            Self.binDirectory! + "/psql", "-h", "127.0.0.1", "-p", String(port), "-U", "postgres", "-d", "fleet", "-At", "-v",
            "ON_ERROR_STOP=1", "-c", sql,
        ])
    }

    /// What went wrong while setting up or driving the cluster.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    /// Runs `args` as the user `postgres` when this process is root (else as this user), at
    /// most 120 s; returns standard output, throws with standard error on failure.
    ///
    /// Spawned directly, with every descriptor above standard error closed in the child:
    /// `pg_ctl start` leaves the server running with whatever it inherited, and Foundation's
    /// `Process` waits for its own bookkeeping descriptor to close, which would then wait for the
    /// server to stop.
    @discardableResult
    static func asPostgres(_ args: [String], root: Bool = false) throws -> String {
        let argv = getuid() == 0 && !root ? ["runuser", "-u", "postgres", "--"] + args : args
        let base = NSTemporaryDirectory() + "pg-run-\(UUID().uuidString)"
        defer {
            try? FileManager.default.removeItem(atPath: base + ".out")
            try? FileManager.default.removeItem(atPath: base + ".err")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, base + ".out", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, base + ".err", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard closeFrom(&actions, 3) == 0 else { throw Failure("posix_spawn_file_actions_addclosefrom_np is missing (glibc < 2.34)") }
        // In /tmp, where the user postgres may read: initdb refuses a directory it cannot see.
        let cArgs = (["/bin/sh", "-c", "cd /tmp && exec \"$@\"", "sh"] + argv).map { strdup($0) } + [nil]
        defer { for a in cArgs { free(a) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, "/bin/sh", &actions, nil, cArgs, environ)
        guard spawned == 0 else { throw Failure("\(argv.joined(separator: " ")): posix_spawn failed, errno \(spawned)") }
        let child = pid
        let killer = DispatchWorkItem { kill(child, SIGKILL) }
        DispatchQueue.global().asyncAfter(deadline: .now() + .seconds(120), execute: killer)
        var status: Int32 = 0
        while waitpid(child, &status, 0) < 0 && errno == EINTR {}
        killer.cancel()
        let stdout = FileManager.default.contents(atPath: base + ".out") ?? Data()
        let stderr = FileManager.default.contents(atPath: base + ".err") ?? Data()
        // WIFEXITED && WEXITSTATUS == 0
        guard status & 0x7f == 0, (status >> 8) & 0xff == 0 else {
            throw Failure("\(argv.joined(separator: " ")) ended with status \(status): \(String(decoding: stderr, as: UTF8.self))")
        }
        return String(decoding: stdout, as: UTF8.self)
    }

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34), which the Glibc module does not
    /// export without `_GNU_SOURCE`; `-1` when the C library lacks it.
    private static func closeFrom(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ fd: Int32) -> Int32 {
        typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        guard let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else { return -1 }
        return unsafeBitCast(symbol, to: AddCloseFrom.self)(actions, fd)
    }

    /// A loopback port nothing listens on now.
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure("socket: errno \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw Failure("bind: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
