import BreakerCore
import BreakerReports
import BreakerRuntime
import BreakerStore
import Foundation
import PostgresNIO
import ServiceLifecycle

extension FleetNode {
    /// How far back of the last rollup a rollup starts again: a record becomes durable after its
    /// own time (the writer's queue), so the hours just before the last reading are read again.
    static let rollupOverlapMs: Int64 = 60_000

    /// Every `rollupMs`, and once more when the owner stops: upserts this node's §9 counters per
    /// tenant and hour for the hours that may have changed, then moves its `rollup_through`.
    func rollingUp() async {
        let connection = newConnection()
        defer { connection.drop() }
        var cursor = RollupCursor()
        while !Task.isCancelled {
            let stopping = Task.isShuttingDownGracefully
            do {
                try await rollUp(&cursor, on: connection)
                connected()
            } catch {
                failed(error)
            }
            if stopping { return }
            try? await cancelWhenGracefulShutdown {
                try await Task.sleep(for: .milliseconds(self.breaker.configuration.fleet.rollupMs))
            }
        }
    }

    /// What the last rollup that reached the fleet covered.
    struct RollupCursor {
        /// The store's last record then; a rollup with nothing new upserts no row.
        var seq: Int64?
        /// The node's time when it read the store.
        var through: Int64?
    }

    /// One rollup: the rows of the hours from (the last `through` − the overlap), all hours the
    /// first time, as the node's own report has them; the node's `rollup_through` moves to the
    /// time it read the store.
    func rollUp(_ cursor: inout RollupCursor, on connection: FleetConnection) async throws(BreakerError) {
        let through = SystemWallClock().now.milliseconds
        let seq = try store.lastRecordSeq()
        var rows: [SLAReport.Row] = []
        if seq != cursor.seq {
            let from = cursor.through.map { Timestamp(milliseconds: $0 - Self.rollupOverlapMs).hourStart }
            // An hour with nothing in it is not sent: the node's own report holds it only inside
            // its range, which the fleet's report fills in too, and sent from the overlap before an
            // hour began it would reach back past where the node's own report starts.
            rows = try store.slaReport(tenant: nil, from: from).rows.filter { $0.tally != HourlyTally() || $0.openMs != 0 }
        }
        let node = options.node.rawValue
        // One statement whatever the number of rows (SPEC §14: a node at rest sends a few a
        // second): the rows as arrays, unnested, and the cursor moved in the same statement.
        let tenants = rows.map(\.tenant.rawValue)
        let hours = rows.map(\.hourStart.milliseconds)
        let turns = rows.map { Int64($0.tally.turns) }
        let turnsBlocked = rows.map { Int64($0.tally.turnsBlocked) }
        let turnsDegraded = rows.map { Int64($0.tally.turnsDegraded) }
        let calls = rows.map { Int64($0.tally.calls) }
        let callsBlocked = rows.map { Int64($0.tally.callsBlocked) }
        let callsFailed = rows.map { Int64($0.tally.callsFailed) }
        let callsTimedOut = rows.map { Int64($0.tally.callsTimedOut) }
        let openSeconds = rows.map { Double($0.openMs) / 1000 }
        try await connection.perform("upsert \(rows.count) hourly rollups") { c, logger in
            try await c.query(
                """
                WITH moved AS (UPDATE fleet_nodes SET rollup_through = \(through), rollup_at = now() WHERE node = \(node))
                INSERT INTO fleet_rollups (node, tenant, hour, turns, turns_blocked, turns_degraded, calls, calls_blocked,
                    calls_failed, calls_timed_out, open_seconds)
                SELECT \(node), * FROM unnest(\(tenants)::text[], \(hours)::bigint[], \(turns)::bigint[], \(turnsBlocked)::bigint[],
                    \(turnsDegraded)::bigint[], \(calls)::bigint[], \(callsBlocked)::bigint[], \(callsFailed)::bigint[],
                    \(callsTimedOut)::bigint[], \(openSeconds)::float8[])
                ON CONFLICT (node, tenant, hour) DO UPDATE SET turns = EXCLUDED.turns, turns_blocked = EXCLUDED.turns_blocked,
                    turns_degraded = EXCLUDED.turns_degraded, calls = EXCLUDED.calls, calls_blocked = EXCLUDED.calls_blocked,
                    calls_failed = EXCLUDED.calls_failed, calls_timed_out = EXCLUDED.calls_timed_out,
                    open_seconds = EXCLUDED.open_seconds
                """, logger: logger)
        }
        cursor = RollupCursor(seq: seq, through: through)
    }
}
