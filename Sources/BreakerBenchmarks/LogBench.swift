import ArgumentParser
import BreakerCLI
import BreakerCore
import BreakerOwner
import BreakerRuntime
import BreakerStore
import Foundation
import GRDBSQLite
import Logging

struct LogBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log",
        abstract: "Durable logging throughput, latency cost and size, against raw SQLite in the same run.",
        discussion: """
            calls_per_s: N successful calls through the runtime (admit + complete on the system clock) \
            with every call record durably written by the group-committing writer, until the last \
            record is durable. raw_sqlite_rows_per_s: the same call and turn rows inserted with a \
            prepared statement through SQLite's C API (same schema, WAL, synchronous=FULL, 4096 rows \
            per transaction). ratio_to_raw: calls_per_s / raw_sqlite_rows_per_s, the same run's \
            two rates (the goal is at least 0.9). p99_us_log_on / p99_us_log_off: p99 latency of the async call API \
            (16 callers paced to 20 000 calls/s in all, trivial tool) with the durable writer vs a \
            discarding sink.
            bytes_per_record: the file size of a store of the same N records written at 100 calls/s \
            of virtual time, divided by N (dictionary, turns, rollups and snapshots included).
            bytes_per_record_at_full_rate: the same for the throughput run's store, whose records all \
            fall inside one 60 s window, so its snapshots hold every record's window entry.
            """)

    @Option(help: "Call records.") var calls = 1_000_000

    func run() async throws {
        try await reportingErrors {
            let dir = try BenchStore.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let raw = try rawInsert(path: dir + "/raw.sqlite", rows: calls)
            let (throughput, fullRateBytes) = try await logged(path: dir + "/log.sqlite")
            let sizePath = dir + "/size.sqlite"
            _ = try await BenchStore.build(
                path: sizePath,
                shape: .init(
                    records: calls, tenants: Self.tenants, toolsPerTenant: Self.tools, spanMs: Int64(calls) * 10, failureShare: 0),
                crashLike: false, progress: false)
            let bytes = Double(try EventStore.openReader(path: sizePath).fileSize) / Double(calls)
            let latencyCalls = min(calls, 100_000)
            let off = try await p99(calls: latencyCalls, path: nil)
            let on = try await p99(calls: latencyCalls, path: dir + "/latency.sqlite")
            writeOut(
                "{\"scenario\":\"log\",\"calls\":\(calls),\"calls_per_s\":\(Int(throughput)),\"raw_sqlite_rows_per_s\":\(Int(raw)),\"ratio_to_raw\":\(String(format: "%.2f", throughput / raw)),\"p99_us_log_on\":\(String(format: "%.1f", on)),\"p99_us_log_off\":\(String(format: "%.1f", off)),\"bytes_per_record\":\(String(format: "%.1f", bytes)),\"bytes_per_record_at_full_rate\":\(String(format: "%.1f", fullRateBytes))}\n"
            )
        }
    }

    static let tenants = 100
    /// Calls per second, in all, of the latency measurement.
    static let pacedRate = 20_000
    static let tools = 10

    /// The calls of the benchmark: key i % 1000, turn of 5 calls each.
    func logged(path: String) async throws -> (Double, Double) {
        var options = StoreOwner.Options()
        options.mustCreate = true
        options.dropsCallRecordsWhenFull = false
        options.logger = quietLogger
        let owner = try StoreOwner(path: path, options: options)
        let names = try Self.names()
        let calls = self.calls
        let elapsed = try await owner.withWriter { breaker in try await Self.timeCalls(calls, names, breaker, owner.writer) }
        return (Double(calls) / Self.seconds(elapsed), Double(owner.store.fileSize) / Double(calls))
    }

    private static func timeCalls(
        _ calls: Int, _ names: (keys: [(TenantID, ToolID)], turns: [TurnID]), _ breaker: CircuitBreaker, _ writer: EventLogWriter
    ) async throws -> Duration {
        let clock = ContinuousClock()
        return try await clock.measure {
            for i in 0..<calls {
                let (t, o) = names.keys[i % names.keys.count]
                if case .admitted(let p) = breaker.admit(tenant: t, tool: o, turn: names.turns[(i / Self.tenants / 5) % names.turns.count])
                {
                    _ = breaker.complete(p, .success(latencyUs: 1000 + Int64(i % 500)))
                }
                if i & 1023 == 1023 { await writer.waitForCapacity(timeout: nil) }
            }
            try await breaker.flush()
        }
    }

    static func names() throws -> (keys: [(TenantID, ToolID)], turns: [TurnID]) {
        var keys: [(TenantID, ToolID)] = []
        for k in 0..<(tenants * tools) { keys.append((try TenantID("tenant-\(k % tenants)"), try ToolID("tool-\(k / tenants)"))) }
        let turns = try (0..<200_000).map { try TurnID("turn-\($0)") }
        return (keys, turns)
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    /// p99 of the async call API's latency, µs; `path` nil = discarding sink.
    func p99(calls: Int, path: String?) async throws -> Double {
        guard let path else {
            return try await Self.pacedP99(calls: calls, breaker: CircuitBreaker(machine: BreakerMachine(), logger: quietLogger))
        }
        var options = StoreOwner.Options()
        options.mustCreate = true
        options.dropsCallRecordsWhenFull = false
        options.logger = quietLogger
        let owner = try StoreOwner(path: path, options: options)
        return try await owner.withWriter { breaker in try await Self.pacedP99(calls: calls, breaker: breaker) }
    }

    /// Calls at a paced rate from 16 tasks; returns the p99 of the async call API's latency, µs.
    private static func pacedP99(calls: Int, breaker: CircuitBreaker) async throws -> Double {
        let names = try Self.names()
        let perTask = calls / 16
        let samples = await withTaskGroup(of: [Double].self) { group in
            for w in 0..<16 {
                group.addTask {
                    let clock = ContinuousClock()
                    var out: [Double] = []
                    out.reserveCapacity(perTask)
                    let interval = Duration.microseconds(16 * 1_000_000 / Self.pacedRate)
                    var next = clock.now
                    for i in 0..<perTask {
                        next = next.advanced(by: interval)
                        try? await clock.sleep(until: next)
                        let n = w * perTask + i
                        let (t, o) = names.keys[n % names.keys.count]
                        let start = clock.now
                        _ = await breaker.call(tenant: t, tool: o, turn: names.turns[(n / Self.tenants / 5) % names.turns.count]) { 1 }
                        out.append(Self.seconds(start.duration(to: clock.now)) * 1e6)
                    }
                    return out
                }
            }
            var all: [Double] = []
            for await part in group { all.append(contentsOf: part) }
            return all
        }
        let sorted = samples.sorted()
        return sorted[min(sorted.count - 1, sorted.count * 99 / 100)]
    }

    /// Inserts the same call and turn rows with SQLite's C API; rows per second.
    func rawInsert(path: String, rows: Int) throws -> Double {
        var db: OpaquePointer?
        guard sqlite3_open(path, &db) == SQLITE_OK, let db else { throw BreakerError(.storeUnavailable, "cannot open \(path)") }
        defer { sqlite3_close(db) }
        func exec(_ sql: String) throws {
            guard sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK else {
                throw BreakerError(.storeUnavailable, "raw SQLite: \(String(cString: sqlite3_errmsg(db)))")
            }
        }
        try exec("PRAGMA journal_mode = WAL")
        try exec("PRAGMA synchronous = FULL")
        try exec(EventStore.migrationSQL)
        var call: OpaquePointer?
        var turn: OpaquePointer?
        sqlite3_prepare_v2(
            db, "INSERT INTO calls(seq, ts, packed, turn, latency_us, generation) VALUES (?, ?, ?, ?, ?, ?)", -1, &call, nil)
        sqlite3_prepare_v2(db, "INSERT INTO turns(tenant_id, name, id, first_hour, flags) VALUES (?, ?, ?, ?, ?)", -1, &turn, nil)
        defer {
            sqlite3_finalize(call)
            sqlite3_finalize(turn)
        }
        let transient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)
        let keys = Self.tenants * Self.tools
        let clock = ContinuousClock()
        let elapsed = try clock.measure {
            try exec("BEGIN")
            for i in 0..<rows {
                let key = Int64(i % keys + 1)
                let turnID = Int64(i / 5 + 1)
                if (i / Self.tenants) % 5 == 0 {
                    sqlite3_reset(turn)
                    sqlite3_bind_int64(turn, 1, key % Int64(Self.tenants) + 1)
                    _ = "turn-\(i / Self.tenants / 5)".withCString { sqlite3_bind_text(turn, 2, $0, -1, transient) }
                    sqlite3_bind_int64(turn, 3, turnID)
                    sqlite3_bind_int64(turn, 4, Int64(i / 360_000))
                    sqlite3_bind_int64(turn, 5, 0)
                    guard sqlite3_step(turn) == SQLITE_DONE else { throw BreakerError(.storeUnavailable, "raw insert failed") }
                }
                sqlite3_reset(call)
                sqlite3_bind_int64(call, 1, Int64(i + 1))
                sqlite3_bind_int64(call, 2, Int64(i / 10))
                sqlite3_bind_int64(call, 3, key << 6)
                sqlite3_bind_int64(call, 4, turnID)
                sqlite3_bind_int64(call, 5, 1000 + Int64(i % 500))
                sqlite3_bind_int64(call, 6, 0)
                guard sqlite3_step(call) == SQLITE_DONE else { throw BreakerError(.storeUnavailable, "raw insert failed") }
                if i % 4096 == 4095 {
                    try exec("COMMIT")
                    try exec("BEGIN")
                }
            }
            try exec("COMMIT")
        }
        return Double(rows) / Self.seconds(elapsed)
    }
}
