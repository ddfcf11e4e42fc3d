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
        #expect(elapsed >= .milliseconds(300), "not answered before the deadline (\(elapsed))")
        // The tool never returns: an answer at all is the point; the bound only keeps a loaded
        // (or sanitized) run from failing on scheduling delays.
        #expect(elapsed < .seconds(60), "answered at the deadline, not when the tool returns (\(elapsed))")
        #expect(cancelled.value == 1, "the tool's task is cancelled at the deadline")
        let timeouts = sink.events.filter { if case .call(let r) = $0 { r.outcome == .timeout } else { false } }
        #expect(timeouts.count == 1)
    }

    /// Records when its deadline passed.
    final class Item: Expiring {
        let expired = Tally()
        func expire() { expired.increment() }
        var hasEnded: Bool { expired.value > 0 }
    }

    /// The monitor sleeps until its earliest deadline: one that comes before it must wake it.
    /// (A monitor of its own: other tests' deadlines would wake the shared one.)
    @Test func aDeadlineEarlierThanTheOthersIsMetWithoutWaitingForThem() async throws {
        let monitor = DeadlineMonitor()
        let long = Item()
        let short = Item()
        monitor.add(long, afterMilliseconds: 60_000)
        // Let the monitor go to sleep until the long deadline.
        try await Task.sleep(for: .milliseconds(50))
        let clock = ContinuousClock()
        let started = clock.now
        monitor.add(short, afterMilliseconds: 100)
        while short.expired.value == 0 && clock.now - started < .seconds(3) { try await Task.sleep(for: .milliseconds(5)) }
        let elapsed = clock.now - started
        #expect(short.expired.value == 1, "the 100 ms deadline did not wait for the 60 s one (\(elapsed))")
        #expect(elapsed >= .milliseconds(100), "not before its deadline (\(elapsed))")
        #expect(long.expired.value == 0)
        #expect(monitor.wakeups < 20, "the monitor sleeps between deadlines (\(monitor.wakeups) wake-ups)")
    }

    /// Races that end long before their deadline leave the heap: at most about twice the calls
    /// in flight stay, not one entry per call until its deadline passes.
    @Test func racesThatEndEarlyDoNotPileUpUntilTheirDeadlines() async {
        for i in 0..<20_000 {
            let result = await Race<Int>.run(timeoutMs: 600_000, clock: ContinuousClock()) { i }
            guard case .value(let v) = result, v == i else {
                Issue.record("race \(i) ended as \(result)")
                return
            }
        }
        // Other tests may have races in flight; 20 000 entries would remain without the cleanup.
        #expect(DeadlineMonitor.shared.pending < 5_000, "\(DeadlineMonitor.shared.pending) deadlines pending")
    }
}
