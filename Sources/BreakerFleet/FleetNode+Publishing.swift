import BreakerCore
import BreakerReports
import BreakerRuntime
import BreakerStore
import Foundation
import PostgresNIO
import ServiceLifecycle

extension FleetNode {
    /// The kinds of records a node shares (SPEC §14): everything but calls and log gaps.
    static let factKinds: EventKinds = [.transitions, .operatorActions, .globalOutages, .configurations, .fleet]

    /// Publishes the facts made durable since the cursor as soon as the local log rings for them,
    /// and every `publishMs` at the latest; every `heartbeatMs` renews the lease. After either it
    /// looks at the votes and open keys of live nodes (episodes and outages begin and end). A tick
    /// with nothing to publish and no lease due sends nothing. When the owner stops it publishes
    /// once more, so a node stopped gracefully leaves nothing unpublished.
    func publishing(_ connection: FleetConnection, from start: Int64) async throws {
        var cursor = start
        var lastBeat: ContinuousClock.Instant?
        let waiter = records.waiter()
        defer { waiter.leave() }
        while !Task.isCancelled {
            let settings = breaker.configuration.fleet
            let stopping = Task.isShuttingDownGracefully
            // Read before the facts: a record durable after this wakes the wait below.
            let rung = records.seq
            do {
                let facts = try unpublishedFacts(after: cursor)
                if !facts.isEmpty { cursor = try await publish(facts, on: connection) }
                if stopping { return }
                let beat = lastBeat.map { ContinuousClock.now - $0 >= .milliseconds(settings.heartbeatMs) } ?? true
                // Once a tick at most, in one statement: new votes, or leases that may have expired.
                if !facts.isEmpty || beat {
                    let view = try await look(on: connection, renewing: beat ? Lease(durable: cursor, ms: settings.leaseMs) : nil)
                    if beat { lastBeat = .now }
                    try await evaluateVotes(view, on: connection)
                    try await evaluateOutages(view, on: connection)
                }
                connected()
            } catch {
                failed(error)
            }
            if stopping { return }
            await cancelWhenGracefulShutdown {
                await withTaskCancellationHandler {
                    await waiter.wait(after: rung, timeout: .milliseconds(settings.publishMs))
                } onCancel: {
                    waiter.cancel()
                }
            }
        }
    }

    /// The node facts of the local log after `seq`, in log order (only what is durable).
    func unpublishedFacts(after seq: Int64) throws(BreakerError) -> [LoggedEvent] {
        var facts: [LoggedEvent] = []
        try store.forEachEvent(EventFilter(afterSeq: seq, kinds: Self.factKinds, turnNames: false)) { facts.append($0) }
        return facts
    }

    /// Publishes `facts` in one transaction: each once (an insert that exists is not an error),
    /// the votes they make or withdraw, the cursor; the notification goes out at commit.
    func publish(_ facts: [LoggedEvent], on connection: FleetConnection) async throws(BreakerError) -> Int64 {
        let node = options.node.rawValue
        let rows = facts.map { fact in
            (
                seq: fact.seq, ts: fact.event.time.milliseconds, kind: ExportLine(seq: fact.seq, event: fact.event).kind,
                key: Self.names(of: fact.event), vote: Self.vote(of: fact.event), open: Self.openness(of: fact.event),
                body: (try? JSONText.encode(ExportLine(seq: fact.seq, event: fact.event))) ?? "{}"
            )
        }
        let last = facts.last!.seq
        try await connection.perform("publish \(facts.count) facts") { c, logger in
            try await c.withTransaction(logger: logger) { c in
                for r in rows {
                    try await c.query(
                        """
                        INSERT INTO fleet_node_facts (node, seq, ts, kind, tenant, tool, body)
                        VALUES (\(node), \(r.seq), \(r.ts), \(r.kind), \(r.key.tenant), \(r.key.tool), \(r.body))
                        ON CONFLICT (node, seq) DO NOTHING
                        """, logger: logger)
                    switch r.vote {
                    case .cast(let tenant, let tool):
                        try await c.query(
                            """
                            INSERT INTO fleet_votes (node, tenant, tool, seq) VALUES (\(node), \(tenant), \(tool), \(r.seq))
                            ON CONFLICT (node, tenant, tool) DO UPDATE SET seq = EXCLUDED.seq
                            """, logger: logger)
                    case .withdrawn(let tenant, let tool):
                        try await c.query(
                            "DELETE FROM fleet_votes WHERE node = \(node) AND tenant = \(tenant) AND tool = \(tool)", logger: logger)
                    case nil:
                        break
                    }
                    switch r.open {
                    case true?:
                        try await c.query(
                            """
                            INSERT INTO fleet_open_keys (node, tenant, tool) VALUES (\(node), \(r.key.tenant), \(r.key.tool))
                            ON CONFLICT DO NOTHING
                            """, logger: logger)
                    case false?:
                        try await c.query(
                            "DELETE FROM fleet_open_keys WHERE node = \(node) AND tenant = \(r.key.tenant) AND tool = \(r.key.tool)",
                            logger: logger)
                    case nil:
                        break
                    }
                }
                try await c.query(
                    """
                    UPDATE fleet_nodes SET published_seq = GREATEST(published_seq, \(last)), published_at = now(),
                        durable_seq = GREATEST(durable_seq, \(last))
                    WHERE node = \(node)
                    """, logger: logger)
                try await c.query("SELECT pg_notify(\(Self.channel), \("facts " + node))", logger: logger)
            }
        }
        return last
    }

    /// A lease to renew: the node's durable cursor and its `leaseMs`.
    struct Lease {
        var durable: Int64
        var ms: Int64
    }

    /// What the fleet's tables say at one instant of PostgreSQL's clock: the votes of live nodes,
    /// the episodes in progress, per tool the tenants open on live nodes, the outages in progress.
    struct FleetView {
        var votes: [Pair: [String]] = [:]
        var episodes: [Pair: Int64] = [:]
        var openTools: [String: (tenants: Int, nodes: Int)] = [:]
        var outages: Set<String> = []
    }

    /// Reads the ``FleetView`` and, with `lease`, renews this node's lease on PostgreSQL's clock —
    /// one statement either way (SPEC §14: a node at rest sends a few a second, never one per call).
    /// Liveness is judged on the beats before this one (a statement sees one snapshot).
    func look(on connection: FleetConnection, renewing lease: Lease?) async throws(BreakerError) -> FleetView {
        let node = options.node.rawValue
        let (renew, durable, leaseMs) = (lease != nil, lease?.durable ?? 0, lease?.ms ?? 0)
        return try await connection.perform(renew ? "renew the lease" : "read the votes") { c, logger in
            var view = FleetView()
            for try await (what, tenant, tool, nodes, a, b) in try await c.query(
                """
                WITH beat AS (
                    UPDATE fleet_nodes SET heartbeat_at = now(), lease_ms = \(leaseMs), durable_seq = GREATEST(durable_seq, \(durable))
                    WHERE node = \(node) AND \(renew)
                ), live AS (
                    SELECT node FROM fleet_nodes WHERE heartbeat_at > now() - make_interval(secs => (lease_ms / 1000.0)::float8)
                )
                SELECT 'vote', v.tenant, v.tool, array_agg(v.node ORDER BY v.node), 0::bigint, 0::bigint
                    FROM fleet_votes v JOIN live USING (node) GROUP BY v.tenant, v.tool
                UNION ALL SELECT 'episode', tenant, tool, NULL, fleet_seq, 0 FROM fleet_open_episodes
                UNION ALL SELECT 'open', NULL, k.tool, NULL, count(DISTINCT k.tenant), count(DISTINCT k.node)
                    FROM fleet_open_keys k JOIN live USING (node) GROUP BY k.tool
                UNION ALL SELECT 'outage', NULL, tool, NULL, 0, 0 FROM fleet_outages
                """, logger: logger
            ).decode((String, String?, String, [String]?, Int64, Int64).self) {
                switch what {
                case "vote": view.votes[Pair(tenant: tenant ?? "", tool: tool)] = nodes ?? []
                case "episode": view.episodes[Pair(tenant: tenant ?? "", tool: tool)] = a
                case "open": view.openTools[tool] = (Int(a), Int(b))
                default: view.outages.insert(tool)
                }
            }
            return view
        }
    }

    /// Begins an episode for each key whose live votes reach its `fleetQuorum` and has none, and
    /// ends each episode whose live votes fell below it.
    func evaluateVotes(_ view: FleetView, on connection: FleetConnection) async throws(BreakerError) {
        let configuration = breaker.configuration
        func quorum(_ key: Pair) -> Int { configuration.settings(tenant: key.tenant, tool: key.tool).fleetQuorum }
        for (key, nodes) in view.votes where view.episodes[key] == nil && nodes.count >= quorum(key) {
            try await begin(key, nodes: nodes, on: connection)
        }
        for (key, seq) in view.episodes where (view.votes[key]?.count ?? 0) < quorum(key) {
            try await end(key, seq: seq, on: connection)
        }
    }

    /// Appends an episode to the fleet's log, once per key while it lasts.
    func begin(_ key: Pair, nodes: [String], on connection: FleetConnection) async throws(BreakerError) {
        let began = try await connection.perform("begin an episode") { c, logger in
            try await c.withTransaction(logger: logger) { c -> Bool in
                try await c.query("SELECT pg_advisory_xact_lock(7340001)", logger: logger)
                for try await _ in try await c.query(
                    "SELECT 1 FROM fleet_open_episodes WHERE tenant = \(key.tenant) AND tool = \(key.tool)", logger: logger
                ) {
                    return false
                }
                var seq: Int64 = 0
                for try await s in try await c.query(
                    """
                    INSERT INTO fleet_log (fleet_seq, kind, tenant, tool, votes, nodes)
                    SELECT COALESCE(MAX(fleet_seq), 0) + 1, 'episode', \(key.tenant), \(key.tool), \(nodes.count), \(nodes) FROM fleet_log
                    RETURNING fleet_seq
                    """, logger: logger
                ).decode(Int64.self) {
                    seq = s
                }
                try await c.query(
                    "INSERT INTO fleet_open_episodes (tenant, tool, fleet_seq) VALUES (\(key.tenant), \(key.tool), \(seq))", logger: logger)
                try await c.query("SELECT pg_notify(\(Self.channel), \("episode \(seq)"))", logger: logger)
                return true
            }
        }
        if began {
            options.logger.notice(
                "a fleet episode began", metadata: ["tenant": "\(key.tenant)", "tool": "\(key.tool)", "nodes": "\(nodes)"])
            deliveryBell.ring()
        }
    }

    /// Ends the episode `seq` of `key`.
    func end(_ key: Pair, seq: Int64, on connection: FleetConnection) async throws(BreakerError) {
        try await connection.perform("end an episode") { c, logger in
            try await c.withTransaction(logger: logger) { c in
                try await c.query(
                    "DELETE FROM fleet_open_episodes WHERE tenant = \(key.tenant) AND tool = \(key.tool) AND fleet_seq = \(seq)",
                    logger: logger)
                try await c.query("UPDATE fleet_log SET ended_at = now() WHERE fleet_seq = \(seq) AND ended_at IS NULL", logger: logger)
            }
        }
    }

    /// A key as the fleet's tables hold it.
    struct Pair: Hashable, Sendable {
        var tenant: String
        var tool: String
    }

    enum Vote {
        case cast(tenant: String, tool: String)
        case withdrawn(tenant: String, tool: String)
    }

    /// What a fact does to this node's vote: a transition into OPEN on its own evidence casts one,
    /// a transition into CLOSED withdraws it; operator actions, `auto` and fleet signals never vote.
    static func vote(of event: BreakerEvent) -> Vote? {
        guard case .transition(let t) = event else { return nil }
        if t.to == .closed { return .withdrawn(tenant: t.tenant.rawValue, tool: t.tool.rawValue) }
        switch (t.to, t.cause) {
        case (.open, .failureThreshold), (.open, .failureRate), (.open, .slowCalls), (.open, .probeFailed):
            return .cast(tenant: t.tenant.rawValue, tool: t.tool.rawValue)
        default:
            return nil
        }
    }

    /// Whether a transition leaves its key counting toward a global outage (OPEN or FORCED_OPEN,
    /// SPEC §7) or not; `nil` for other facts.
    static func openness(of event: BreakerEvent) -> Bool? {
        guard case .transition(let t) = event else { return nil }
        return t.to == .open || t.to == .forcedOpen
    }

    /// The tenant and tool a fact names, when it names them.
    static func names(of event: BreakerEvent) -> (tenant: String?, tool: String?) {
        switch event {
        case .transition(let t): (t.tenant.rawValue, t.tool.rawValue)
        case .operatorAction(let o): (o.tenant?.rawValue, o.tool.rawValue)
        case .globalOutage(let g): (nil, g.tool.rawValue)
        case .fleet(let f): (f.tenant.rawValue, f.tool.rawValue)
        case .call, .logGap, .configuration: (nil, nil)
        }
    }
}
