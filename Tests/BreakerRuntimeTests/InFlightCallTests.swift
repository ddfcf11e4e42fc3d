import BreakerCore
import BreakerRuntime
import BreakerTestSupport
import Testing

/// A closed circuit rejected a call.
struct NotAdmitted: Error {}

/// The call protocol every adapter uses: begun at an instant of the breaker's monotonic clock,
/// ended with what happened, judged against the deadline it was admitted with.
@Suite struct InFlightCallTests {
    let acme = try! TenantID("acme")
    let search = try! ToolID("web_search")

    /// A breaker whose calls time out after 2 s, on a manual clock, recording into `sink`.
    func breaker() throws -> (clock: ManualWallClock, sink: InMemoryFactSink, breaker: CircuitBreaker) {
        let clock = ManualWallClock()
        let sink = InMemoryFactSink()
        let configuration = try BreakerConfiguration(defaults: SettingsOverride(callTimeoutMs: 2_000))
        return (clock, sink, Fixtures.breaker(configuration, clock: clock, sink: sink))
    }

    /// A call of (acme, web_search) begun now.
    func begun(_ breaker: CircuitBreaker) async throws -> InFlightCall {
        guard case .admitted(let call) = await breaker.begin(tenant: acme, tool: search, turn: try TurnID("t")) else {
            throw NotAdmitted()
        }
        return call
    }

    @Test func anEndBeforeTheDeadlineIsRecordedNowWithTheLatencyFromAdmission() async throws {
        let (clock, sink, breaker) = try breaker()
        let call = try await begun(breaker)
        #expect(call.deadline == call.admitted + .milliseconds(2_000))
        clock.advance(by: .milliseconds(1_999))
        let end = await breaker.end(call, .failure(try ErrorType("ConnectionError")))
        #expect(end.recording.outcome == .failure(errorType: try ErrorType("ConnectionError"), latencyUs: 1_999_000))
        #expect(!end.recording.isTimeout)
        guard case .call(let record)? = sink.events.last else {
            Issue.record("the end is recorded")
            return
        }
        #expect(record.time == clock.now && record.latencyUs == 1_999_000 && record.outcome == .failure)
    }

    @Test func anEndAtOrAfterTheDeadlineIsATimeoutRecordedAtTheDeadline() async throws {
        let (clock, sink, breaker) = try breaker()
        let call = try await begun(breaker)
        let admittedAt = clock.now
        clock.advance(by: .milliseconds(2_000))
        let late = call.recording(.success, at: breaker.monotonicNow())
        #expect(late.isTimeout && late.time == admittedAt.adding(milliseconds: 2_000) && late.latencyUs == 2_000_000)
        clock.advance(by: .milliseconds(5_000))
        let end = await breaker.end(call, .success)
        #expect(end.recording.outcome == .timeout, "a success reported after the deadline is a timeout")
        guard case .call(let record)? = sink.events.last else {
            Issue.record("the end is recorded")
            return
        }
        #expect(record.outcome == .timeout && record.time == admittedAt.adding(milliseconds: 2_000))
    }

    @Test func aCallAbandonedAtItsDeadlineIsATimeoutEvenJustAfterAdmission() async throws {
        let call = try await begun(try breaker().breaker)
        let recording = call.recording(.timeout, at: call.admitted)
        #expect(recording.outcome == .timeout && recording.latencyUs == 2_000_000)
    }
}
