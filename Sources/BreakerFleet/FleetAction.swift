public import BreakerCore
import BreakerRuntime
import Foundation
public import Logging
import PostgresNIO

/// An operator action or configuration change for every node of a fleet (SPEC §14): it gets the
/// fleet's next sequence number and every node applies it once, in that order.
public enum FleetAction: Sendable, Equatable {
    case operatorAction(OperatorAction)
    case configure(BreakerConfiguration, actor: String, reason: String)

    /// How the fleet's log holds it: `kind`, the names, and a body of the rest.
    struct Row: Codable {
        var op: String?
        var actor: String
        var reason: String
        var config: String?
    }

    var kind: String {
        switch self {
        case .operatorAction: "action"
        case .configure: "configure"
        }
    }

    var tenant: String? {
        guard case .operatorAction(let a) = self else { return nil }
        return a.tenant?.rawValue
    }

    var tool: String? {
        guard case .operatorAction(let a) = self else { return nil }
        return a.tool.rawValue
    }

    var body: String {
        let row: Row =
            switch self {
            case .operatorAction(let a): Row(op: a.op.name, actor: a.actor, reason: a.reason)
            case .configure(let c, let actor, let reason): Row(actor: actor, reason: reason, config: c.jsonText)
            }
        // Strings and nothing else: encoding cannot fail.
        return String(decoding: try! JSONEncoder().encode(row), as: UTF8.self)
    }

    /// The action an entry of the fleet's log spells, checked as any request is.
    /// - Throws: ``BreakerError`` naming what is wrong with it.
    init(kind: String, tenant: String?, tool: String?, body: String, fleetSeq: Int64) throws(BreakerError) {
        let row: Row
        do {
            row = try JSONDecoder().decode(Row.self, from: Data(body.utf8))
        } catch {
            throw BreakerError(.storeCorrupt, "fleet entry \(fleetSeq) has a body that is not a fleet action: \(error)")
        }
        switch kind {
        case "configure":
            self = .configure(try BreakerConfiguration(json: row.config ?? ""), actor: row.actor, reason: row.reason)
        case "action":
            guard let name = row.op, let op = OperatorOp(name: name), let tool else {
                throw BreakerError(.storeCorrupt, "fleet entry \(fleetSeq) is an action without a known op or a tool")
            }
            let tenantID = try tenant.map { (t) throws(BreakerError) in try TenantID(t) }
            self = .operatorAction(
                OperatorAction(
                    try OperatorCommand(op: op, tenant: tenantID), tool: try ToolID(tool), actor: row.actor, reason: row.reason,
                    fleetSeq: fleetSeq))
        default:
            throw BreakerError(.storeCorrupt, "fleet entry \(fleetSeq) has the unknown kind \(String(reflecting: kind))")
        }
    }
}

extension FleetAdmin {
    /// Appends `action` to the fleet's log (SPEC §14) and notifies the nodes at commit; returns its
    /// fleet sequence number once it is durable in PostgreSQL.
    /// - Throws: ``BreakerError`` (`fleet_unavailable`) when the fleet does not answer.
    public static func submit(
        _ action: FleetAction, _ endpoint: FleetEndpoint, deadline: Duration = .seconds(10),
        logger: Logger = Logger(label: "tenant-breaker.fleet")
    ) async throws(BreakerError) -> Int64 {
        let connection = FleetConnection(endpoint: endpoint, deadline: deadline, logger: logger)
        defer { connection.drop() }
        let (kind, tenant, tool, body) = (action.kind, action.tenant, action.tool, action.body)
        return try await connection.perform("record a fleet action") { c, logger in
            try await c.withTransaction(logger: logger) { c -> Int64 in
                try await c.query("SELECT pg_advisory_xact_lock(7340001)", logger: logger)
                var seq: Int64 = 0
                for try await s in try await c.query(
                    """
                    INSERT INTO fleet_log (fleet_seq, kind, tenant, tool, body)
                    SELECT COALESCE(MAX(fleet_seq), 0) + 1, \(kind), \(tenant), \(tool), \(body) FROM fleet_log
                    RETURNING fleet_seq
                    """, logger: logger
                ).decode(Int64.self) {
                    seq = s
                }
                try await c.query("SELECT pg_notify(\(FleetNode.channel), \("action \(seq)"))", logger: logger)
                return seq
            }
        }
    }

    /// Which nodes have applied fleet entry `seq` (their `applied_fleet_seq` reached it), and
    /// which live nodes have not yet.
    public static func applied(
        _ seq: Int64, _ endpoint: FleetEndpoint, deadline: Duration = .seconds(10),
        logger: Logger = Logger(label: "tenant-breaker.fleet")
    ) async throws(BreakerError) -> (applied: [String], pending: [String]) {
        let status = try await status(endpoint, deadline: deadline, logger: logger)
        let applied = status.nodes.filter { $0.appliedFleetSeq >= seq }.map(\.node)
        let pending = status.nodes.filter { $0.live && $0.appliedFleetSeq < seq }.map(\.node)
        return (applied, pending)
    }
}

extension FleetNode {
    /// Records `action` as a fleet action and returns its fleet sequence number once it is durable
    /// in PostgreSQL and this node's own record of it is durable in its log (SPEC §14).
    /// - Throws: ``BreakerError``: `fleet_unavailable` when the fleet does not answer within the
    ///   deadline (nothing is recorded then), or when this node has not applied it within `within`.
    public func submit(_ action: FleetAction, within: Duration = .seconds(10)) async throws(BreakerError) -> Int64 {
        let seq = try await FleetAdmin.submit(action, options.endpoint, deadline: options.deadline, logger: options.logger)
        deliveryBell.ring()
        try await waitUntilApplied(seq, within: within)
        return seq
    }

    /// Returns once fleet entry `seq` is applied and durable in this node's log.
    /// - Throws: ``BreakerError`` (`fleet_unavailable`) when it is not within `within`.
    func waitUntilApplied(_ seq: Int64, within: Duration) async throws(BreakerError) {
        let deadline = ContinuousClock.now + within
        while state.withLock({ $0.appliedDurable }) < seq {
            guard ContinuousClock.now < deadline else {
                throw BreakerError(
                    .fleetUnavailable,
                    "recorded as fleet action \(seq), which every node applies, but this node has not applied it within \(within)")
            }
            try? await Task.sleep(for: .milliseconds(5))
        }
    }
}

extension FleetNode {
    /// What joining did with the configuration (SPEC §14), for the operator.
    public enum ConfigurationJoin: Sendable, Equatable {
        /// The fleet had none: the file became the fleet's, as fleet action `fleetSeq`.
        case gaveTheFleet(fleetSeq: Int64)
        /// This node had another: it recorded the fleet's (actor `fleet`).
        case tookTheFleets
        /// This node's was the fleet's already.
        case same
        /// The fleet's PostgreSQL did not answer: the node goes on with its own.
        case unreachable
    }

    /// Applies the join rules for the configuration (SPEC §14), after the node caught up: the
    /// fleet's configuration is its last fleet `configure`. With `file` (`serve --config`) and no
    /// fleet configuration yet, the file becomes the fleet's; with another one, the node is refused
    /// naming the first differing setting. A node whose configuration differs from the fleet's
    /// records the fleet's (actor `fleet`, reason `fleet configuration`).
    /// - Throws: ``BreakerError`` (`fleet_refused`) when `file` differs from the fleet's configuration.
    public func joinConfiguration(file: BreakerConfiguration?) async throws -> ConfigurationJoin {
        let fleetConfiguration: BreakerConfiguration?
        do {
            fleetConfiguration = try await lastFleetConfiguration()
        } catch let error as BreakerError where error.code == .fleetUnavailable {
            failed(error)
            if let file, file != breaker.configuration {
                try await breaker.configure(file, actor: "serve", reason: "configuration file at start (the fleet did not answer)")
            }
            return .unreachable
        }
        guard let fleetConfiguration else {
            guard let file else { return .same }
            // Nodes starting together: the first file recorded is the fleet's, the others are judged by it.
            switch try await giveTheFleet(file) {
            case .given(let seq):
                try await waitUntilApplied(seq, within: .seconds(10))
                return .gaveTheFleet(fleetSeq: seq)
            case .alreadyHas(let theirs):
                return try await join(file: file, fleetConfiguration: theirs)
            }
        }
        return try await join(file: file, fleetConfiguration: fleetConfiguration)
    }

    private func join(file: BreakerConfiguration?, fleetConfiguration: BreakerConfiguration) async throws -> ConfigurationJoin {
        if let file, file != fleetConfiguration {
            let first = file.changes(from: fleetConfiguration).first ?? "a setting"
            throw BreakerError(
                .fleetRefused,
                "--config differs from the fleet's configuration (fleet → file: \(first)); start the node without --config to take the fleet's, or change the fleet's with `breakerctl configure --fleet URL`",
                context: ["node": options.node.rawValue])
        }
        guard breaker.configuration != fleetConfiguration else { return .same }
        try await breaker.configure(fleetConfiguration, actor: "fleet", reason: "fleet configuration")
        return .tookTheFleets
    }

    enum Gift {
        case given(Int64)
        case alreadyHas(BreakerConfiguration)
    }

    /// Records `file` as the fleet's first configuration, unless the fleet has one by now (checked
    /// and appended under the fleet log's lock, so two nodes starting together do not both give theirs).
    func giveTheFleet(_ file: BreakerConfiguration) async throws -> Gift {
        let connection = FleetConnection(endpoint: options.endpoint, deadline: options.deadline, logger: options.logger)
        defer { connection.drop() }
        let action = FleetAction.configure(file, actor: "serve", reason: "configuration file at the start of node \(options.node.rawValue)")
        let body = action.body
        let (seq, existing) = try await connection.perform("give the fleet its configuration") { c, logger -> (Int64, String?) in
            try await c.withTransaction(logger: logger) { c -> (Int64, String?) in
                try await c.query("SELECT pg_advisory_xact_lock(7340001)", logger: logger)
                for try await (seq, body) in try await c.query(
                    "SELECT fleet_seq, body FROM fleet_log WHERE kind = 'configure' ORDER BY fleet_seq DESC LIMIT 1", logger: logger
                ).decode((Int64, String).self) {
                    return (seq, body)
                }
                var seq: Int64 = 0
                for try await s in try await c.query(
                    """
                    INSERT INTO fleet_log (fleet_seq, kind, body) SELECT COALESCE(MAX(fleet_seq), 0) + 1, 'configure', \(body) FROM fleet_log
                    RETURNING fleet_seq
                    """, logger: logger
                ).decode(Int64.self) {
                    seq = s
                }
                try await c.query("SELECT pg_notify(\(FleetNode.channel), \("action \(seq)"))", logger: logger)
                return (seq, nil)
            }
        }
        guard let existing else {
            deliveryBell.ring()
            return .given(seq)
        }
        guard case .configure(let theirs, _, _) = try FleetAction(kind: "configure", tenant: nil, tool: nil, body: existing, fleetSeq: seq)
        else { throw BreakerError(.storeCorrupt, "fleet entry \(seq) is not a configuration") }
        return .alreadyHas(theirs)
    }

    /// The fleet's configuration: its last fleet `configure`, or `nil` when it has none.
    func lastFleetConfiguration() async throws -> BreakerConfiguration? {
        let connection = FleetConnection(endpoint: options.endpoint, deadline: options.deadline, logger: options.logger)
        defer { connection.drop() }
        let row = try await connection.perform("read the fleet's configuration") { c, logger -> (Int64, String)? in
            var found: (Int64, String)?
            for try await r in try await c.query(
                "SELECT fleet_seq, body FROM fleet_log WHERE kind = 'configure' ORDER BY fleet_seq DESC LIMIT 1", logger: logger
            ).decode((Int64, String).self) {
                found = r
            }
            return found
        }
        guard let (seq, body) = row else { return nil }
        guard
            case .configure(let configuration, _, _) = try FleetAction(kind: "configure", tenant: nil, tool: nil, body: body, fleetSeq: seq)
        else { return nil }
        return configuration
    }
}
