import BreakerCore
import BreakerRuntime
import BreakerTestSupport
import Foundation
import GRDB
import Testing

@testable import BreakerStore

/// SPEC §8 with log failures: the store fills and frees at random moments while a random
/// workload runs, the writer drops call records into gaps, and snapshots are taken as an owner
/// takes them — yet the live machine, the rebuild from the latest snapshot and a full replay of
/// the log hold the same state, and `verify` finds nothing wrong.
@Suite(.temporaryDirectory) struct GapRebuildTests {
    /// A writer and breaker over a store in `dir`, wired as an owner wires them.
    final class Rig: @unchecked Sendable {
        // Safety: every property is set once in `init` and only read afterwards.
        let path: String
        let store: EventStore
        let writer: EventLogWriter
        let breaker: CircuitBreaker
        let clock = ManualWallClock()

        init(dir: String, capacity: Int = 40, snapshotEvery: Int = 150) throws {
            path = dir + "/s.sqlite"
            store = try EventStore.openOwner(path: path, configuration: RandomWorkload.lively)
            var options = EventLogWriter.Options()
            options.capacity = capacity
            options.dropsWhenFull = true
            options.batchSize = 16
            options.snapshotEvery = snapshotEvery
            options.retryInterval = .milliseconds(2)
            options.maxRetryInterval = .milliseconds(10)
            options.logger = Fixtures.silentLogger
            writer = try EventLogWriter(store: store, options: options)
            breaker = CircuitBreaker(
                machine: writer.rebuilt, wallClock: clock, monotonicClock: clock, sink: writer, logger: Fixtures.silentLogger)
            writer.machineAccess = { [weak breaker] body in breaker?.withMachineCopy(body) }
        }

        /// Caps the store at the pages it has (`full`) or lifts the cap, on the writer's connection.
        func setFull(_ full: Bool) throws {
            try store.db.writeWithoutTransaction { db in
                try db.execute(sql: full ? "PRAGMA max_page_count = 1" : "PRAGMA max_page_count = 1000000")
            }
        }

        /// Waits, off the cooperative pool, until the writer's health is `failing`.
        func waitUntil(failing: Bool, seconds: Double) -> Bool {
            let deadline = Date().addingTimeInterval(seconds)
            while writer.health.failing != failing {
                if Date() >= deadline { return false }
                Thread.sleep(forTimeInterval: 0.002)
            }
            return true
        }
    }

    /// Runs `body` on a thread of its own: the simulation blocks while it waits for the writer,
    /// which runs on the cooperative pool.
    static func onThread(_ body: @escaping @Sendable () throws -> Void) async throws {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
            Thread {
                do {
                    try body()
                    c.resume()
                } catch {
                    c.resume(throwing: error)
                }
            }.start()
        }
    }

    /// The log replayed from its start through record `seq`.
    static func replay(_ reader: EventStore, through seq: Int64) throws -> BreakerMachine {
        let base = try reader.replayBase()
        var machine = base.machine
        try reader.forEachEvent(EventFilter(afterSeq: base.seq, turnNames: false)) { e in
            if e.seq <= seq { machine.fold(machine.fact(of: e.event)) }
        }
        return machine
    }

    /// The state the snapshot at `seq` holds, without the records after it.
    static func snapshot(_ reader: EventStore, at seq: Int64) throws -> BreakerMachine {
        let data = try reader.read { db in try Data.fetchOne(db, sql: "SELECT data FROM snapshots WHERE seq = ?", arguments: [seq]) }
        var machine = try reader.replayBase().machine
        machine.restore(try BreakerMachine.Snapshot(decoding: [UInt8](try #require(data))))
        return machine
    }

    @Test(arguments: [41, 42, 43, 44] as [UInt64])
    func liveRebuildAndReplayAgreeThroughRandomLogFailures(seed: UInt64) async throws {
        let dir = scratchDirectory
        let rig = try Rig(dir: dir)
        let running = Task { try await rig.writer.run() }
        let trace = RandomWorkload.trace(seed: seed, lines: 6_000, operatorRate: 0.004, fleetRate: 0.002)
        let failures = Locked(0)
        try await Self.onThread {
            var rng = SeededGenerator(seed: seed)
            var full = false
            Simulation(breaker: rig.breaker, clock: rig.clock).run(trace, progressEvery: 150) { _, _ in
                // The disk fills or frees at random; while full, the queue fills and calls are dropped.
                guard Int.random(in: 0..<3, using: &rng) == 0 else { return }
                full.toggle()
                try? rig.setFull(full)
                if rig.waitUntil(failing: full, seconds: 10), full { failures.withLock { $0 += 1 } }
            }
            try rig.setFull(false)
            #expect(rig.waitUntil(failing: false, seconds: 60), "the writer resumes once the store has room")
        }
        // Half the runs leave the log as a crash would, so the rebuild starts from a snapshot
        // taken while the workload ran, not from the final one.
        let finalSnapshot = seed % 2 == 0
        rig.writer.close(finalSnapshot: finalSnapshot)
        try await running.value

        let reader = try EventStore.openReader(path: rig.path)
        let gaps = try reader.logGaps()
        // Whether the writer was seen failing at the moment the test looked depends on the
        // machine's load; its count of failed writes does not.
        // Calls are dropped only while the store is full: a drop says it filled, whatever the
        // load let the test see at the moment it looked.
        #expect(
            failures.withLock { $0 } > 0 || rig.writer.health.droppedCalls > 0,
            "the store must fill at least once (\(failures.withLock { $0 }) fills seen at once)")
        #expect(!gaps.isEmpty && rig.writer.health.droppedCalls > 0, "the workload must drop call records into gaps")
        #expect(gaps.reduce(0) { $0 + $1.dropped } == Int64(rig.writer.health.droppedCalls))
        let replay = try reader.fullReplay().machine
        let rebuiltIsReplay = try reader.rebuild().machine.hasSameDurableState(as: replay)
        let liveIsReplay = rig.breaker.machine.hasSameDurableState(as: replay)
        #expect(rebuiltIsReplay, "the rebuild from the latest snapshot equals a full replay")
        #expect(liveIsReplay, "the live machine equals a full replay of what the log kept")
        // Each snapshot the store keeps (its last two) leads there too, whether or not the rebuild
        // would start from it.
        let snapshots = try reader.read { db in try Int64.fetchAll(db, sql: "SELECT seq FROM snapshots ORDER BY seq") }
        #expect(snapshots.count == 2, "the workload must take snapshots")
        for seq in snapshots {
            let same = try reader.rebuild(fromSnapshotAt: seq).machine.hasSameDurableState(as: replay)
            #expect(same, "the rebuild from the snapshot at seq \(seq) equals a full replay")
            // A crash may end the log right after any snapshot: it must hold what the log holds.
            let exact = try Self.snapshot(reader, at: seq).hasSameDurableState(as: try Self.replay(reader, through: seq))
            #expect(exact, "the snapshot at seq \(seq) is the replay of the log up to it")
        }
        let report = try reader.verify()
        #expect(report.problems.isEmpty, "\(report.problems)")
    }
}
