import ArgumentParser
import BreakerCore
import BreakerFleet
import BreakerReports
import Foundation

struct FleetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fleet",
        abstract: "Set up and inspect a fleet of nodes sharing one PostgreSQL.",
        discussion: """
            Nodes join a fleet with `breakerctl serve --fleet URL --node NAME`. Each keeps \
            deciding locally with its own store; the fleet's PostgreSQL carries the rare facts \
            (transitions, votes, episodes) so that a tool down for enough nodes opens everywhere.

            Examples:
              breakerctl fleet init --fleet postgres://breaker@db.internal/breaker
              breakerctl fleet status --fleet postgres://breaker@db.internal/breaker
              breakerctl fleet forget-node node-7 \\
                  --fleet postgres://breaker@db.internal/breaker

            Exit codes: 0 done; 1 the fleet cannot be reached or refused; 64 bad arguments.
            """,
        subcommands: [FleetInitCommand.self, FleetStatusCommand.self, FleetForgetNodeCommand.self])
}

struct FleetInitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create or upgrade the fleet's schema (idempotent).",
        discussion: """
            Applies the fleet's migrations that the database does not have yet, in order, under \
            a lock, so that it is safe while nodes start. `serve --fleet` does the same at start.
            """)

    @OptionGroup var fleet: FleetOptions

    func run() async throws {
        try await reportingErrors {
            let endpoint = try fleet.requiredEndpoint()
            let applied = try await FleetAdmin.initialize(endpoint)
            printError(
                applied.isEmpty
                    ? "fleet: the schema of \(endpoint) is current"
                    : "fleet: applied schema version\(applied.count == 1 ? "" : "s") \(applied.map(String.init).joined(separator: ", ")) to \(endpoint)"
            )
        }
    }
}

struct FleetStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "The fleet's nodes (live or not, cursors, lag) and its episodes.",
        discussion: """
            A node is live while its last heartbeat is younger than its lease (fleet.leaseMs), \
            measured on PostgreSQL's clock. An episode is a key for which at least fleetQuorum \
            live nodes are OPEN on their own evidence.
            """)

    @OptionGroup var fleet: FleetOptions

    @Option(help: "Output format: table or json.")
    var format: TableFormat = .table

    func run() async throws {
        try await reportingErrors {
            let status = try await FleetAdmin.status(try fleet.requiredEndpoint())
            switch format {
            case .json:
                writeOut(try JSONText.encode(status) + "\n")
            case .table:
                var rows = [["node", "live", "lease_age_ms", "published_seq", "applied_fleet_seq", "publish_lag_ms"]]
                for n in status.nodes {
                    rows.append([
                        n.node, n.live ? "yes" : "no", String(n.leaseAgeMs), String(n.publishedSeq), String(n.appliedFleetSeq),
                        String(n.publishLagMs),
                    ])
                }
                var text = Table.render(rows)
                text += status.episodes.isEmpty ? "\nno episodes in progress\n" : "\n"
                if !status.episodes.isEmpty {
                    var e = [["tenant", "tool", "votes", "nodes"]]
                    for episode in status.episodes {
                        e.append([episode.tenant, episode.tool, String(episode.votes), episode.nodes.joined(separator: ",")])
                    }
                    text += Table.render(e)
                }
                writeOut(text)
            }
        }
    }
}

struct FleetForgetNodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forget-node",
        abstract: "Release a node name whose store is lost.",
        discussion: """
            The fleet remembers which store each node name was first used with, and refuses the \
            name with another store. When that store is lost, this releases the name: its lease, \
            votes, published facts and rollups are removed; the fleet's episodes stay.
            """)

    @Argument(help: ArgumentHelp("The node name.", valueName: "node"), transform: { try parseName($0) })
    var node: NodeID

    @OptionGroup var fleet: FleetOptions

    func run() async throws {
        try await reportingErrors {
            let endpoint = try fleet.requiredEndpoint()
            if try await FleetAdmin.forget(node: node, endpoint) {
                printError("fleet: forgot node \(node); the name can join again with any store")
            } else {
                printError("fleet: no node \(node) in \(endpoint); nothing to forget")
            }
        }
    }
}
