import ArgumentParser
import BreakerCore
import BreakerOwner
import BreakerRuntime
import BreakerStore
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import UnixSignals

struct LoadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "Drive the live runtime in real time against a store (owns it while running).",
        discussion: """
            Calls arrive at --rate per second for --duration seconds, spread over --tenants × --tools \
            keys, in turns of 1–5 calls. A --failure-rate share of calls throw, a --slow-rate share \
            hang past the call timeout. Every outcome and transition is logged durably; operator \
            actions given with `breakerctl force-open|release|reset` meanwhile take effect within a \
            second. SIGTERM or SIGINT stops it cleanly: in-flight calls finish, everything is \
            flushed, a final snapshot is written.

            Example:
              breakerctl load --tenants 20 --tools 5 --rate 500 --duration 60 \\
                  --failure-rate 0.05 --db load.sqlite

            Exit codes: 0 done (also after SIGTERM/SIGINT); 1 failure (store owned elsewhere, disk full…); 64 bad arguments.
            """)

    @Option(help: "Tenants.") var tenants = 10
    @Option(help: "Tools per tenant.") var tools = 4
    @Option(help: ArgumentHelp("Calls per second.", valueName: "calls-per-s")) var rate = 200.0
    @Option(help: ArgumentHelp("How long to run, seconds.", valueName: "seconds")) var duration = 10.0
    @Option(help: "Share of calls whose tool throws (0–1).") var failureRate = 0.0
    @Option(help: "Share of calls that hang past the call timeout (0–1).") var slowRate = 0.0
    @Option(help: ArgumentHelp("Tool latency of a normal call, ms.", valueName: "ms")) var latencyMs = 20
    @Option(help: ArgumentHelp("Configuration for a new store (JSON, SPEC §2).", valueName: "file")) var config: String?
    @Option(help: "Random seed.") var seed: UInt64 = 1
    @Option(
        help: ArgumentHelp(
            "Call records held in memory while the log cannot be written; beyond it they are dropped and counted in a log_gap.",
            valueName: "records"))
    var logQueueCapacity = 65_536
    @Flag(help: "Print each transition as a JSON line once it is durable and its call has returned.")
    var reportTransitions = false
    @OptionGroup var store: StoreOptions

    func validate() throws {
        guard tenants >= 1, tools >= 1 else { throw ValidationError("--tenants and --tools must be at least 1") }
        guard rate > 0, rate <= 1_000_000 else { throw ValidationError("--rate must be between 0 and 1000000 calls per second") }
        guard duration > 0 else { throw ValidationError("--duration must be positive") }
        guard logQueueCapacity >= 1 else { throw ValidationError("--log-queue-capacity must be at least 1") }
        guard (0...1).contains(failureRate), (0...1).contains(slowRate) else {
            throw ValidationError("--failure-rate and --slow-rate are shares from 0 to 1")
        }
    }

    func run() async throws {
        try await reportingErrors {
            let configuration = try loadConfiguration(config)
            var options = StoreOwner.Options(configuration: configuration)
            options.logQueueCapacity = logQueueCapacity
            var logger = Logger(label: "breakerctl.load")
            logger.logLevel = .error
            options.logger = logger
            if reportTransitions {
                options.onDurableTransitions = { records in
                    FileHandle.standardOutput.write(Data(records.map { JSONOutput.line(DurableTransition($0)) + "\n" }.joined().utf8))
                }
            }
            let owner = try StoreOwner(path: store.path, options: options)
            if config != nil && owner.breaker.configuration != configuration {
                printError(
                    "note: \(store.path) keeps its configuration in force; --config applies to new stores only (change it with `breakerctl configure`)"
                )
            }
            let stats = LoadStats()
            let generator = LoadGenerator(
                breaker: owner.breaker, tenants: tenants, tools: tools, rate: rate, duration: duration, failureRate: failureRate,
                slowRate: slowRate, latencyMs: latencyMs, seed: seed, stats: stats)
            try await owner.run(
                alongside: [.init(service: generator, successTerminationBehavior: .gracefullyShutdownGroup)],
                gracefulShutdownSignals: [.sigterm, .sigint])
            let (appended, durable) = owner.writer.counts
            let health = owner.health
            let dropped = health.droppedCalls == 0 ? "" : "; \(health.droppedCalls) call records could not be kept (recorded as log gaps)"
            let shed = stats.shed.value == 0 ? "" : ", \(stats.shed.value) not started (the machine was behind the rate)"
            printError(
                "load: \(stats.calls.value) calls, \(stats.rejected.value) rejected, \(stats.failed.value) failed or timed out\(shed); \(durable)/\(appended) records durable in \(store.path)\(dropped)"
            )
        }
    }
}

/// A transition `load --report-transitions` prints once it is durable and its call has returned.
struct DurableTransition: Encodable {
    let tenant: String
    let tool: String
    let generation: UInt64
    let to: String

    init(_ r: TransitionRecord) {
        tenant = r.tenant.rawValue
        tool = r.tool.rawValue
        generation = r.generation
        to = r.to.name
    }
}
