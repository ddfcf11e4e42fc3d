import ArgumentParser
import BreakerCLI
import BreakerCore
import BreakerReports
import BreakerStore
import Foundation

struct ReportBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "SLA report time for one tenant and for all, over 7 days of N call records.",
        discussion: """
            Writes N call records spread over 100 tenants × 10 tools and 7 days through the runtime \
            and writer (virtual clock; the writer maintains the hourly rollups as it logs), then \
            times the SLA report for one tenant and for all tenants over the 7 days (168 hours each), \
            each on a freshly opened store.
            """)

    @Option(help: "Call records.") var records = 1_000_000

    func run() async throws {
        try await reportingErrors {
            let dir = try BenchStore.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let path = dir + "/report.sqlite"
            let shape = BenchStore.Shape(records: records, tenants: 100, toolsPerTenant: 10, spanMs: 7 * 86_400_000)
            _ = try await BenchStore.build(path: path, shape: shape, crashLike: false, progress: records >= 2_000_000)
            let from = shape.start.hourStart
            let to = from.adding(milliseconds: 7 * 86_400_000)
            let clock = ContinuousClock()
            var oneRows = 0
            let one = try clock.measure {
                let store = try EventStore.openReader(path: path)
                oneRows = try store.slaReport(tenant: try TenantID("tenant-7"), from: from, to: to).rows.count
            }
            var allRows = 0
            let all = try clock.measure {
                let store = try EventStore.openReader(path: path)
                allRows = try store.slaReport(tenant: nil, from: from, to: to).rows.count
            }
            guard oneRows == 168, allRows == 16_800 else {
                throw BreakerError(.storeCorrupt, "unexpected report size (\(oneRows), \(allRows)); the benchmark is invalid")
            }
            writeOut(
                "{\"scenario\":\"report\",\"records\":\(records),\"one_tenant_7d_ms\":\(String(format: "%.1f", LogBench.seconds(one) * 1000)),\"all_tenants_7d_ms\":\(String(format: "%.1f", LogBench.seconds(all) * 1000))}\n"
            )
        }
    }
}
