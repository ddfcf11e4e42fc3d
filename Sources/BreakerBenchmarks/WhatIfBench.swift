import ArgumentParser
import BreakerCLI
import BreakerCore
import BreakerReports
import BreakerStore
import Foundation

struct WhatIfBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "whatif",
        abstract: "What-if replay time for one candidate and a sweep of 5, against verify, over N records.",
        discussion: """
            Writes N call records over 10 tenants × 5 tools, one every 10 ms, through the runtime and \
            writer (virtual clock; 2% of calls fail, and ten outages of one tool each make circuits \
            open, reject and recover), then on the \
            same store times `verify` (its full replay of the log), a what-if with one candidate \
            (the store's configuration with failureThreshold 3) and a sweep of 5 values of \
            failureThreshold (3, 5, 8, 13, 21), each on a freshly opened store. Prints \
            {"records", "whatif_ms", "sweep5_ms", "verify_ms", "whatif_per_verify", \
            "sweep5_per_whatif"}.
            """)

    @Option(help: "Call records.") var records = 1_000_000

    func run() async throws {
        try await reportingErrors {
            let dir = try BenchStore.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let path = dir + "/whatif.sqlite"
            // 50 keys, each called every 0.5 s; ten outages of one tool each, a tenth of the span apart.
            let span = Int64(records) * 10
            var shape = BenchStore.Shape(records: records, tenants: 10, toolsPerTenant: 5, spanMs: span)
            shape.outages = (every: span / 10, length: span / 100)
            _ = try await BenchStore.build(path: path, shape: shape, crashLike: false, progress: records >= 2_000_000)
            let clock = ContinuousClock()
            var verified = 0
            let verify = try clock.measure {
                let report = try EventStore.openReader(path: path).verify()
                guard report.problems.isEmpty else {
                    throw BreakerError(.storeCorrupt, "the benchmark store does not verify: \(report.problems.first!)")
                }
                verified = report.recordsReplayed
            }
            let base = try EventStore.openReader(path: path).configurationInForce()
            let values = [3, 5, 8, 13, 21]
            let candidates = values.map { v in
                var c = base
                c.defaults.failureThreshold = v
                return c
            }
            var one: [WhatIfResult] = []
            let whatIf = try clock.measure {
                one = try EventStore.openReader(path: path).whatIf(candidates: [candidates[0]], tenant: nil)
            }
            var five: [WhatIfResult] = []
            let sweep = try clock.measure {
                five = try EventStore.openReader(path: path).whatIf(candidates: candidates, tenant: nil)
            }
            // The runs measured something: the recorded rejections were replayed, and the sweep's
            // first candidate is the single run.
            guard one[0].total.callsRejectedRecorded > 0, five.count == 5, five[0].total == one[0].total else {
                throw BreakerError(
                    .storeCorrupt,
                    "the what-if runs disagree or replayed no rejection; the benchmark is invalid (\(one[0].total), \(five.map(\.total)))")
            }
            let ms = { (d: Duration) in LogBench.seconds(d) * 1000 }
            printError(
                "bench: verify replayed \(verified) records; candidate failureThreshold=3: \(one[0].total.callsRejectedCandidate) rejected vs \(one[0].total.callsRejectedRecorded) recorded"
            )
            writeOut(
                "{\"records\":\(records),\"whatif_ms\":\(String(format: "%.1f", ms(whatIf))),\"sweep5_ms\":\(String(format: "%.1f", ms(sweep))),\"verify_ms\":\(String(format: "%.1f", ms(verify))),\"whatif_per_verify\":\(String(format: "%.2f", ms(whatIf) / ms(verify))),\"sweep5_per_whatif\":\(String(format: "%.2f", ms(sweep) / ms(whatIf)))}\n"
            )
        }
    }
}
