public import BreakerCore
import GRDB

extension EventStore {
    /// Hourly counts for `tenant` (or every tenant), sorted by tenant id then hour.
    public func hourlyCounts(tenant: TenantID?) throws(BreakerError) -> [HourlyCounts] {
        try read { db in
            let sql = """
                SELECT n.name, r.hour, r.turns, r.turns_blocked, r.turns_degraded, r.calls, r.calls_blocked, r.calls_failed, r.calls_timed_out,
                    r.turns_would_block, r.calls_would_block
                FROM hourly_rollups r JOIN names n ON n.id = r.tenant_id
                """
            let rows =
                tenant == nil
                ? try Row.fetchAll(db, sql: sql)
                : try Row.fetchAll(
                    db, sql: sql + " WHERE r.tenant_id = (SELECT id FROM names WHERE name = ?)", arguments: [tenant?.rawValue])
            return rows.map { r in
                HourlyCounts(
                    tenant: TenantID(unchecked: r[0]), hour: Timestamp(milliseconds: r[1]),
                    tally: HourlyTally(
                        turns: r[2], turnsBlocked: r[3], turnsDegraded: r[4], calls: r[5], callsBlocked: r[6], callsFailed: r[7],
                        callsTimedOut: r[8], turnsWouldBlock: r[9], callsWouldBlock: r[10]))
            }
        }
    }

    /// Every tenant that has a key (a call or transition record names it), by name.
    public func tenantNames() throws(BreakerError) -> [TenantID] {
        try read { db in
            try String.fetchAll(db, sql: "SELECT DISTINCT n.name FROM keys k JOIN names n ON n.id = k.tenant_id").map {
                TenantID(unchecked: $0)
            }
        }
    }

    /// Every tenant the log names: with a key, in an operator action or in a fleet record.
    public func tenantNamesInLog() throws(BreakerError) -> [String] {
        try read { db in
            try String.fetchAll(
                db,
                sql: """
                    SELECT n.name FROM keys k JOIN names n ON n.id = k.tenant_id
                    UNION SELECT tenant FROM operator_actions WHERE tenant IS NOT NULL
                    UNION SELECT tenant FROM fleet_records
                    """)
        }
    }

    /// The transitions of `tenant` (or all), in log order.
    public func transitions(tenant: TenantID?) throws(BreakerError) -> [TransitionRecord] {
        var out: [TransitionRecord] = []
        try forEachEvent(EventFilter(tenant: tenant, kinds: .transitions, turnNames: false)) { e in
            if case .transition(let r) = e.event { out.append(r) }
        }
        return out
    }

    /// The call records of one turn of `tenant` (or of every tenant with a turn so named), in log order.
    public func turnCalls(turn: String, tenant: TenantID?) throws(BreakerError) -> [CallRecord] {
        let targets: [(tenant: Int64, id: Int64, firstTs: Int64)] = try read { db in
            let base = try EventStore.tsBase(db) ?? 0
            let sql = "SELECT tenant_id, id, \(base) + first_hour * 3600000 FROM turns WHERE name = ?"
            let rows =
                tenant == nil
                ? try Row.fetchAll(db, sql: sql, arguments: [turn])
                : try Row.fetchAll(
                    db, sql: sql + " AND tenant_id = (SELECT id FROM names WHERE name = ?)", arguments: [turn, tenant?.rawValue])
            return rows.map { ($0[0], $0[1], $0[2]) }
        }
        guard let earliest = targets.map(\.firstTs).min() else { return [] }
        let wanted = Set(targets.map(\.id))
        var out: [CallRecord] = []
        try read { db in
            let d = try dictionaries(db, turnsOfTenant: nil, allTurns: false)
            let start = try firstCallSeq(db, atOrAfter: earliest - d.tsBase)
            let cursor = try Row.fetchCursor(
                db,
                sql:
                    "SELECT ts, packed, turn, latency_us, generation, \(RowCodes.errorColumnSQL), \(RowCodes.shadowColumnSQL) FROM calls WHERE seq >= ? AND turn IN (\(wanted.map(String.init).joined(separator: ",")))",
                arguments: [start])
            while let row = try cursor.next() {
                let u = RowCodes.unpack(row[1])
                let key = try d.key(u.keyID)
                let errorID: Int64? = row[5]
                let ts: Int64 = row[0]
                let gen: Int64 = row[4]
                let shadow = RowCodes.shadow(stale: u.stale, column: row[6])
                out.append(
                    CallRecord(
                        time: Timestamp(milliseconds: ts + d.tsBase), tenant: key.tenant, tool: key.tool, turn: try TurnID(turn),
                        result: RowCodes.result(code: u.code, errorType: d.errorType(errorID)), latencyUs: row[3],
                        generation: UInt64(bitPattern: gen), probe: u.probe, stale: shadow.stale, shadow: shadow.shadow))
            }
        }
        return out
    }
}

/// A tenant's turns in a window and how many of them went bad (SPEC §16).
public struct TurnCounts: Sendable, Hashable {
    public var turns: Int64 = 0
    public var blocked: Int64 = 0
    public var degraded: Int64 = 0

    public init(turns: Int64 = 0, blocked: Int64 = 0, degraded: Int64 = 0) {
        self.turns = turns
        self.blocked = blocked
        self.degraded = degraded
    }
}

extension EventStore {
    /// The turns of `tenant` whose first call record is in (`after`, `through`] (ms), and how many
    /// of them are blocked and degraded (SPEC §9's flags): the whole hours inside from the hourly
    /// rollups, the parts of hours at the edges from the turns' times, through their index. No
    /// call record is read.
    public func turnCounts(tenant: TenantID, after: Int64, through: Int64) throws(BreakerError) -> TurnCounts {
        try read { db in
            guard let tenantID = try Int64.fetchOne(db, sql: "SELECT id FROM names WHERE name = ?", arguments: [tenant.rawValue]),
                after < through
            else { return TurnCounts() }
            // Whole hours [first, end) inside (after, through].
            let first = Self.ceilingHour(after + 1)
            let end = Self.floorHour(through + 1)
            var counts = TurnCounts()
            func edge(_ from: Int64, _ to: Int64) throws {
                // first_ts in [from, to)
                guard from < to else { return }
                let row = try Row.fetchOne(
                    db,
                    sql: """
                        SELECT count(*), coalesce(sum(flags & 1), 0), coalesce(sum((flags >> 1) & 1), 0) FROM turns
                        WHERE tenant_id = ? AND first_ts >= ? AND first_ts < ?
                        """, arguments: [tenantID, from, to])!
                counts.turns += row[0]
                counts.blocked += row[1]
                counts.degraded += row[2]
            }
            guard first < end else {
                try edge(after + 1, through + 1)
                return counts
            }
            let row = try Row.fetchOne(
                db,
                sql: """
                    SELECT coalesce(sum(turns), 0), coalesce(sum(turns_blocked), 0), coalesce(sum(turns_degraded), 0) FROM hourly_rollups
                    WHERE tenant_id = ? AND hour >= ? AND hour < ?
                    """, arguments: [tenantID, first, end])!
            counts.turns += row[0]
            counts.blocked += row[1]
            counts.degraded += row[2]
            try edge(after + 1, first)
            try edge(end, through + 1)
            return counts
        }
    }

    static func floorHour(_ ms: Int64) -> Int64 {
        let h: Int64 = 3_600_000
        return ms >= 0 ? ms / h * h : -((-ms + h - 1) / h) * h
    }

    static func ceilingHour(_ ms: Int64) -> Int64 {
        let f = floorHour(ms)
        return f == ms ? f : f + 3_600_000
    }
}
