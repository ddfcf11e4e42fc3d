import BreakerCore
import BreakerRuntime
import BreakerStore
import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle

extension FleetNode {
    /// Applies the fleet's entries after the last one this store recorded, in the fleet's order,
    /// once: woken by a notification, and every `pollMs` whatever notifications say.
    func delivering() async throws {
        let connection = newConnection()
        defer { connection.drop() }
        var applied = try store.lastFleetSeq()
        state.withLock { $0.appliedDurable = applied }
        let node = options.node.rawValue
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            var more = false
            do {
                let after = applied
                let entries = try await connection.perform("read the fleet's entries") { c, logger in
                    var out: [Entry] = []
                    for try await (seq, kind, tenant, tool, votes, nodes, ended, body) in try await c.query(
                        """
                        SELECT fleet_seq, kind, tenant, tool, votes, nodes, ended_at IS NOT NULL, body FROM fleet_log
                        WHERE fleet_seq > \(after) ORDER BY fleet_seq LIMIT 200
                        """, logger: logger
                    ).decode((Int64, String, String?, String?, Int?, [String]?, Bool, String?).self) {
                        out.append(
                            Entry(
                                seq: seq, kind: kind, tenant: tenant, tool: tool, votes: votes, nodes: nodes ?? [], ended: ended,
                                body: body))
                    }
                    return out
                }
                for entry in entries {
                    try await apply(entry)
                    applied = entry.seq
                    state.withLock { $0.appliedDurable = entry.seq }
                }
                if !entries.isEmpty {
                    // Episodes durable now, once a batch, not at the writer's next flush: an episode
                    // crosses the fleet as fast as its record can be made durable here. A record is
                    // the machine's already: a log that cannot take it now is the writer's to report,
                    // and the episode is never received twice.
                    try? await breaker.flush()
                    let through = applied
                    _ = try await connection.perform("report the entries applied") { c, logger in
                        try await c.query(
                            "UPDATE fleet_nodes SET applied_fleet_seq = GREATEST(applied_fleet_seq, \(through)) WHERE node = \(node)",
                            logger: logger)
                    }
                }
                more = entries.count == 200
                connected()
                if !more { state.withLock { $0.caughtUp = true } }
            } catch let error as BreakerError where error.code == .fleetUnavailable {
                failed(error)
            } catch {
                // This node's log refused a fleet action: the entry is applied again on the next pass.
                options.logger.error("could not apply a fleet action; trying again", metadata: ["error": "\(error)"])
            }
            if !more { await deliveryBell.wait(upTo: .milliseconds(breaker.configuration.fleet.pollMs)) }
        }
    }

    /// One entry of the fleet's log.
    struct Entry: Sendable {
        var seq: Int64
        var kind: String
        var tenant: String?
        var tool: String?
        var votes: Int?
        var nodes: [String]
        var ended: Bool
        var body: String?
    }

    /// Applies a fleet action or configuration (durable on return), or records an episode still in
    /// progress (SPEC §14); an episode that has ended is passed over: it is delivered while it lasts.
    /// - Throws: when this node's log cannot make an action durable (it is applied again after).
    func apply(_ entry: Entry) async throws {
        if entry.kind != "episode" {
            let action: FleetAction
            do {
                action = try FleetAction(
                    kind: entry.kind, tenant: entry.tenant, tool: entry.tool, body: entry.body ?? "", fleetSeq: entry.seq)
            } catch {
                options.logger.error(
                    "passed over a fleet entry this node cannot read", metadata: ["fleet_seq": "\(entry.seq)", "error": "\(error.message)"])
                return
            }
            switch action {
            case .operatorAction(let a):
                // `auto` never replaces an operator's hold (SPEC §7), here one given to this node alone.
                if a.actor == "auto", a.command == .forceOpen(.allTenants), breaker.signal(for: a.tool)?.hold == true {
                    options.logger.notice(
                        "passed over the fleet's auto force-open: this node holds the tool open",
                        metadata: ["fleet_seq": "\(entry.seq)", "tool": "\(a.tool)"])
                    return
                }
                try await breaker.apply(a)
            case .configure(let c, let actor, let reason):
                try await breaker.configure(c, actor: actor, reason: reason, fleetSeq: entry.seq)
            }
            options.logger.notice("applied a fleet action", metadata: ["fleet_seq": "\(entry.seq)", "kind": "\(entry.kind)"])
            return
        }
        guard !entry.ended else { return }
        guard let t = entry.tenant, let o = entry.tool, let tenant = try? TenantID(t), let tool = try? ToolID(o) else {
            options.logger.error("passed over a fleet episode whose key is not valid", metadata: ["fleet_seq": "\(entry.seq)"])
            return
        }
        let nodes = entry.nodes.compactMap { try? NodeID($0) }
        breaker.receive(
            fleetEpisode: FleetRecord(
                time: Timestamp(milliseconds: 0), tenant: tenant, tool: tool, votes: entry.votes ?? nodes.count, nodes: nodes,
                fleetSeq: entry.seq))
        options.logger.notice(
            "recorded a fleet episode",
            metadata: ["tenant": "\(t)", "tool": "\(o)", "fleet_seq": "\(entry.seq)", "nodes": "\(entry.nodes)"])
    }

    /// Listens for the fleet's notifications on a connection of its own; after every (re)connection
    /// the delivery loop catches up by cursor, so a notification lost meanwhile loses nothing.
    func listening() async {
        var id = 1_000_000
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            id += 1
            do {
                let configuration = try options.endpoint.configuration(connectTimeout: options.deadline)
                let connection = try await PostgresConnection.connect(configuration: configuration, id: id, logger: options.logger)
                statements.add(1)
                do {
                    try await cancelWhenGracefulShutdown {
                        try await withTaskCancellationHandler {
                            try await connection.listen(on: Self.channel) { notifications in
                                self.deliveryBell.ring()
                                for try await _ in notifications { self.deliveryBell.ring() }
                            }
                        } onCancel: {
                            connection.close().whenComplete { _ in withExtendedLifetime(connection) {} }
                        }
                    }
                } catch {
                    // Ended by the server, the network or shutdown: closed below, then begun again.
                }
                try? await connection.close()
            } catch {
                // The publishing and delivery loops report the fleet's failures; this one retries.
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(1)) }
        }
    }
}
