import ArgumentParser
import BreakerCLI
import BreakerCore
import BreakerRuntime
import BreakerServe
import CoreMetrics
import Foundation

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
            Makes and destroys the five series of --keys keys (as a key's first call and the idle
            sweep do) in `serve`'s registry, once holding the series of 1 000 other keys and once
            holding those of --registered other keys, and prints the time per key of each and
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
