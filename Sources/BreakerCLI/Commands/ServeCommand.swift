import ArgumentParser
import BreakerCore
import BreakerFleet
import BreakerOwner
import BreakerRuntime
import BreakerServe
import BreakerStore
import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "The durable single-node service: agents in any language call the breaker over HTTP.",
        discussion: """
            Owns the store (one process per node), rebuilds the state, then serves HTTP/1.1 with \
            JSON bodies (SPEC §12; the API is at /openapi.json, the dashboard at /):
              POST /v1/admit {"tenant","tool","turn"}
                   → a permit, or the "tool unavailable" signal
              POST /v1/complete {"permit","outcome"}
                   → success | failure | cancelled
              GET  /v1/tenants/{tenant}/unavailable-tools
                   → tools down, and a system-prompt note
              GET  /v1/status, /v1/report.csv, /v1/report.json, /v1/audit.csv,
                   /v1/slo, /v1/events, /metrics, /livez, /readyz
              POST /v1/operator/force-open|release|reset|configure
                   (Authorization: Bearer <operator token>)
            A permit not completed within the call timeout is recorded as a timeout. Operator \
            actions from `breakerctl force-open|release|reset|configure` apply within a second.
            SIGTERM or SIGINT: stop accepting, answer the requests in flight, make everything \
            durable, write a snapshot, exit 0.

            Binding anything but loopback needs both --operator-token-file and --agent-token-file.
            With --config on an existing store whose configuration differs, the file's is recorded \
            as a configuration change (actor serve) before the service is ready.

            Examples:
              breakerctl serve --db /var/lib/tenant-breaker/breaker.sqlite \\
                  --operator-token-file /etc/tenant-breaker/operator.token
              curl -s localhost:8710/v1/admit -H 'Content-Type: application/json' \\
                  -d '{"tenant":"acme","tool":"web_search","turn":"t-1"}'

            Exit codes: 0 stopped by SIGTERM/SIGINT; 1 failure (store owned elsewhere, \
            port in use…); 64 bad arguments.
            """)

    @Option(help: ArgumentHelp("Configuration (JSON, SPEC §2): for a new store, or recorded as a change.", valueName: "file"))
    var config: String?
    @Option(help: ArgumentHelp("Address to listen on.", valueName: "address")) var host = "127.0.0.1"
    @Option(help: ArgumentHelp("Port to listen on (0: any free port, printed at start).", valueName: "port")) var port = 8710
    @Option(help: ArgumentHelp("File holding the operator token (needed for operator endpoints).", valueName: "file"))
    var operatorTokenFile: String?
    @Option(help: ArgumentHelp("File holding the agent token (needed by every endpoint but /livez and /readyz).", valueName: "file"))
    var agentTokenFile: String?
    @Option(help: ArgumentHelp("Close connections idle this long.", valueName: "seconds")) var idleTimeout = 30
    @Option(help: ArgumentHelp("Answer 408 to a request body that takes longer than this to arrive.", valueName: "seconds"))
    var bodyTimeout = 10
    @Option(
        help: ArgumentHelp(
            "Close connections beyond this many at once (default: half the descriptor limit, which serve raises to its hard limit).",
            valueName: "n"))
    var maxConnections: Int?
    @Option(help: ArgumentHelp("Refuse (400) a report or audit request covering more rows than this.", valueName: "n"))
    var maxReportRows = 1_000_000
    @Option(
        help: ArgumentHelp(
            "Disconnect an event-stream subscriber whose connection stays full this long (it resumes with Last-Event-ID).",
            valueName: "seconds"))
    var eventWriteTimeout = 10
    @OptionGroup var store: StoreOptions
    @OptionGroup var fleet: FleetOptions
    @Option(
        help: ArgumentHelp("This node's name in the fleet (with --fleet), unique in it.", valueName: "name"),
        transform: { try parseName($0) })
    var node: NodeID?

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be from 0 to 65535") }
        guard idleTimeout >= 1 else { throw ValidationError("--idle-timeout must be at least 1 second") }
        guard bodyTimeout >= 1 else { throw ValidationError("--body-timeout must be at least 1 second") }
        if let maxConnections, maxConnections < 1 { throw ValidationError("--max-connections must be at least 1") }
        guard maxReportRows >= 1 else { throw ValidationError("--max-report-rows must be at least 1") }
        guard eventWriteTimeout >= 1 else { throw ValidationError("--event-write-timeout must be at least 1 second") }
        if !ServeOptions.isLoopback(host) && (operatorTokenFile == nil || agentTokenFile == nil) {
            throw ValidationError(
                "--host \(host) is not loopback: give both --operator-token-file and --agent-token-file so that nobody else can call or steer the breaker"
            )
        }
    }

    func run() async throws {
        try await reportingErrors {
            let configuration = try config.map { try loadConfiguration($0) }
            let endpoint = try fleet.endpoint()
            if endpoint != nil && node == nil {
                throw BreakerError(.invalidArgument, "--fleet needs --node NAME: this node's name, unique in the fleet")
            } else if endpoint == nil && node != nil {
                throw BreakerError(.invalidArgument, "--node names this node in a fleet: give --fleet URL (or $BREAKER_FLEET_URL) too")
            }
            var serve = ServeOptions()
            serve.host = host
            serve.port = port
            serve.idleTimeout = .seconds(idleTimeout)
            serve.bodyTimeout = .seconds(bodyTimeout)
            // Descriptors: the soft limit is raised to the hard one, half of it for connections.
            let descriptors = DescriptorLimit.raise()
            serve.maxConnections = maxConnections ?? max(1, descriptors / 2)
            serve.maxReportRows = maxReportRows
            serve.eventWriteTimeout = .seconds(eventWriteTimeout)
            serve.operatorToken = try operatorTokenFile.map { try Self.token(from: $0, option: "--operator-token-file") }
            serve.agentToken = try agentTokenFile.map { try Self.token(from: $0, option: "--agent-token-file") }
            var logger = Logger(label: "breakerctl.serve", factory: { label in StreamLogHandler.standardError(label: label) })
            logger.logLevel = .notice
            serve.logger = logger
            let path = store.path
            serve.onListening = { host, port in
                printError("serve: listening on http://\(host.contains(":") ? "[\(host)]" : host):\(port) (store \(path))")
            }
            // Metrics go to this registry, shown at /metrics; the global metrics system is left alone.
            let registry = MetricsRegistry()
            var options = StoreOwner.Options(configuration: configuration)
            options.logger = logger
            options.metricsFactory = registry
            let owner = try StoreOwner(path: path, options: options)
            let breaker = owner.breaker
            var fleetNode: FleetNode?
            if let endpoint, let node {
                var fleetOptions = FleetNode.Options(endpoint: endpoint, node: node)
                fleetOptions.logger = logger
                fleetOptions.metricsFactory = registry
                fleetNode = FleetNode(owner: owner, storePath: path, options: fleetOptions)
                serve.fleet = fleetNode
                printError("serve: node \(node) of the fleet at \(endpoint)")
            }
            let change = configuration.flatMap { $0 == breaker.configuration ? nil : $0 }
            let joining = fleetNode
            let server = BreakerServer(owner: owner, registry: registry, options: serve) {
                if let joining {
                    // A fleet node applies what it missed, then the join rules for the configuration,
                    // before it is ready (SPEC §14).
                    await joining.caughtUp()
                    switch try await joining.joinConfiguration(file: configuration) {
                    case .gaveTheFleet(let seq): printError("serve: \(config!) is the fleet's configuration now (fleet action \(seq))")
                    case .tookTheFleets: printError("serve: recorded the fleet's configuration, which differed from this node's")
                    case .same: break
                    case .unreachable: printError("serve: the fleet did not answer; this node goes on with its own configuration")
                    }
                    return
                }
                guard let change else { return }
                let lines = change.changes(from: breaker.configuration)
                try await breaker.configure(change, actor: "serve", reason: "configuration file at start")
                printError("serve: recorded the configuration of \(config!) as a change: \(lines.joined(separator: "; "))")
            }
            var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: server.service)]
            if let fleetNode {
                // The fleet's refusal (a node name in use with another store) stops the node.
                services.insert(
                    .init(service: fleetNode, successTerminationBehavior: .ignore, failureTerminationBehavior: .gracefullyShutdownGroup),
                    at: 0)
            }
            try await owner.run(alongside: services, gracefulShutdownSignals: [.sigterm, .sigint])
            printError("serve: stopped; everything answered is durable in \(path)")
        }
    }

    /// The token in `path`: its text without surrounding whitespace.
    static func token(from path: String, option: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError("\(option): cannot read \(path)")
        }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard text.utf8.count >= 16 else {
            throw ValidationError("\(option): the token in \(path) is shorter than 16 bytes; use e.g. `openssl rand -hex 32 > \(path)`")
        }
        return Array(text.utf8)
    }
}
