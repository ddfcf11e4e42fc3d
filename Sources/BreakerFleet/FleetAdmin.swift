public import BreakerCore
public import Logging
import PostgresNIO

/// What `breakerctl fleet init|status|forget-node` ask of the fleet (SPEC §14).
public enum FleetAdmin {
    /// Creates or upgrades the fleet's schema; returns the versions applied now (none when it was current).
    public static func initialize(_ endpoint: FleetEndpoint, logger: Logger = Logger(label: "tenant-breaker.fleet"))
        async throws(BreakerError) -> [Int]
    {
        let connection = FleetConnection(endpoint: endpoint, deadline: .seconds(10), logger: logger)
        defer { connection.drop() }
        return try await connection.perform("apply the fleet's schema") { c, logger in try await FleetSchema.apply(on: c, logger: logger) }
    }

    /// Releases `node`'s name (its store is lost): its row, facts, votes and rollups go; the
    /// fleet's own log keeps what it recorded. Returns whether the name was in use.
    public static func forget(node: NodeID, _ endpoint: FleetEndpoint, logger: Logger = Logger(label: "tenant-breaker.fleet"))
        async throws(BreakerError) -> Bool
    {
        let connection = FleetConnection(endpoint: endpoint, deadline: .seconds(10), logger: logger)
        defer { connection.drop() }
        let name = node.rawValue
        return try await connection.perform("forget node \(name)") { c, logger in
            var found = false
            for try await _ in try await c.query("DELETE FROM fleet_nodes WHERE node = \(name) RETURNING node", logger: logger) {
                found = true
            }
            return found
        }
    }

    /// The nodes and the episodes in progress.
    public static func status(
        _ endpoint: FleetEndpoint, deadline: Duration = .seconds(10), logger: Logger = Logger(label: "tenant-breaker.fleet")
    ) async throws(BreakerError) -> FleetStatus {
        let connection = FleetConnection(endpoint: endpoint, deadline: deadline, logger: logger)
        defer { connection.drop() }
        return try await connection.perform("read the fleet's status") { c, logger in
            var status = FleetStatus(nodes: [], episodes: [])
            for try await (node, live, age, published, applied, lag) in try await c.query(
                """
                SELECT node, heartbeat_at > now() - make_interval(secs => (lease_ms / 1000.0)::float8),
                    (extract(epoch FROM now() - heartbeat_at) * 1000)::bigint, published_seq, applied_fleet_seq,
                    CASE WHEN durable_seq > published_seq
                        THEN (extract(epoch FROM now() - COALESCE(published_at, joined_at)) * 1000)::bigint ELSE 0 END
                FROM fleet_nodes ORDER BY node
                """, logger: logger
            ).decode((String, Bool, Int64, Int64, Int64, Int64).self) {
                status.nodes.append(
                    .init(node: node, live: live, leaseAgeMs: age, publishedSeq: published, appliedFleetSeq: applied, publishLagMs: lag))
            }
            for try await (tenant, tool, votes, nodes) in try await c.query(
                """
                SELECT e.tenant, e.tool, l.votes, l.nodes FROM fleet_open_episodes e JOIN fleet_log l ON l.fleet_seq = e.fleet_seq
                ORDER BY e.tenant, e.tool
                """, logger: logger
            ).decode((String, String, Int, [String]).self) {
                status.episodes.append(.init(tenant: tenant, tool: tool, votes: votes, nodes: nodes))
            }
            return status
        }
    }
}

/// `fleet status` and `GET /v1/fleet` (SPEC §14).
public struct FleetStatus: Sendable, Encodable, Equatable {
    public struct Node: Sendable, Encodable, Equatable {
        public var node: String
        public var live: Bool
        public var leaseAgeMs: Int64
        public var publishedSeq: Int64
        public var appliedFleetSeq: Int64
        public var publishLagMs: Int64

        enum CodingKeys: String, CodingKey {
            case node, live
            case leaseAgeMs = "lease_age_ms"
            case publishedSeq = "published_seq"
            case appliedFleetSeq = "applied_fleet_seq"
            case publishLagMs = "publish_lag_ms"
        }
    }

    public struct Episode: Sendable, Encodable, Equatable {
        public var tenant: String
        public var tool: String
        public var votes: Int
        public var nodes: [String]
    }

    public var nodes: [Node]
    public var episodes: [Episode]
}
