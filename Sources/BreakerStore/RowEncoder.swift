import BreakerCore
import Foundation
import GRDB
import GRDBSQLite

/// What the writer's queue holds: facts, and snapshots of the machine taken between two of them.
enum QueueItem {
    case fact(Fact)
    /// The machine exactly after every fact before this item.
    case snapshot(BreakerMachine)
}

/// The writer's side of the log: turns facts into rows, keeps the name dictionaries, and keeps
/// the hourly rollups and turn flags that the SLA report reads (counted by `BreakerCore`'s
/// `HourlyTally` and `TurnFlags`, defined once for the writer and the reports).
///
/// Used only inside the writer's serialized database access. A call fact names its key by
/// number: the key's row id is that number + 1, so no name is looked up per record.
struct RowEncoder {
    /// A turn by tenant id and the bytes of its name (SPEC §1).
    struct TurnKey: Hashable {
        let tenant: Int64
        let name: ByteString
    }
    struct TurnInfo {
        let id: Int64
        /// The hour the turn belongs to, ms.
        let hour: Int64
        var flags: TurnFlags
        /// Its latest call record, ms.
        var lastSeen: Int64 = .min
    }
    struct RollupKey: Hashable {
        let tenant: Int64
        let hour: Int64
    }

    /// Name → id, by the names' bytes (SPEC §1).
    var names: [ByteString: Int64] = [:]
    /// The tenant name id of each key, by key number (row id − 1). 32 bits: 4 bytes per key.
    var keyTenant: [UInt32] = []
    /// Turns with a call in the last ``turnCacheMs``; older turns are looked up in the store.
    /// Bounded by the recent turn rate, not by the turns of the hour or ever made.
    var turns: [TurnKey: TurnInfo] = [:]
    /// When the turn cache was last pruned, ms.
    var turnsPrunedAt: Int64 = 0
    static let turnCacheMs: Int64 = 300_000
    var nextTurnID: Int64 = 1
    var nextNameID: Int64 = 1
    var tsBase: Int64?
    var lastSeq: Int64 = 0
    var rollups: [RollupKey: HourlyTally] = [:]
    var sinceSnapshot = 0
    let snapshotEvery: Int
    /// Records between snapshots: `snapshotEvery`, or more when the state is large, so that
    /// writing snapshots never costs more than logging the records.
    var snapshotInterval: Int

    init(lastSeq: Int64, snapshotEvery: Int) {
        self.lastSeq = lastSeq
        self.snapshotEvery = snapshotEvery
        self.snapshotInterval = snapshotEvery
    }

    /// Whether enough records were written since the last snapshot to take another.
    var snapshotDue: Bool { sinceSnapshot >= snapshotInterval }

    /// Loads the dictionaries and counters from the store.
    mutating func load(_ db: Database) throws {
        for row in try Row.fetchAll(db, sql: "SELECT id, name FROM names") {
            names[ByteString(row[1])] = row[0]
        }
        nextNameID = (try Int64.fetchOne(db, sql: "SELECT max(id) FROM names") ?? 0) + 1
        keyTenant = []
        for row in try Row.fetchAll(db, sql: "SELECT id, tenant_id FROM keys ORDER BY id") {
            let id: Int64 = row[0]
            guard id == Int64(keyTenant.count) + 1 else {
                throw BreakerError(.storeCorrupt, "the keys table is not numbered 1, 2, 3…: key \(id) follows \(keyTenant.count)")
            }
            keyTenant.append(try Self.narrow(row[1]))
        }
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

    /// Writes the rows of keys interned after the ones already written, numbered on from them.
    mutating func write(keys: some Collection<BreakerKey>, _ db: Database) throws {
        for key in keys {
            let tenant = try nameID(key.tenant.rawValue, db)
            let tool = try nameID(key.tool.rawValue, db)
            try db.execute(
                sql: "INSERT INTO keys(id, tenant_id, tool_id) VALUES (?, ?, ?)", arguments: [Int64(keyTenant.count) + 1, tenant, tool])
            keyTenant.append(try Self.narrow(tenant))
        }
    }

    /// A name id as the key table keeps it.
    static func narrow(_ nameID: Int64) throws -> UInt32 {
        guard let id = UInt32(exactly: nameID) else {
            throw BreakerError(.storeCorrupt, "name id \(nameID) is beyond the 4 294 967 295 names a store can hold")
        }
        return id
    }

    static func hour(_ ms: Int64) -> Int64 { Timestamp(milliseconds: ms).hourMilliseconds }

    /// Writes `items` (in order) inside the caller's transaction.
    mutating func write(_ items: some Collection<QueueItem>, _ db: Database) throws {
        let connection = db.sqliteConnection
        let insertCall = try db.cachedStatement(
            sql: "INSERT INTO calls(seq, ts, packed, turn, latency_us, generation) VALUES (?, ?, ?, ?, ?, ?)")
        let insertTurn = try db.cachedStatement(
            sql: "INSERT INTO turns(tenant_id, name, id, first_hour, flags, first_ts) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING")
        let call = insertCall.sqliteStatement
        for item in items {
            guard case .fact(let fact) = item else {
                if case .snapshot(let machine) = item { try writeSnapshot(machine, db) }
                continue
            }
            lastSeq += 1
            sinceSnapshot += 1
            let seq = lastSeq
            switch fact {
            case .call(let f):
                let ts = f.time.milliseconds
                if tsBase == nil {
                    let base = Self.hour(ts)
                    tsBase = base
                    try db.execute(sql: "INSERT INTO meta(key, value) VALUES ('ts_base', ?)", arguments: [String(base)])
                }
                let keyID = try self.keyID(f.key)
                let tenantID = Int64(keyTenant[Int(f.key.index)])
                let hour = Self.hour(ts)
                var turnID: Int64? = nil
                if let turn = f.turn {
                    turnID = try self.turn(
                        TurnKey(tenant: tenantID, name: turn.bytes), hour: hour, at: ts,
                        flags: TurnFlags(f.result, shadow: f.shadow != nil), insert: insertTurn, db)
                }
                sqlite3_reset(call)
                sqlite3_bind_int64(call, 1, seq)
                sqlite3_bind_int64(call, 2, ts - tsBase!)
                sqlite3_bind_int64(call, 3, RowCodes.packed(keyID: keyID, f))
                if let turnID { sqlite3_bind_int64(call, 4, turnID) } else { sqlite3_bind_null(call, 4) }
                if let l = f.latencyUs { sqlite3_bind_int64(call, 5, l) } else { sqlite3_bind_null(call, 5) }
                sqlite3_bind_int64(call, 6, Int64(bitPattern: f.generation))
                let rc = sqlite3_step(call)
                guard rc == SQLITE_DONE else {
                    throw DatabaseError(resultCode: ResultCode(rawValue: rc), message: String(cString: sqlite3_errmsg(connection)))
                }
                if case .failure(let type) = f.result {
                    try db.execute(
                        sql: "INSERT INTO call_errors(seq, error) VALUES (?, ?)", arguments: [seq, try nameID(type.rawValue, db)])
                }
                if let reason = f.shadow {
                    try db.execute(
                        sql: "INSERT INTO shadow_calls(seq, reason, stale) VALUES (?, ?, ?)",
                        arguments: [seq, Int64(reason.rawValue), f.stale ? 1 : 0])
                }
                rollups[RollupKey(tenant: tenantID, hour: hour), default: HourlyTally()].count(call: f.result, shadow: f.shadow != nil)
            case .transition(let f):
                try db.execute(
                    sql: """
                        INSERT INTO transitions(seq, ts, key_id, from_state, to_state, cause, generation, failures, calls, p95_us, actor, reason, opened_at)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        seq, f.time.milliseconds, try keyID(f.key), RowCodes.stateCode(f.from), RowCodes.stateCode(f.to),
                        RowCodes.causeCode(f.cause), Int64(bitPattern: f.generation), f.failures, f.calls, f.p95Us, f.actor, f.reason,
                        f.openedAt?.milliseconds,
                    ])
            case .operatorAction(let r):
                try db.execute(
                    sql:
                        "INSERT INTO operator_actions(seq, ts, tenant, tool, op, actor, reason, fleet_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    arguments: [seq, r.time.milliseconds, r.tenant?.rawValue, r.tool.rawValue, r.op.name, r.actor, r.reason, r.fleetSeq])
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
                    sql: "INSERT INTO log_gaps(seq, ts, from_ts, to_ts, dropped, keys) VALUES (?, ?, ?, ?, ?, ?)",
                    arguments: [
                        seq, r.time.milliseconds, r.from.milliseconds, r.to.milliseconds, r.dropped,
                        r.keys.map { Data(BreakerMachine.Snapshot(configuration: nil, keys: $0, tools: []).encoded()) },
                    ])
            case .fleet(let r):
                try db.execute(
                    sql: "INSERT INTO fleet_records(seq, ts, tenant, tool, votes, nodes, fleet_seq) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    arguments: [seq, r.time.milliseconds, r.tenant.rawValue, r.tool.rawValue, r.votes, Self.nodeList(r.nodes), r.fleetSeq])
            case .configuration(let r):
                try db.execute(
                    sql: "INSERT INTO config_changes(seq, ts, actor, reason, config, fleet_seq) VALUES (?, ?, ?, ?, ?, ?)",
                    arguments: [seq, r.time.milliseconds, r.actor, r.reason, r.configuration.jsonText, r.fleetSeq])
                if let request = r.requestID {
                    try db.execute(sql: "DELETE FROM inbox WHERE id = ?", arguments: [request])
                }
            }
        }
        try flushRollups(db)
    }

    /// The row id of key `ref` (written before any fact that names it).
    @inline(__always)
    private func keyID(_ ref: KeyRef) throws -> Int64 {
        guard Int(ref.index) < keyTenant.count else {
            throw BreakerError(.storeCorrupt, "a record names key \(ref) before the key was written")
        }
        return Int64(ref.index) + 1
    }

    /// The turn's id; creates the turn at its first record, and keeps its flags and the hourly
    /// turn counts up to date. Turns called in the last five minutes are cached; the cache is
    /// pruned once a minute of log time.
    private mutating func turn(
        _ key: TurnKey, hour: Int64, at ts: Int64, flags: TurnFlags, insert: Statement, _ db: Database
    ) throws -> Int64 {
        if ts >= turnsPrunedAt &+ 60_000 {
            // Removed in place: the table keeps its capacity instead of a new one being built
            // every minute (large transient allocations fragment the heap of a long-running owner).
            let cutoff = ts - Self.turnCacheMs
            for key in turns.compactMap({ $0.value.lastSeen < cutoff ? $0.key : nil }) { turns.removeValue(forKey: key) }
            turnsPrunedAt = ts
        }
        if var info = turns[key] {
            info.lastSeen = max(info.lastSeen, ts)
            turns[key] = info
            let grown = info.flags.union(flags)
            if grown != info.flags {
                try db.execute(
                    sql: "UPDATE turns SET flags = ? WHERE tenant_id = ? AND name = ?",
                    arguments: [grown.rawValue, key.tenant, key.name.string])
                rollups[RollupKey(tenant: key.tenant, hour: info.hour), default: HourlyTally()].count(turnGrewFrom: info.flags, to: grown)
                info.flags = grown
                turns[key] = info
            }
            return info.id
        }
        let id = nextTurnID
        let s = insert.sqliteStatement
        sqlite3_reset(s)
        sqlite3_bind_int64(s, 1, key.tenant)
        _ = key.name.string.withCString { sqlite3_bind_text(s, 2, $0, -1, SQLITE_TRANSIENT) }
        sqlite3_bind_int64(s, 3, id)
        sqlite3_bind_int64(s, 4, (hour - tsBase!) / 3_600_000)
        sqlite3_bind_int64(s, 5, flags.rawValue)
        sqlite3_bind_int64(s, 6, ts)
        let rc = sqlite3_step(s)
        guard rc == SQLITE_DONE else {
            throw DatabaseError(resultCode: ResultCode(rawValue: rc), message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
        }
        if sqlite3_changes(db.sqliteConnection) == 1 {
            nextTurnID += 1
            turns[key] = TurnInfo(id: id, hour: hour, flags: flags, lastSeen: ts)
            rollups[RollupKey(tenant: key.tenant, hour: hour), default: HourlyTally()].count(newTurn: flags)
            return id
        }
        // The turn was written before this cache knew it (an earlier process, or an earlier hour).
        guard
            let row = try Row.fetchOne(
                db, sql: "SELECT id, first_hour, flags FROM turns WHERE tenant_id = ? AND name = ?",
                arguments: [key.tenant, key.name.string])
        else { throw DatabaseError(resultCode: .SQLITE_CORRUPT, message: "turn row vanished") }
        let firstHour: Int64 = row[1]
        turns[key] = TurnInfo(id: row[0], hour: tsBase! + firstHour * 3_600_000, flags: TurnFlags(rawValue: row[2]), lastSeen: ts)
        return try turn(key, hour: hour, at: ts, flags: flags, insert: insert, db)
    }

    private mutating func flushRollups(_ db: Database) throws {
        guard !rollups.isEmpty else { return }
        let s = try db.cachedStatement(
            sql: """
                INSERT INTO hourly_rollups(tenant_id, hour, turns, turns_blocked, turns_degraded, calls, calls_blocked, calls_failed, calls_timed_out,
                    turns_would_block, calls_would_block)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (tenant_id, hour) DO UPDATE SET
                    turns = turns + excluded.turns, turns_blocked = turns_blocked + excluded.turns_blocked,
                    turns_degraded = turns_degraded + excluded.turns_degraded, calls = calls + excluded.calls,
                    calls_blocked = calls_blocked + excluded.calls_blocked, calls_failed = calls_failed + excluded.calls_failed,
                    calls_timed_out = calls_timed_out + excluded.calls_timed_out,
                    turns_would_block = turns_would_block + excluded.turns_would_block,
                    calls_would_block = calls_would_block + excluded.calls_would_block
                """)
        for (k, r) in rollups {
            try s.execute(arguments: [
                k.tenant, k.hour, r.turns, r.turnsBlocked, r.turnsDegraded, r.calls, r.callsBlocked, r.callsFailed, r.callsTimedOut,
                r.turnsWouldBlock, r.callsWouldBlock,
            ])
        }
        rollups.removeAll(keepingCapacity: true)
    }

    /// Writes `machine`'s state as the snapshot after `lastSeq`; keeps the last two.
    mutating func writeSnapshot(_ machine: BreakerMachine, _ db: Database) throws {
        let snapshot = machine.snapshot
        try db.execute(
            sql: "INSERT OR REPLACE INTO snapshots(seq, created_at, data) VALUES (?, strftime('%s','now') * 1000, ?)",
            arguments: [lastSeq, Data(snapshot.encoded())])
        // Window entries grow with the call rate; pace by the state's size.
        let entries = snapshot.keys.reduce(0) { $0 + $1.state.window.count }
        snapshotInterval = max(snapshotEvery, (entries + snapshot.keys.count) * 2)
        try db.execute(
            sql: """
                DELETE FROM snapshots WHERE seq < (SELECT min(seq) FROM (SELECT seq FROM snapshots ORDER BY seq DESC LIMIT 2))
                AND seq IS NOT (SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'compaction_base_seq')
                """)
        sinceSnapshot = 0
    }

    /// A fleet record's voting nodes as stored: one name a line.
    static func nodeList(_ nodes: [NodeID]) -> String { nodes.map(\.rawValue).joined(separator: "\n") }
}

/// SQLite's SQLITE_TRANSIENT destructor (the C macro is not imported): SQLite copies the text.
let SQLITE_TRANSIENT = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)
