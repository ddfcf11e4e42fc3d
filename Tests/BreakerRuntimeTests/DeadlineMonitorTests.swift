import BreakerCore
import BreakerTestSupport
import Testing

@testable import BreakerRuntime

/// Deadlines on the continuous clock, watched by the process's ``DeadlineMonitor`` instead of a
/// timer task per call.
@Suite struct DeadlineMonitorTests {
    /// A body that ignores cancellation and never returns.
    static func never(_ cancelled: Tally) async -> Int {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (_: CheckedContinuation<Void, Never>) in }
        } onCancel: {
            cancelled.increment()
        }
        return 0
    }

    @Test func aCallOnTheContinuousClockIsAnsweredAtItsDeadlineEvenIfTheToolNeverReturns() async throws {
        let sink = InMemoryFactSink()
        let configuration = try BreakerConfiguration(defaults: SettingsOverride(callTimeoutMs: 300))
        let breaker = CircuitBreaker(configuration: configuration, sink: sink, logger: Fixtures.silentLogger)
        let cancelled = Tally()
        let clock = ContinuousClock()
        let started = clock.now
        let result = await breaker.call(tenant: try TenantID("acme"), tool: try ToolID("web_search"), turn: try TurnID("t-1")) {
            await Self.never(cancelled)
        }
        let elapsed = clock.now - started
        #expect(result.signal?.reason == "tool_call_timeout")
        // The tool never returns: an answer at all is the point (a loaded runner can hold the
        // caller's task back for a long time after the deadline, so no upper bound).
        #expect(elapsed >= .milliseconds(300), "not answered before the deadline (\(elapsed))")
        #expect(cancelled.value == 1, "the tool's task is cancelled at the deadline")
        let timeouts = sink.events.filter { if case .call(let r) = $0 { r.outcome == .timeout } else { false } }
        #expect(timeouts.count == 1)
    }

    /// Records when its deadline passed, on the monitor's clock and thread.
    final class Item: Expiring {
        let expiredAt = Locked<Int64?>(nil)
        func expire() { expiredAt.withLock { $0 = DeadlineMonitor.now() } }
        var hasEnded: Bool { expiredAt.withLock { $0 != nil } }
    }

    /// The monitor sleeps until its earliest deadline: one that comes before it must wake it.
    /// (A monitor of its own: other tests' deadlines would wake the shared one. Times are taken
    /// on the monitor's thread, which a busy cooperative pool does not hold back.)
    @Test func aDeadlineEarlierThanTheOthersIsMetWithoutWaitingForThem() async throws {
        let monitor = DeadlineMonitor()
        let long = Item()
        let short = Item()
        monitor.add(long, afterMilliseconds: 3_600_000)
        // Let the monitor go to sleep until the long deadline.
        try await Task.sleep(for: .milliseconds(50))
        let added = DeadlineMonitor.now()
        monitor.add(short, afterMilliseconds: 100)
        let clock = ContinuousClock()
        let started = clock.now
        while !short.hasEnded && clock.now - started < .seconds(60) { try await Task.sleep(for: .milliseconds(5)) }
        let expiredAt = try #require(short.expiredAt.withLock { $0 }, "the 100 ms deadline never passed")
        let waitedMs = (expiredAt - added) / 1_000_000
        #expect(waitedMs >= 100, "not before its deadline (\(waitedMs) ms)")
        #expect(waitedMs < 3_000, "the 100 ms deadline did not wait for the hour-long one (\(waitedMs) ms)")
        #expect(!long.hasEnded)
        #expect(monitor.wakeups < 20, "the monitor sleeps between deadlines (\(monitor.wakeups) wake-ups)")
    }

    /// Races that end long before their deadline leave the heap: at most about twice the calls
    /// in flight stay, not one entry per call until its deadline passes.
    @Test func racesThatEndEarlyDoNotPileUpUntilTheirDeadlines() async {
        for i in 0..<20_000 {
            let result = await RaceBox.run(timeoutMs: 600_000, clock: ContinuousClock(), monitored: true) {}
            guard case .returned = result else {
                Issue.record("race \(i) ended as \(result)")
                return
            }
        }
        // Other tests may have races in flight; 20 000 entries would remain without the cleanup.
        #expect(DeadlineMonitor.shared.pending < 5_000, "\(DeadlineMonitor.shared.pending) deadlines pending")
    }
}
