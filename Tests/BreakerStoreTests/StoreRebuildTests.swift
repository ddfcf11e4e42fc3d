import BreakerCore
import BreakerOwner
import BreakerReports
import BreakerRuntime
import BreakerTestSupport
import Foundation
import GRDB
import Testing

@testable import BreakerStore

/// Rebuild (SPEC §8): the state rebuilt from a store equals a replay of its log, and an owner continues from it.
@Suite(.temporaryDirectory) struct StoreRebuildTests {
    @Test(arguments: [1, 2, 3, 4, 5] as [UInt64])
    func theRebuiltStateEqualsAReplayFromTheStart(seed: UInt64) async throws {
        let dir = scratchDirectory
        let path = dir + "/s.sqlite"
        let live = try await simulate(
            RandomWorkload.trace(seed: seed, lines: 4000, fleetRate: 0.002), into: path, configuration: RandomWorkload.lively,
            snapshotEvery: 700,
            batchSize: 64)
        let store = try EventStore.openReader(path: path)
        let rebuilt = try store.rebuild()
        let full = try store.fullReplay()
        #expect(rebuilt.replayed < full.replayed, "the rebuild starts from a snapshot")
        #expect(rebuilt.machine.hasSameDurableState(as: full.machine))
        #expect(rebuilt.machine.hasSameDurableState(as: live), "what was durable at close is the live state")
        let report = try store.verify()
        #expect(report.problems.isEmpty, "\(report.problems)")
        #expect(report.transitionsChecked > 20)
    }

    /// Rebuild folds configuration records in log order (SPEC §2): with several changes and
    /// snapshots taken before and after them, the rebuilt state is a full replay's, and verify
    /// re-decides every transition under the configuration in force at its record.
    @Test(arguments: [31, 32, 33] as [UInt64])
    func theRebuiltStateEqualsAReplayAcrossConfigurationChanges(seed: UInt64) async throws {
        let dir = scratchDirectory
        let path = dir + "/s.sqlite"
        // Random changes all along, and one change each between the last two snapshots (after
        // lines 3 600 and 3 900) and after the last: the store keeps its latest two snapshots.
        var lines = RandomWorkload.trace(seed: seed, lines: 4000, configureRate: 0.003).lines
        var rng = SeededGenerator(seed: seed)
        for index in [3950, 3750] {
            let configuration = RandomWorkload.randomConfiguration(
                tenants: (0..<4).map { try! TenantID("tenant-\($0)") }, tools: (0..<3).map { try! ToolID("tool-\($0)") }, using: &rng)
            lines.insert(
                .configure(
                    Trace.TraceConfigure(at: lines[index].at, configuration: configuration, actor: "sre", reason: "retune", line: 0)),
                at: index + 1)
        }
        let live = try await simulate(
            Trace(lines: lines), into: path, configuration: RandomWorkload.lively, batchSize: 64, snapshotEveryLines: 300)
        let (changes, snapshots) = try await DatabaseQueue(path: path).read { db in
            (
                try Int64.fetchAll(db, sql: "SELECT seq FROM config_changes"),
                try Int64.fetchAll(db, sql: "SELECT seq FROM snapshots ORDER BY seq")
            )
        }
        #expect(changes.count >= 4)
        try #require(snapshots.count == 2)
        #expect(changes.contains { $0 > snapshots[0] && $0 < snapshots[1] } && changes.contains { $0 > snapshots[1] })
        let store = try EventStore.openReader(path: path)
        let full = try store.fullReplay()
        #expect(full.machine.hasSameDurableState(as: live))
        #expect(try store.configurationInForce() == live.configuration)
        // From the latest snapshot (the change before it inside it, the one after in the tail) …
        let fromLatest = try store.rebuild()
        #expect(fromLatest.machine.hasSameDurableState(as: full.machine))
        #expect(fromLatest.machine.configuration == live.configuration)
        // … and from the one before (both changes in the tail).
        try await DatabaseQueue(path: path).write { db in
            try db.execute(sql: "DELETE FROM snapshots WHERE seq = ?", arguments: [snapshots[1]])
        }
        let fromEarlier = try EventStore.openReader(path: path).rebuild()
        #expect(fromEarlier.replayed > fromLatest.replayed)
        #expect(fromEarlier.machine.hasSameDurableState(as: full.machine))
        let report = try store.verify()
        #expect(report.problems.isEmpty, "\(report.problems)")
    }

    @Test func aStoreReopenedByItsOwnerContinuesFromTheRebuiltState() async throws {
        let dir = scratchDirectory
        let path = dir + "/s.sqlite"
        let trace = RandomWorkload.trace(seed: 11, lines: 3000)
        let half = trace.lines.count / 2
        _ = try await simulate(Trace(lines: Array(trace.lines[..<half])), into: path, configuration: RandomWorkload.lively)
        let live = try await simulate(Trace(lines: Array(trace.lines[half...])), into: path, configuration: RandomWorkload.lively)
        // One uninterrupted run of the whole trace gives the same state.
        let reference = try await simulate(trace, into: dir + "/whole.sqlite", configuration: RandomWorkload.lively)
        #expect(live.hasSameDurableState(as: reference))
        #expect(try EventStore.openReader(path: path).verify().problems.isEmpty)
    }
}
