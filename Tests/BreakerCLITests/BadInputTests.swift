import BreakerTestSupport
import Foundation
import Testing

@Suite(.temporaryDirectory) struct BadInputTests {
    static let good = callLine("2026-11-28T10:00:00Z", "acme", "web_search", "t1")

    @Test(
        arguments: [
            ("{not json", "line 2"),
            (#"{"at": 1795860000000, "tool": "x", "turn": "t", "latency_ms": 1, "result": "ok"}"#, "missing field \"tenant\""),
            (#"{"at": "noon", "tenant": "a", "tool": "x", "turn": "t", "latency_ms": 1, "result": "ok"}"#, "\"at\""),
            (#"{"at": 1795860000000, "tenant": "a", "tool": "x", "turn": "t", "latency_ms": "1", "result": "ok"}"#, "latency_ms"),
            (#"{"at": 1795860000000, "tenant": "a", "tool": "x", "turn": "t", "latency_ms": -1, "result": "ok"}"#, "latency_ms"),
            (#"{"at": 1795860000000, "tenant": "a", "tool": "x", "turn": "t", "latency_ms": 1, "result": "maybe"}"#, "unknown result"),
            (#"{"at": 1795860000000, "op": "explode", "tool": "x"}"#, "unknown op"),
            (#"{"at": 1795860000000, "op": "reset", "tool": "x"}"#, "needs a \"tenant\""),
            (#"{"at": 1795859000000, "tenant": "a", "tool": "x", "turn": "t", "latency_ms": 1, "result": "ok"}"#, "earlier"),
            (
                #"{"at": 1795860000000, "tenant": "a\u0001", "tool": "x", "turn": "t", "latency_ms": 1, "result": "ok"}"#,
                "control character"
            ),
            (#"[1, 2]"#, "JSON object"),
        ] as [(String, String)])
    func aMalformedTraceNamesTheLineAndWritesNothing(line: String, message: String) async throws {
        let dir = scratchDirectory
        let trace = try writeTrace(dir, [Self.good, line])
        let r = try await CLI.run(["simulate", trace, "--db", dir + "/s.sqlite"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("line 2") && r.stderr.contains(message), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/s.sqlite"), "nothing is written")
    }

    @Test(
        arguments: [
            (#"{"defaults": {"failureThreshold": -1}}"#, "defaults.failureThreshold"),
            (#"{"tools": {"x": {"latencyThresholdMS": 5}}}"#, "tools.x.latencyThresholdMS"),
            (#"{"defaults": {"failureRateThreshold": "high"}}"#, "defaults.failureRateThreshold"),
            ("not json", "not valid JSON"),
        ] as [(String, String)])
    func aMalformedConfigurationNamesTheKeyAndWritesNothing(config: String, message: String) async throws {
        let dir = scratchDirectory
        let trace = try writeTrace(dir, [Self.good])
        try config.write(toFile: dir + "/c.json", atomically: true, encoding: .utf8)
        let r = try await CLI.run(["simulate", trace, "--config", dir + "/c.json", "--db", dir + "/s.sqlite"])
        #expect(r.status == 1)
        #expect(r.stderr.contains(message), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/s.sqlite"))
    }

    /// A good store to damage.
    func goodStore(_ dir: String) async throws -> String {
        let trace = try writeTrace(
            dir, (0..<400).map { callLine("2026-11-28T10:\(String(format: "%02d", $0 / 10)):00Z", "acme", "web_search", "t\($0)") })
        let db = dir + "/s.sqlite"
        #expect(try await CLI.run(["simulate", trace, "--db", db]).status == 0)
        return db
    }

    /// Every command that opens `db` fails with `message`, and the file is unchanged.
    func expectRefused(_ db: String, _ message: String, commands: [[String]]? = nil) async throws {
        let before = try Data(contentsOf: URL(fileURLWithPath: db))
        let all =
            commands ?? [
                ["status"], ["report", "--all"], ["audit", "--tenant", "acme"], ["export"], ["verify"],
                ["load", "--duration", "0.2", "--rate", "10"], ["force-open", "--tool", "x", "--reason", "r"],
            ]
        for args in all {
            let r = try await CLI.run(args + ["--db", db])
            #expect(r.status == 1, "\(args): \(r.stderr)")
            #expect(r.stderr.contains(message), "\(args): \(r.stderr)")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: db)) == before, "the store is left byte-for-byte unchanged")
    }

    @Test func aStoreOfRandomBytesIsRefused() async throws {
        let dir = scratchDirectory
        let db = dir + "/s.sqlite"
        var rng = SystemRandomNumberGenerator()
        try Data((0..<65536).map { _ in UInt8.random(in: 0...255, using: &rng) }).write(to: URL(fileURLWithPath: db))
        try await expectRefused(db, "not a TenantBreaker store")
    }

    @Test func aTruncatedStoreIsRefused() async throws {
        let dir = scratchDirectory
        let db = try await goodStore(dir)
        let data = try Data(contentsOf: URL(fileURLWithPath: db))
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: db))
        try await expectRefused(db, "truncated")
    }

    @Test func aFileThatIsNotSQLiteIsRefused() async throws {
        let dir = scratchDirectory
        let db = dir + "/notes.txt"
        try String(repeating: "meeting notes\n", count: 50).write(toFile: db, atomically: true, encoding: .utf8)
        try await expectRefused(db, "not a TenantBreaker store")
    }

    @Test func aStoreFromANewerSchemaIsRefused() async throws {
        let dir = scratchDirectory
        let db = try await goodStore(dir)
        // user_version lives at byte 60 of the SQLite header (big-endian).
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: db))
        try handle.seek(toOffset: 60)
        try handle.write(contentsOf: Data([0, 0, 0, 99]))
        try handle.close()
        try await expectRefused(db, "newer")
    }

    @Test func aMissingDirectoryIsNamed() async throws {
        let r = try await CLI.run(["load", "--duration", "0.1", "--db", "/nonexistent-dir/s.sqlite"])
        #expect(r.status == 1 && r.stderr.contains("directory /nonexistent-dir does not exist"), "\(r.stderr)")
        let s = try await CLI.run(["status", "--db", "/nonexistent-dir/s.sqlite"])
        #expect(s.status == 1 && s.stderr.contains("does not exist"), "\(s.stderr)")
    }

    @Test func simulateRefusesAStoreThatExists() async throws {
        let dir = scratchDirectory
        let db = try await goodStore(dir)
        let trace = try writeTrace(dir, [Self.good], name: "again.jsonl")
        try await expectRefused(db, "already exists", commands: [["simulate", trace]])
    }

    /// Runs `body` with a small tmpfs mounted at a new directory (root only); `nil` when
    /// mounting is not possible here.
    @Test(.enabled(if: Tmpfs.available, "needs root to mount a read-only tmpfs"))
    func aStoreOnARemountedReadOnlyFileSystemIsRefusedForWriting() async throws {
        let fs = try Tmpfs(size: "8m")
        defer { fs.unmount() }
        let db = try await goodStore(fs.dir)
        #expect(shell("mount", "-o", "remount,ro", fs.dir) == 0)
        try await expectRefused(
            db, "not writable", commands: [["load", "--duration", "0.1"], ["force-open", "--tool", "x", "--reason", "r"]])
        // Reading still works.
        #expect(try await CLI.run(["report", "--all", "--db", db]).status == 0)
    }

    @Test(.enabled(if: getuid() != 0, "root may write a read-only file"))
    func aReadOnlyStoreFileIsRefusedForWriting() async throws {
        let dir = scratchDirectory
        let db = try await goodStore(dir)
        try FileManager.default.setAttributes([.posixPermissions: 0o444], ofItemAtPath: db)
        try await expectRefused(
            db, "read-only", commands: [["load", "--duration", "0.1"], ["force-open", "--tool", "x", "--reason", "r"]])
    }

    @Test func aFullDiskFailsCleanlyAndTheStoreStillOpens() async throws {
        var lines: [String] = []
        for i in 0..<40_000 {
            lines.append(
                callLine("2026-11-28T10:\(String(format: "%02d", i / 1000)):00Z", "tenant-\(i % 50)", "tool-\(i % 7)", "turn-\(i)"))
        }
        let body: (String, [String: String]) async throws -> Void = { dir, env in
            let trace = try writeTrace(scratchDirectory, lines, name: "full.jsonl")
            let r = try await CLI.run(["simulate", trace, "--db", dir + "/s.sqlite"], environment: env)
            #expect(r.status == 1)
            #expect(r.stderr.contains("disk full"), "\(r.stderr)")
            // What was committed before the disk filled is a consistent prefix.
            let v = try await CLI.run(["verify", "--db", dir + "/s.sqlite"])
            #expect(v.status == 0, "\(v.stderr)")
        }
        if Tmpfs.available {
            let fs = try Tmpfs(size: "600k")
            defer { fs.unmount() }
            try await body(fs.dir, [:])
        } else {
            // Without mount privileges, a size cap on the store fails the same way.
            let dir = scratchDirectory
            try await body(dir, ["BREAKER_MAX_PAGE_COUNT": "120"])
        }
    }
}

@discardableResult
func shell(_ args: String...) -> Int32 {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = args
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    do { try p.run() } catch { return -1 }
    p.waitUntilExit()
    return p.terminationStatus
}
