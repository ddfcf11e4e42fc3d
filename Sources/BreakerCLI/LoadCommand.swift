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
            Calls arrive at --rate per second for --duration seconds, spread over --tenants × --tools
            keys, in turns of 1–5 calls. A --failure-rate share of calls throw, a --slow-rate share
            hang past the call timeout. Every outcome and transition is logged durably; operator
            actions given with `breakerctl force-open|release|reset` meanwhile take effect within a
            second. SIGTERM or SIGINT stops it cleanly: in-flight calls finish, everything is
            flushed, a final snapshot is written.

            Example:
              breakerctl load --tenants 20 --tools 5 --rate 500 --duration 60 --failure-rate 0.05 --db load.sqlite

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
                    var lines = ""
                    for r in records {
                        lines +=
                            "{\"tenant\":\(JSONValue.quote(r.tenant.rawValue)),\"tool\":\(JSONValue.quote(r.tool.rawValue)),\"generation\":\(r.generation),\"to\":\"\(r.to.rawValue)\"}\n"
                    }
                    FileHandle.standardOutput.write(Data(lines.utf8))
                }
            }
            let owner = try StoreOwner(path: store.path, options: options)
            if config != nil && owner.store.configuration != configuration {
                printError("note: \(store.path) keeps the configuration it was created with; --config applies to new stores only")
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
            printError(
                "load: \(stats.calls.value) calls, \(stats.rejected.value) rejected, \(stats.failed.value) failed or timed out; \(durable)/\(appended) records durable in \(store.path)\(dropped)"
            )
        }
    }
}

/// Counts for the load's progress lines.
final class LoadStats: Sendable {
    let calls = Atomic<Int>(0)
    let rejected = Atomic<Int>(0)
    let failed = Atomic<Int>(0)
}

extension Atomic where Value == Int {
    var value: Int { load(ordering: .relaxed) }
    func bump() { add(1, ordering: .relaxed) }
}

struct SimulatedToolError: Error {}

/// Generates calls at a steady rate until the duration ends or shutdown begins.
struct LoadGenerator: Service {
    let breaker: CircuitBreaker
    let tenants: Int
    let tools: Int
    let rate: Double
    let duration: Double
    let failureRate: Double
    let slowRate: Double
    let latencyMs: Int
    let seed: UInt64
    let stats: LoadStats

    func run() async throws {
        let tenantIDs = try (0..<tenants).map { try TenantID("tenant-\($0)") }
        let toolIDs = try (0..<tools).map { try ToolID("tool-\($0)") }
        let clock = ContinuousClock()
        let start = clock.now
        let end = start.advanced(by: .milliseconds(Int64(duration * 1000)))
        var rng = SeededGenerator(seed: seed)
        var issued = 0
        var turnCounter = [Int](repeating: 0, count: tenants)
        var lastProgress = start
        let slowSleep = Duration.milliseconds(breaker.configuration.settings(tenant: "tenant-0", tool: "tool-0").callTimeoutMs * 2)
        await withDiscardingTaskGroup { group in
            while !Task.isShuttingDownGracefully && !Task.isCancelled {
                let now = clock.now
                if now >= end { break }
                let due = Int(
                    Double(start.duration(to: now).components.seconds) * rate
                        + Double(start.duration(to: now).components.attoseconds) / 1e18 * rate)
                while issued < due {
                    issued += 1
                    let t = Int(rng.next() % UInt64(tenants))
                    let o = Int(rng.next() % UInt64(tools))
                    turnCounter[t] += 1
                    let turn = try! TurnID("turn-\(t)-\(turnCounter[t] / 3)")
                    let roll = Double(rng.next() % 1_000_000) / 1_000_000
                    let fail = roll < failureRate
                    let slow = !fail && roll < failureRate + slowRate
                    let latency = Duration.milliseconds(latencyMs)
                    let breaker = self.breaker
                    let stats = self.stats
                    let tenant = tenantIDs[t]
                    let tool = toolIDs[o]
                    group.addTask {
                        let result = await breaker.call(tenant: tenant, tool: tool, turn: turn) { () async throws -> Int in
                            try await Task.sleep(for: slow ? slowSleep : latency)
                            if fail { throw SimulatedToolError() }
                            return 1
                        }
                        stats.calls.bump()
                        switch result {
                        case .unavailable(let s) where s.reason != "tool_call_timeout": stats.rejected.bump()
                        case .unavailable, .failed: stats.failed.bump()
                        case .success, .cancelled: break
                        }
                    }
                }
                if lastProgress.duration(to: now) >= .seconds(5) {
                    lastProgress = now
                    printError("load: \(stats.calls.value) calls so far, \(stats.rejected.value) rejected")
                }
                try? await clock.sleep(for: .milliseconds(5))
            }
        }
    }
}
