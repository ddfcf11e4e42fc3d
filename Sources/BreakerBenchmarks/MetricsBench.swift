import ArgumentParser
import BreakerCLI
import BreakerCore
import BreakerRuntime
import BreakerServe
import CoreMetrics
import Foundation
import Logging

/// A metrics registry of its own, as `serve` makes (for `bench keys --prometheus`).
enum PrometheusBench {
    static func factory() -> any MetricsFactory { MetricsRegistry() }
}

/// What a key's metric series cost to make and destroy, with few and with many series already
/// registered: a ratio near 1 means the cost does not grow with the keys of the node.
struct MetricsBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metrics",
        abstract: "Cost of making and destroying a key's metric series, with few and with many keys registered.",
        discussion: """
            Makes and destroys the five series of --keys keys (as a key's first call and the idle \
            sweep do) in `serve`'s registry, once holding the series of 1 000 other keys and once \
            holding those of --registered other keys, and prints the time per key of each and \
            their ratio.
            """)

    @Option(help: "Keys whose series are made and destroyed.") var keys = 10_000
    @Option(help: "Other keys registered in the large run.") var registered = 200_000

    func validate() throws {
        guard (100...1_000_000).contains(keys) else { throw ValidationError("--keys must be from 100 to 1000000") }
        guard (1_000...10_000_000).contains(registered) else { throw ValidationError("--registered must be from 1000 to 10000000") }
    }

    func run() throws {
        let small = Self.nanosecondsPerKey(registered: 1_000, keys: keys)
        let large = Self.nanosecondsPerKey(registered: registered, keys: keys)
        print(
            "{\"scenario\":\"metrics\",\"keys\":\(keys),\"ns_per_key_1000_registered\":\(Int(small)),\"ns_per_key_\(registered)_registered\":\(Int(large)),\"ratio\":\(String(format: "%.2f", large / small))}"
        )
    }

    /// Make and destroy the series of `keys` keys in a registry holding those of `registered` others.
    static func nanosecondsPerKey(registered: Int, keys: Int) -> Double {
        let registry = MetricsRegistry()
        let tool = try! ToolID("web_search")
        let others = (0..<registered).map {
            KeyMetrics(key: BreakerKey(tenant: try! TenantID("other-\($0)"), tool: tool), factory: registry)
        }
        let measured = (0..<keys).map { BreakerKey(tenant: try! TenantID("tenant-\($0)"), tool: tool) }
        let start = ContinuousClock.now
        for key in measured { KeyMetrics(key: key, factory: registry).destroy(in: registry) }
        let elapsed = ContinuousClock.now - start
        withExtendedLifetime(others) {}
        return (Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9) / Double(keys)
    }
}

/// What one `/metrics` scrape costs with many keys active: every key called in the last minute,
/// some of them not CLOSED (the only keys with series of their own).
struct ScrapeBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scrape",
        abstract: "Size and time of a /metrics scrape with many keys active, some of them open.",
        discussion: """
            Calls each of --keys keys (tenants × --tools tools) once through a breaker whose \
            metrics go to `serve`'s registry, then fails --open of them so that their circuits \
            open, and renders the scrape --runs times. Prints the series, the bytes of one scrape \
            and the median time to render it.
            """)

    @Option(help: "Keys called (all active within the last minute).") var keys = 500_000
    @Option(help: "Tools the keys are spread over.") var tools = 10
    @Option(help: "Keys whose circuits are opened (the outage of one tool in ten, by default).") var open = 50_000
    @Option(help: "Scrapes rendered (the median is printed).") var runs = 5

    func validate() throws {
        guard (1...10_000_000).contains(keys) else { throw ValidationError("--keys must be from 1 to 10000000") }
        guard (1...1_000).contains(tools), keys % tools == 0 else {
            throw ValidationError("--tools must be from 1 to 1000 and divide --keys")
        }
        guard (0...keys).contains(open) else { throw ValidationError("--open must be from 0 to --keys") }
        guard (1...100).contains(runs) else { throw ValidationError("--runs must be from 1 to 100") }
    }

    func run() throws {
        let registry = MetricsRegistry()
        let clock = ManualWallClock()
        let breaker = CircuitBreaker(
            configuration: try BreakerConfiguration(defaults: SettingsOverride(failureThreshold: 1)), wallClock: clock,
            monotonicClock: clock, logger: Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() }), metricsFactory: registry)
        let toolIDs = try (0..<tools).map { try ToolID("tool-\($0)") }
        let tenants = keys / tools
        let turn = try TurnID("t")
        // Tool-major order: the opened keys are the first tools' keys, as in an outage of those tools.
        for (o, tool) in toolIDs.enumerated() {
            for t in 0..<tenants {
                guard case .admitted(let permit) = breaker.admit(tenant: try TenantID("tenant-\(t)"), tool: tool, turn: turn) else {
                    throw ValidationError("a new key did not admit its call")
                }
                let failing = o * tenants + t < open
                _ = breaker.complete(
                    permit, failing ? .failure(errorType: try ErrorType("E"), latencyUs: 1_000) : .success(latencyUs: 1_000))
            }
        }
        var times: [Double] = []
        var bytes = 0
        for _ in 0..<runs {
            let start = ContinuousClock.now
            let scrape = registry.emitted()
            let elapsed = ContinuousClock.now - start
            bytes = scrape.count
            times.append(Double(elapsed.components.seconds) * 1e3 + Double(elapsed.components.attoseconds) / 1e15)
        }
        let median = times.sorted()[times.count / 2]
        print(
            "{\"scenario\":\"scrape\",\"keys\":\(keys),\"open\":\(open),\"series\":\(registry.seriesCount),\"scrape_bytes\":\(bytes),\"scrape_ms\":\(String(format: "%.1f", median))}"
        )
    }
}
