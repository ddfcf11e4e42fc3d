import BreakerCore
import BreakerRuntime
import Foundation
import PostgresNIO

extension FleetNode {
    /// Auto-propagation across the fleet (SPEC §14, §7): counts the tenants whose key for a tool is
    /// OPEN or FORCED_OPEN on a live node; when they reach the tool's `globalOutageTenants` and the
    /// tool has `autoPropagateGlobalOutage`, an outage begins — once per tool while it lasts, and the
    /// fleet force-opens the tool for all tenants as one fleet action (actor `auto`, reason `N tenants
    /// open on M nodes`) unless a tool-wide hold is in force. It ends when the count falls below.
    func evaluateOutages(_ view: FleetView, on connection: FleetConnection) async throws(BreakerError) {
        let (open, ongoing) = (view.openTools, view.outages)
        let configuration = breaker.configuration
        for (name, count) in open where !ongoing.contains(name) {
            guard let tool = try? ToolID(name) else { continue }
            let wide = configuration.toolWideSettings(tool: tool)
            guard wide.autoPropagate, count.tenants >= wide.globalOutageTenants else { continue }
            try await beginOutage(tool, tenants: count.tenants, nodes: count.nodes, on: connection)
        }
        for name in ongoing {
            let tenants = open[name]?.tenants ?? 0
            let threshold = (try? ToolID(name)).map { configuration.toolWideSettings(tool: $0).globalOutageTenants } ?? 1
            guard tenants < threshold else { continue }
            try await connection.perform("end a fleet outage") { c, logger in
                try await c.query("DELETE FROM fleet_outages WHERE tool = \(name)", logger: logger)
            }
        }
    }

    /// Begins the outage of `tool` once in the fleet: under the lock that orders the fleet's log,
    /// so two nodes counting at once record it once.
    func beginOutage(_ tool: ToolID, tenants: Int, nodes: Int, on connection: FleetConnection) async throws(BreakerError) {
        let action = FleetAction.operatorAction(
            OperatorAction(.forceOpen(.allTenants), tool: tool, actor: "auto", reason: "\(tenants) tenants open on \(nodes) nodes"))
        let (kind, body, name) = (action.kind, action.body, tool.rawValue)
        // A hold given on this node alone is this node's to keep, too.
        let heldHere = breaker.signal(for: tool)?.hold == true
        let outcome = try await connection.perform("begin a fleet outage") { c, logger in
            try await c.withTransaction(logger: logger) { c -> Int64?? in
                try await c.query("SELECT pg_advisory_xact_lock(7340001)", logger: logger)
                for try await _ in try await c.query("SELECT 1 FROM fleet_outages WHERE tool = \(name)", logger: logger) {
                    return nil
                }
                // The last tool-wide action on the tool: a hold in force stays.
                var held = heldHere
                for try await last in try await c.query(
                    """
                    SELECT body::json->>'op' FROM fleet_log WHERE kind = 'action' AND tool = \(name) AND tenant IS NULL
                        AND body::json->>'op' IN ('force_open', 'force_open_hold', 'release')
                    ORDER BY fleet_seq DESC LIMIT 1
                    """, logger: logger
                ).decode(String.self) {
                    held = held || last == OperatorOp.forceOpenHold.name
                }
                var seq: Int64?
                if !held {
                    for try await s in try await c.query(
                        """
                        INSERT INTO fleet_log (fleet_seq, kind, tenant, tool, body)
                        SELECT COALESCE(MAX(fleet_seq), 0) + 1, \(kind), NULL, \(name), \(body) FROM fleet_log
                        RETURNING fleet_seq
                        """, logger: logger
                    ).decode(Int64.self) {
                        seq = s
                    }
                }
                try await c.query(
                    "INSERT INTO fleet_outages (tool, fleet_seq, tenants, nodes) VALUES (\(name), \(seq), \(tenants), \(nodes))",
                    logger: logger)
                if let seq { try await c.query("SELECT pg_notify(\(Self.channel), \("action \(seq)"))", logger: logger) }
                return .some(seq)
            }
        }
        guard case .some(let seq) = outcome else { return }
        options.logger.notice(
            seq == nil
                ? "a fleet global outage began under a hold: nothing more is recorded"
                : "a fleet global outage began; the tool is force-opened",
            metadata: ["tool": "\(name)", "tenants": "\(tenants)", "nodes": "\(nodes)", "fleet_seq": "\(seq.map(String.init) ?? "none")"])
        if seq != nil { deliveryBell.ring() }
    }
}
