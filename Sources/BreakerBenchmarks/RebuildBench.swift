import ArgumentParser
import BreakerCLI
import BreakerCore
import BreakerStore
import Foundation

struct RebuildBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rebuild",
        abstract: "Time to rebuild the state after a crash vs replaying the whole log.",
        discussion: """
            Writes N call records over K keys through the runtime and writer (virtual clock), stops \
            the writer without its final snapshot (as a crash would), then times opening the store \
            and rebuilding from the latest snapshot plus the tail (rebuild_ms) against replaying \
            every record from the start (full_replay_ms), and checks both give the same state. Each \
            figure is the median of 7 (rebuild) and 3 (full replay) timed runs.
            """)

    @Option(help: "Call records.") var records = 1_000_000
    @Option(help: "Keys (tenants × 10 tools).") var keys = 10_000

    func run() async throws {
        try await reportingErrors {
            let dir = try BenchStore.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let path = dir + "/rebuild.sqlite"
            let tools = min(10, keys)
            _ = try await BenchStore.build(
                path: path,
                shape: .init(records: records, tenants: max(1, keys / tools), toolsPerTenant: tools, spanMs: Int64(records) * 20),
                crashLike: true, progress: records >= 2_000_000)
            // Each is timed several times (opening the store included); the median is reported,
            // so one scheduling hiccup on a shared machine does not decide the figure.
            let clock = ContinuousClock()
            var rebuilt: BreakerMachine? = nil
            var tail = 0
            var rebuildTimes: [Duration] = []
            for _ in 0..<7 {
                rebuildTimes.append(
                    try clock.measure {
                        let store = try EventStore.openReader(path: path)
                        let r = try store.rebuild()
                        rebuilt = r.machine
                        tail = r.replayed
                    })
            }
            var replayed: BreakerMachine? = nil
            var replayTimes: [Duration] = []
            for _ in 0..<3 {
                replayTimes.append(try clock.measure { replayed = try EventStore.openReader(path: path).fullReplay().machine })
            }
            let rebuildTime = rebuildTimes.sorted()[rebuildTimes.count / 2]
            let replayTime = replayTimes.sorted()[replayTimes.count / 2]
            guard let rebuilt, let replayed, rebuilt.hasSameDurableState(as: replayed) else {
                throw BreakerError(.storeCorrupt, "rebuild and full replay disagree; the benchmark is invalid")
            }
            writeOut(
                "{\"scenario\":\"rebuild\",\"records\":\(records),\"keys\":\(keys),\"rebuild_ms\":\(String(format: "%.1f", LogBench.seconds(rebuildTime) * 1000)),\"full_replay_ms\":\(String(format: "%.1f", LogBench.seconds(replayTime) * 1000)),\"tail_records\":\(tail)}\n"
            )
        }
    }
}
