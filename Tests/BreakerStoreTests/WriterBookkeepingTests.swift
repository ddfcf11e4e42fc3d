import BreakerCore
import BreakerOwner
import BreakerReports
import BreakerRuntime
import BreakerTestSupport
import Foundation
import Testing

@testable import BreakerStore

/// The writer's bookkeeping is bounded by what is in progress, not by what it ever did: waits (a
/// long-running `serve` makes one or more per call) and the queue's storage after a backlog.
@Suite(.temporaryDirectory) struct WriterBookkeepingTests {
    /// A writer on a new store in `dir`, not running yet.
    static func writer(in dir: String) throws -> EventLogWriter {
        var options = EventLogWriter.Options()
        options.logger = Fixtures.silentLogger
        return try EventLogWriter(store: try EventStore.openOwner(path: dir + "/s.sqlite"), options: options)
    }

    @Test func anEndArrivingAfterItsWaitFinishedLeavesNothingBehind() async throws {
        let dir = scratchDirectory
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
        let dir = scratchDirectory
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
        let dir = scratchDirectory
        let writer = try Self.writer(in: dir)
        // A backlog while the writer is not running (a stalled disk, a starved process).
        let backlog = 100_000
        for i in 0..<backlog {
            let t = Timestamp(milliseconds: 1_000_000 + Int64(i))
            writer.append(keys: [], facts: [.logGap(LogGapRecord(from: t, to: t, dropped: 0))])
        }
        #expect(writer.queueCapacity >= backlog)
        let running = Task { try await writer.run() }
        // 100 000 records take well over a minute under ThreadSanitizer on two cores.
        #expect(try await writer.waitUntilDurable(timeout: .seconds(300)))
        #expect(
            writer.queueCapacity <= EventLogWriter.Options().batchSize * 8,
            "room for a few batches, not for the backlog (\(writer.queueCapacity))")
        writer.close(finalSnapshot: false)
        try await running.value
    }

    /// The writer's turn bookkeeping holds recent turns only, however many turns are made; a turn
    /// that goes on after it left the cache is still counted once, with all its flags.
    @Test func theWritersTurnCacheIsBoundedAndATurnThatGoesOnIsStillCountedOnce() async throws {
        let dir = scratchDirectory
        let clock = ManualWallClock(start: Timestamp(milliseconds: 1_795_852_800_000))
        var options = StoreOwner.Options()
        options.logger = Fixtures.silentLogger
        options.runsProber = false
        options.appliesInbox = false
        options.wallClock = clock
        let owner = try StoreOwner(path: dir + "/s.sqlite", options: options)
        let acme = try TenantID("acme")
        let tool = try ToolID("web_search")
        let t0 = clock.now
        try await owner.withWriter { breaker in
            func call(_ turn: String, at ms: Int64, fail: Bool = false) throws {
                guard
                    case .admitted(let p) = breaker.admit(tenant: acme, tool: tool, turn: try TurnID(turn), at: t0.adding(milliseconds: ms))
                else { return }
                let outcome: CallOutcome = fail ? .failure(errorType: try ErrorType("E"), latencyUs: 1) : .success(latencyUs: 1)
                _ = breaker.complete(p, outcome, at: t0.adding(milliseconds: ms))
            }
            try call("long-turn", at: 0)
            // Half an hour of one new turn a second.
            for s in 1..<1800 { try call("turn-\(s)", at: Int64(s) * 1000) }
            try call("long-turn", at: 1_800_500, fail: true)
            try await breaker.flush()
        }
        #expect(owner.writer.cachedTurns <= 400, "five minutes of turns, not half an hour: \(owner.writer.cachedTurns)")
        let report = try EventStore.openReader(path: dir + "/s.sqlite").slaReport(tenant: acme)
        #expect(report.rows.map(\.turns).reduce(0, +) == 1800, "1800 turns, the long one once")
        #expect(report.rows.map(\.turnsDegraded).reduce(0, +) == 1, "the long turn's later failure degrades it")
    }
}
