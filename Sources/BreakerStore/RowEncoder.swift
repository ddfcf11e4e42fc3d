import BreakerCore
import Foundation
import GRDB
import GRDBSQLite

/// The writer's side of the log: turns facts into rows, keeps the name dictionaries, the
/// hourly rollups and a shadow machine folded from exactly what was written (for snapshots).
///
/// Used only inside the writer's serialized database access.
struct RowEncoder {
    /// A turn by tenant id and the bytes of its name (SPEC §1).
    struct TurnKey: Hashable {
        let tenant: Int64
        let name: ByteString
    }
    struct TurnInfo {
        let id: Int64
        let hour: Int64
        var flags: Int64
    }
    struct RollupKey: Hashable {
        let tenant: Int64
        let hour: Int64
    }
    struct Rollup {
        var turns: Int64 = 0
        var turnsBlocked: Int64 = 0
        var turnsDegraded: Int64 = 0
        var calls: Int64 = 0
        var callsBlocked: Int64 = 0
        var callsFailed: Int64 = 0
        var callsTimedOut: Int64 = 0
    }

    /// Name → id, by the names' bytes (SPEC §1).
    var names: [ByteString: Int64] = [:]
    var keys: [BreakerKey: Int64] = [:]
    var turns: [TurnKey: TurnInfo] = [:]
    var nextTurnID: Int64 = 1
    var nextNameID: Int64 = 1
    var nextKeyID: Int64 = 1
    var tsBase: Int64?
    var lastSeq: Int64 = 0
    var rollups: [RollupKey: Rollup] = [:]
    var shadow: BreakerMachine
    var eventsSinceSnapshot = 0
    let snapshotEvery: Int
    /// Records between snapshots: `snapshotEvery`, or more when the state is large (many
    /// window entries), so that writing snapshots never costs more than logging the records.
    var snapshotInterval: Int
    static let turnCacheLimit = 250_000

    init(shadow: BreakerMachine, lastSeq: Int64, snapshotEvery: Int) {
        self.shadow = shadow
        self.lastSeq = lastSeq
        self.snapshotEvery = snapshotEvery
        self.snapshotInterval = snapshotEvery
    }

    /// Loads the dictionaries and counters from the store.
    mutating func load(_ db: Database) throws {
        for row in try Row.fetchAll(db, sql: "SELECT id, name FROM names") {
            names[ByteString(row[1])] = row[0]
        }
        nextNameID = (try Int64.fetchOne(db, sql: "SELECT max(id) FROM names") ?? 0) + 1
        let nameByID = Dictionary(uniqueKeysWithValues: names.map { ($1, $0.string) })
        for row in try Row.fetchAll(db, sql: "SELECT id, tenant_id, tool_id FROM keys") {
            let id: Int64 = row[0]
            if let t = nameByID[row[1]], let o = nameByID[row[2]] {
                keys[BreakerKey(tenant: try TenantID(t), tool: try ToolID(o))] = id
            }
        }
        nextKeyID = (try Int64.fetchOne(db, sql: "SELECT max(id) FROM keys") ?? 0) + 1
        nextTurnID = (try Int64.fetchOne(db, sql: "SELECT max(id) FROM turns") ?? 0) + 1
        tsBase = try EventStore.tsBase(db)
    }

    mutating func nameID(_ text: String, _ db: Database) throws -> Int64 {
        let name = ByteString(text)
        if let id = names[name] { return id }
        let id = nextNameID
        nextNameID += 1
        try db.execute(sql: "INSERT INTO names(id, name) VALUES (?, ?)", arguments: [id, text])
        names[name] = id
        return id
    }

    mutating func keyID(_ key: BreakerKey, _ db: Database) throws -> Int64 {
        if let id = keys[key] { return id }
        let tenant = try nameID(key.tenant.rawValue, db)
        let tool = try nameID(key.tool.rawValue, db)
        let id = nextKeyID
        nextKeyID += 1
        try db.execute(sql: "INSERT INTO keys(id, tenant_id, tool_id) VALUES (?, ?, ?)", arguments: [id, tenant, tool])
        keys[key] = id
        return id
    }

    static func hour(_ ms: Int64) -> Int64 { Timestamp(milliseconds: ms).hourStart.milliseconds }

    /// Writes `events` (in order) inside the caller's transaction.
    mutating func write(_ events: [BreakerEvent], _ db: Database) throws {
        let connection = db.sqliteConnection
        let insertCall = try db.cachedStatement(
            sql: "INSERT INTO calls(seq, ts, packed, turn, latency_us, generation) VALUES (?, ?, ?, ?, ?, ?)")
        let insertTurn = try db.cachedStatement(
            sql: "INSERT INTO turns(tenant_id, name, id, first_hour, flags) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING")
        let call = insertCall.sqliteStatement
        for event in events {
            lastSeq += 1
            let seq = lastSeq
            switch event {
            case .call(let r):
                let ts = r.time.milliseconds
                if tsBase == nil {
                    let base = Self.hour(ts)
                    tsBase = base
                    try db.execute(sql: "INSERT INTO meta(key, value) VALUES ('ts_base', ?)", arguments: [String(base)])
                }
                let key = try keyID(BreakerKey(tenant: r.tenant, tool: r.tool), db)
                let tenantID = try nameID(r.tenant.rawValue, db)
                var turnID: Int64? = nil
                if let turn = r.turn {
                    turnID = try self.turn(
                        TurnKey(tenant: tenantID, name: turn.bytes), ts: ts, flags: RowCodes.turnFlags(r.outcome),
                        insert: insertTurn, db)
                }
                var errorID: Int64? = nil
                if r.outcome == .failure, let reason = r.reason {
                    errorID = try nameID(String(reason.dropFirst("tool_call_exception:".count)), db)
                }
                sqlite3_reset(call)
                sqlite3_bind_int64(call, 1, seq)
                sqlite3_bind_int64(call, 2, ts - tsBase!)
                sqlite3_bind_int64(call, 3, RowCodes.packed(keyID: key, r))
                if let turnID { sqlite3_bind_int64(call, 4, turnID) } else { sqlite3_bind_null(call, 4) }
                if let l = r.latencyUs { sqlite3_bind_int64(call, 5, l) } else { sqlite3_bind_null(call, 5) }
                sqlite3_bind_int64(call, 6, Int64(bitPattern: r.generation))
                let rc = sqlite3_step(call)
                guard rc == SQLITE_DONE else {
                    throw DatabaseError(
                        resultCode: ResultCode(rawValue: rc), message: String(cString: sqlite3_errmsg(connection)))
                }
                if let errorID {
                    try db.execute(sql: "INSERT INTO call_errors(seq, error) VALUES (?, ?)", arguments: [seq, errorID])
                }
                var rollup = rollups[RollupKey(tenant: tenantID, hour: Self.hour(ts)), default: Rollup()]
                rollup.calls += 1
                switch r.outcome {
                case .rejected: rollup.callsBlocked += 1
                case .failure: rollup.callsFailed += 1
                case .timeout: rollup.callsTimedOut += 1
                case .success, .cancelled: break
                }
                rollups[RollupKey(tenant: tenantID, hour: Self.hour(ts))] = rollup
            case .transition(let r):
                let key = try keyID(BreakerKey(tenant: r.tenant, tool: r.tool), db)
                try db.execute(
                    sql: """
                        INSERT INTO transitions(seq, ts, key_id, from_state, to_state, cause, generation, failures, calls, p95_us, actor, reason, opened_at)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        seq, r.time.milliseconds, key, RowCodes.stateCode(r.from), RowCodes.stateCode(r.to),
                        RowCodes.causeCode(r.cause), Int64(bitPattern: r.generation), r.failures, r.calls, r.p95Us, r.actor,
                        r.reason, r.openedAt?.milliseconds,
                    ])
            case .operatorAction(let r):
                try db.execute(
                    sql: "INSERT INTO operator_actions(seq, ts, tenant, tool, op, actor, reason) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    arguments: [seq, r.time.milliseconds, r.tenant?.rawValue, r.tool.rawValue, r.op.rawValue, r.actor, r.reason])
                // The queued request it answers goes in the same transaction: once the row is gone,
                // the record is durable (the CLI reports the action applied on exactly that).
                if let request = r.requestID {
                    try db.execute(sql: "DELETE FROM inbox WHERE id = ?", arguments: [request])
                }
            case .globalOutage(let r):
                try db.execute(
                    sql: "INSERT INTO global_outages(seq, ts, tool, tenants) VALUES (?, ?, ?, ?)",
                    arguments: [seq, r.time.milliseconds, r.tool.rawValue, r.tenants])
            case .logGap(let r):
                try db.execute(
                    sql: "INSERT INTO log_gaps(seq, ts, from_ts, to_ts, dropped) VALUES (?, ?, ?, ?, ?)",
                    arguments: [seq, r.from.milliseconds, r.from.milliseconds, r.to.milliseconds, r.dropped])
            }
            shadow.apply(event)
        }
        try flushRollups(db)
        eventsSinceSnapshot += events.count
        if eventsSinceSnapshot >= snapshotInterval {
            try writeSnapshot(db)
        }
    }

    /// The turn's id; creates the turn at its first record, and keeps its flags and the
    /// hourly turn counts up to date.
    private mutating func turn(_ key: TurnKey, ts: Int64, flags: Int64, insert: Statement, _ db: Database) throws -> Int64 {
        if var info = turns[key] {
            let grown = info.flags | flags
            if grown != info.flags {
                try db.execute(
                    sql: "UPDATE turns SET flags = ? WHERE tenant_id = ? AND name = ?", arguments: [grown, key.tenant, key.name.string])
                countFlags(old: info.flags, new: grown, tenant: key.tenant, hour: info.hour)
                info.flags = grown
                turns[key] = info
            }
            return info.id
        }
        if turns.count >= Self.turnCacheLimit { turns.removeAll(keepingCapacity: true) }
        let id = nextTurnID
        let s = insert.sqliteStatement
        sqlite3_reset(s)
        sqlite3_bind_int64(s, 1, key.tenant)
        _ = key.name.string.withCString { sqlite3_bind_text(s, 2, $0, -1, SQLITE_TRANSIENT) }
        sqlite3_bind_int64(s, 3, id)
        sqlite3_bind_int64(s, 4, (Self.hour(ts) - tsBase!) / 3_600_000)
        sqlite3_bind_int64(s, 5, flags)
        let rc = sqlite3_step(s)
        guard rc == SQLITE_DONE else {
            throw DatabaseError(resultCode: ResultCode(rawValue: rc), message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
        }
        if sqlite3_changes(db.sqliteConnection) == 1 {
            nextTurnID += 1
            turns[key] = TurnInfo(id: id, hour: Self.hour(ts), flags: flags)
            var r = rollups[RollupKey(tenant: key.tenant, hour: Self.hour(ts)), default: Rollup()]
            r.turns += 1
            if flags & RowCodes.turnBlocked != 0 { r.turnsBlocked += 1 }
            if flags & RowCodes.turnDegraded != 0 { r.turnsDegraded += 1 }
            rollups[RollupKey(tenant: key.tenant, hour: Self.hour(ts))] = r
            return id
        }
        // The turn was written before this cache knew it (an earlier process, or evicted).
        guard
            let row = try Row.fetchOne(
                db, sql: "SELECT id, first_hour, flags FROM turns WHERE tenant_id = ? AND name = ?",
                arguments: [key.tenant, key.name.string])
        else { throw DatabaseError(resultCode: .SQLITE_CORRUPT, message: "turn row vanished") }
        let firstHour: Int64 = row[1]
        turns[key] = TurnInfo(id: row[0], hour: tsBase! + firstHour * 3_600_000, flags: row[2])
        return try turn(key, ts: ts, flags: flags, insert: insert, db)
    }

    private mutating func countFlags(old: Int64, new: Int64, tenant: Int64, hour: Int64) {
        var r = rollups[RollupKey(tenant: tenant, hour: hour), default: Rollup()]
        if old & RowCodes.turnBlocked == 0 && new & RowCodes.turnBlocked != 0 { r.turnsBlocked += 1 }
        if old & RowCodes.turnDegraded == 0 && new & RowCodes.turnDegraded != 0 { r.turnsDegraded += 1 }
        rollups[RollupKey(tenant: tenant, hour: hour)] = r
    }

    private mutating func flushRollups(_ db: Database) throws {
        guard !rollups.isEmpty else { return }
        let s = try db.cachedStatement(
            sql: """
                INSERT INTO hourly_rollups(tenant_id, hour, turns, turns_blocked, turns_degraded, calls, calls_blocked, calls_failed, calls_timed_out)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (tenant_id, hour) DO UPDATE SET
                    turns = turns + excluded.turns, turns_blocked = turns_blocked + excluded.turns_blocked,
                    turns_degraded = turns_degraded + excluded.turns_degraded, calls = calls + excluded.calls,
                    calls_blocked = calls_blocked + excluded.calls_blocked, calls_failed = calls_failed + excluded.calls_failed,
                    calls_timed_out = calls_timed_out + excluded.calls_timed_out
                """)
        for (k, r) in rollups {
            try s.execute(arguments: [
                k.tenant, k.hour, r.turns, r.turnsBlocked, r.turnsDegraded, r.calls, r.callsBlocked, r.callsFailed,
                r.callsTimedOut,
            ])
        }
        rollups.removeAll(keepingCapacity: true)
    }

    /// Writes the shadow machine's state as the snapshot after `lastSeq`; keeps the last two.
    mutating func writeSnapshot(_ db: Database) throws {
        let snapshot = shadow.snapshot
        let data = snapshot.encoded()
        try db.execute(
            sql: "INSERT OR REPLACE INTO snapshots(seq, created_at, data) VALUES (?, strftime('%s','now') * 1000, ?)",
            arguments: [lastSeq, Data(data)])
        // Window entries grow with the call rate; keys do not. Pace by the entries only.
        let entries = snapshot.keys.reduce(0) { $0 + $1.state.window.count }
        snapshotInterval = max(snapshotEvery, entries * 2)
        try db.execute(
            sql: """
                DELETE FROM snapshots WHERE seq < (SELECT min(seq) FROM (SELECT seq FROM snapshots ORDER BY seq DESC LIMIT 2))
                AND seq IS NOT (SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'compaction_base_seq')
                """)
        eventsSinceSnapshot = 0
    }
}

/// SQLite's SQLITE_TRANSIENT destructor (the C macro is not imported): SQLite copies the text.
let SQLITE_TRANSIENT = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)
