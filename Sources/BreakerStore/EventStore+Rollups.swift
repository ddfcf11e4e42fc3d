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
