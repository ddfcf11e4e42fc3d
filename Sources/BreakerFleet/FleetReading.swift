public import BreakerCore
public import BreakerReports
public import Logging
import PostgresNIO

/// How far one node's hourly rollups reach (SPEC §14: `report --fleet` says it on standard error).
public struct FleetRollupLag: Sendable, Equatable {
    public var node: String
    /// The node's own time up to which its rollups hold what it had made durable; `nil` before its first.
    public var through: Timestamp?
    /// How long ago it last upserted them, on PostgreSQL's clock.
    public var upsertedAgoMs: Int64?
    public var live: Bool
}

/// The fleet's audit (SPEC §14): the nodes' audits merged in time order, ties by node then seq,
/// with a first column `node`.
public struct FleetAudit: Sendable {
    public static let columns = ["node"] + AuditTimeline.columns
    /// Each row's fields, in column order.
    public var rows: [[String]]

    public var csv: String { CSV.line(Self.columns) + rows.map(CSV.line).joined() }
}

extension FleetAdmin {
    /// The SLA report (SPEC §9) summed over the nodes' rollups: `availability_pct` recomputed from
    /// the sums, `open_seconds` in node-seconds; and each node's rollup lag.
    public static func report(
        _ endpoint: FleetEndpoint, tenant: TenantID?, from: Timestamp? = nil, to: Timestamp? = nil,
        logger: Logger = Logger(label: "tenant-breaker.fleet")
    ) async throws(BreakerError) -> (report: SLAReport, lags: [FleetRollupLag]) {
        let connection = FleetConnection(endpoint: endpoint, deadline: .seconds(30), logger: logger)
        defer { connection.drop() }
        let name = tenant?.rawValue
        let (fromMs, toMs) = (from?.milliseconds ?? Int64.min, to?.milliseconds ?? Int64.max)
        let (raw, lags) = try await connection.perform("read the fleet's rollups") { c, logger in
            var rows: [(String, Int64, [Int64], Double)] = []
            for try await (t, hour, turns, blocked, degraded, calls, callsBlocked, failed, timedOut, open) in try await c.query(
                """
                SELECT tenant, hour, SUM(turns)::bigint, SUM(turns_blocked)::bigint, SUM(turns_degraded)::bigint, SUM(calls)::bigint,
                    SUM(calls_blocked)::bigint, SUM(calls_failed)::bigint, SUM(calls_timed_out)::bigint, SUM(open_seconds)::float8
                FROM fleet_rollups
                WHERE (\(name)::text IS NULL OR tenant = \(name)) AND hour >= \(fromMs) AND hour < \(toMs)
                GROUP BY tenant, hour
                """, logger: logger
            ).decode((String, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Double).self) {
                rows.append((t, hour, [turns, blocked, degraded, calls, callsBlocked, failed, timedOut], open))
            }
            var lags: [FleetRollupLag] = []
            for try await (node, through, ago, live) in try await c.query(
                """
                SELECT node, rollup_through, (extract(epoch FROM now() - rollup_at) * 1000)::bigint,
                    heartbeat_at > now() - make_interval(secs => (lease_ms / 1000.0)::float8)
                FROM fleet_nodes ORDER BY node
                """, logger: logger
            ).decode((String, Int64?, Int64?, Bool).self) {
                lags.append(FleetRollupLag(node: node, through: through.map(Timestamp.init(milliseconds:)), upsertedAgoMs: ago, live: live))
            }
            return (rows, lags)
        }
        var sums: [SLAReport.Row] = []
        for (t, hour, n, open) in raw {
            var row = SLAReport.Row(tenant: try TenantID(t), hourStart: Timestamp(milliseconds: hour))
            row.tally = HourlyTally(
                turns: n[0], turnsBlocked: n[1], turnsDegraded: n[2], calls: n[3], callsBlocked: n[4], callsFailed: n[5],
                callsTimedOut: n[6])
            // Each node's seconds have three decimals: their sum, in ms, is whole.
            row.openMs = Int64((open * 1000).rounded())
            sums.append(row)
        }
        return (SLAReport(sums: sums, tenant: tenant, from: from, to: to), lags)
    }

    /// The audit timeline (SPEC §9) of `tenant` on every node, from the facts the nodes published.
    public static func audit(
        _ endpoint: FleetEndpoint, tenant: TenantID, tool: ToolID? = nil, from: Timestamp? = nil, to: Timestamp? = nil,
        logger: Logger = Logger(label: "tenant-breaker.fleet")
    ) async throws(BreakerError) -> FleetAudit {
        let connection = FleetConnection(endpoint: endpoint, deadline: .seconds(30), logger: logger)
        defer { connection.drop() }
        let name = tenant.rawValue
        let facts = try await connection.perform("read the nodes' facts") { c, logger in
            var facts: [(String, String)] = []
            for try await row in try await c.query(
                "SELECT node, body FROM fleet_node_facts WHERE tenant = \(name) OR tenant IS NULL ORDER BY node, seq", logger: logger
            ).decode((String, String).self) {
                facts.append(row)
            }
            return facts
        }
        // Each node's facts folded by the one timeline, in its log order; then merged.
        var timelines: [(node: String, timeline: AuditTimeline)] = []
        for (node, body) in facts {
            let line = try ExportLine(parsingFact: body)
            if let tool, let named = line.event.tool, named != tool { continue }
            if timelines.last?.node != node { timelines.append((node, AuditTimeline(from: from, to: to))) }
            timelines[timelines.count - 1].timeline.fold(line.event)
        }
        var merged: [(ts: String, node: String, index: Int, row: [String])] = []
        for (node, timeline) in timelines {
            for (i, row) in timeline.rows.enumerated() { merged.append((row[0], node, i, row)) }
        }
        // `ts` is ISO 8601 with milliseconds: its text sorts as its time does.
        merged.sort { a, b in
            if a.ts != b.ts { return a.ts.utf8.lexicographicallyPrecedes(b.ts.utf8) }
            if a.node != b.node { return a.node.utf8.lexicographicallyPrecedes(b.node.utf8) }
            return a.index < b.index
        }
        return FleetAudit(rows: merged.map { [$0.node] + $0.row })
    }
}

extension BreakerEvent {
    /// The tool a record names; `nil` for a configuration change or a log gap.
    var tool: ToolID? {
        switch self {
        case .call(let r): r.tool
        case .transition(let r): r.tool
        case .operatorAction(let r): r.tool
        case .globalOutage(let r): r.tool
        case .fleet(let r): r.tool
        case .configuration, .logGap: nil
        }
    }
}
