import BreakerCore
import BreakerTestSupport
import Foundation
import Testing

@testable import BreakerStore

/// The writer's bookkeeping is bounded by what is in progress, not by what it ever did: waits (a
/// long-running `serve` makes one or more per call) and the queue's storage after a backlog.
@Suite struct WriterBookkeepingTests {
    /// A writer on a new store in `dir`, not running yet.
    static func writer(in dir: String) throws -> EventLogWriter {
        var options = EventLogWriter.Options()
        options.logger = Fixtures.silentLogger
        return try EventLogWriter(store: try EventStore.openOwner(path: dir + "/s.sqlite"), options: options)
    }

    @Test func anEndArrivingAfterItsWaitFinishedLeavesNothingBehind() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let writer = try Self.writer(in: dir)
        let running = Task { try await writer.run() }
        for _ in 0..<100 {
            #expect(try await writer.waitUntilDurable(timeout: .seconds(5)))
        }
        #expect(writer.waitBookkeeping.open == 0)
        // A wait's timer or cancellation handler may fire after the wait has its answer: here,
        // for every wait made, both kinds of late end.
        for id in UInt64(1)...100 {
            writer.endDurableWait(id, with: .success(false))
            writer.endCapacityWait(id)
        }
        #expect(writer.waitBookkeeping.open == 0)
        #expect(writer.waitBookkeeping.ended == 0)
        writer.close(finalSnapshot: false)
        try await running.value
    }

    @Test func aWaitEndedBeforeItIsRegisteredStillEnds() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let writer = try Self.writer(in: dir)
        // The writer does not run: an appended fact never becomes durable, so the wait ends by
        // its timeout, whether the timer fires before or after the wait registers.
        for i in 0..<20 {
            let t = Timestamp(milliseconds: 1_000 + Int64(i))
            writer.append(keys: [], facts: [.logGap(LogGapRecord(from: t, to: t, dropped: 0))])
            #expect(try await writer.waitUntilDurable(timeout: .milliseconds(1)) == false)
        }
        #expect(writer.waitBookkeeping.open == 0)
        #expect(writer.waitBookkeeping.ended == 0)
    }

    @Test func aDrainedBacklogGivesItsQueueStorageBack() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let writer = try Self.writer(in: dir)
        // A backlog while the writer is not running (a stalled disk, a starved process).
        let backlog = 100_000
        for i in 0..<backlog {
            let t = Timestamp(milliseconds: 1_000_000 + Int64(i))
            writer.append(keys: [], facts: [.logGap(LogGapRecord(from: t, to: t, dropped: 0))])
        }
        #expect(writer.queueCapacity >= backlog)
        let running = Task { try await writer.run() }
        #expect(try await writer.waitUntilDurable(timeout: .seconds(60)))
        #expect(
            writer.queueCapacity <= EventLogWriter.Options().batchSize * 8,
            "room for a few batches, not for the backlog (\(writer.queueCapacity))")
        writer.close(finalSnapshot: false)
        try await running.value
    }
}
