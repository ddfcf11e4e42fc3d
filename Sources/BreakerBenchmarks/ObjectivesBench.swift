import ArgumentParser
import BreakerCLI
import BreakerCore
import BreakerReports
import BreakerStore
import Foundation

struct ObjectivesBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "slo",
        abstract: "Error budget and burn rates for one tenant and for all, over 7 days of N call records.",
        discussion: """
            Writes N call records spread over 100 tenants × 10 tools and 7 days through the runtime \
            and writer (virtual clock; the writer keeps the turn times and hourly rollups), then \
            times `slo` for one tenant and for all (a 30-day objective: six windows each), at a \
            time inside the last hour, each on a freshly opened store. Prints {"records", \
            "one_tenant_ms", "all_tenants_ms"}.
            """)

    @Option(help: "Call records.") var records = 1_000_000

    func run() async throws {
        try await reportingErrors {
            let dir = try BenchStore.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let path = dir + "/slo.sqlite"
            let shape = BenchStore.Shape(records: records, tenants: 100, toolsPerTenant: 10, spanMs: 7 * 86_400_000)
            _ = try await BenchStore.build(path: path, shape: shape, crashLike: false, progress: records >= 2_000_000)
            var configuration = try EventStore.openReader(path: path).configurationInForce()
            configuration.slo = ServiceLevelObjective(objective: 99.5, windowDays: 30)
            // Inside an hour, so every window has edges to read as well as whole hours.
            let at = shape.start.adding(milliseconds: shape.spanMs - 1_234_567)
            let clock = ContinuousClock()
            var one: [ObjectiveStatus] = []
            let oneTime = try clock.measure {
                one = try EventStore.openReader(path: path).objectiveStatuses(
                    tenant: try TenantID("tenant-7"), configuration: configuration, at: at)
            }
            var all: [ObjectiveStatus] = []
            let allTime = try clock.measure {
                all = try EventStore.openReader(path: path).objectiveStatuses(tenant: nil, configuration: configuration, at: at)
            }
            guard one.count == 1, one[0].turns > 0, all.count == 100, all.contains(one[0]) else {
                throw BreakerError(.storeCorrupt, "unexpected statuses (\(one.count), \(all.count)); the benchmark is invalid")
            }
            let ms = { (d: Duration) in String(format: "%.1f", LogBench.seconds(d) * 1000) }
            writeOut("{\"records\":\(records),\"one_tenant_ms\":\(ms(oneTime)),\"all_tenants_ms\":\(ms(allTime))}\n")
        }
    }
}
