import BreakerCore
import BreakerTestSupport
import Foundation
import Testing

@testable import BreakerStore

/// The writer's waits leave nothing behind: what it keeps for them is bounded by the waits in
/// progress, not by the waits ever made (a long-running `serve` makes one or more per call).
@Suite struct WriterWaitTests {
    @Test func anEndArrivingAfterItsWaitFinishedLeavesNothingBehind() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var options = EventLogWriter.Options()
        options.logger = Fixtures.silentLogger
        let writer = try EventLogWriter(store: try EventStore.openOwner(path: dir + "/s.sqlite"), options: options)
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
        var options = EventLogWriter.Options()
        options.logger = Fixtures.silentLogger
        let writer = try EventLogWriter(store: try EventStore.openOwner(path: dir + "/s.sqlite"), options: options)
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
}
