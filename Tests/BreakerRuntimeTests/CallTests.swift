import BreakerCore
import BreakerRuntime
import BreakerTestSupport
import Foundation
import InMemoryLogging
import Logging
import MetricsTestKit
import Synchronization
import Testing

struct ConnectionError: Error {}

@Suite struct CallTests {
    let acme = try! TenantID("acme")
    let globex = try! TenantID("globex")
    let search = try! ToolID("web_search")
    let turn = try! TurnID("turn-1")

    @Test func aSuccessfulCallReturnsTheToolsValue() async {
        let breaker = Fixtures.breaker()
        let result = await breaker.call(tenant: acme, tool: search, turn: turn) { 42 }
        #expect(result.value == 42)
    }

    @Test func aThrowingToolGivesTheSignalAndKeepsTheError() async {
        let sink = InMemoryFactSink()
        let breaker = Fixtures.breaker(sink: sink)
        let result = await breaker.call(tenant: acme, tool: search, turn: turn) { () async throws -> Int in
            throw ConnectionError()
        }
        guard case .failed(let signal, let error) = result else {
            Issue.record("expected .failed, got \(result)")
            return
        }
        #expect(signal.reason == "tool_call_exception:ConnectionError")
        #expect(signal.retryAfterSeconds == 0, "the circuit is still closed")
        #expect(error is ConnectionError)
        guard case .call(let record) = sink.events.last else {
            Issue.record("expected a call record")
            return
        }
        #expect(record.outcome == .failure && record.reason == "tool_call_exception:ConnectionError")
    }

    @Test func aRejectedCallDoesNotRunTheToolAndDoesNotThrow() async throws {
        let breaker = Fixtures.breaker()
        try await breaker.forceOpen(tool: search, tenant: acme, hold: true, actor: "oncall", reason: "vendor")
        let ran = Tally()
        let result = await breaker.call(tenant: acme, tool: search, turn: turn) { ran.increment() }
        #expect(ran.value == 0)
        #expect(result.signal?.reason == "forced_open")
        #expect(result.signal?.retryAfterSeconds == 30)
        #expect(result.signal?.status == "tool_unavailable")
    }

    @Test func aHangingToolTimesOutAtTheDeadlineAndItsTaskIsCancelled() async throws {
        let clock = ManualWallClock()
        let sink = InMemoryFactSink()
        let breaker = Fixtures.breaker(
            try BreakerConfiguration(defaults: SettingsOverride(latencyThresholdMs: 2000)), clock: clock, sink: sink)
        let cancelled = Tally()
        // A tool that ignores cancellation entirely: the caller must still be answered.
        let stubborn = Task {
            await breaker.call(tenant: globex, tool: search, turn: turn) { () async -> Int in
                await withTaskCancellationHandler {
                    await withCheckedContinuation { (_: CheckedContinuation<Void, Never>) in }
                } onCancel: {
                    cancelled.increment()
                }
                return 0
            }
        }
        await clock.waitForSleepers(1)
        clock.advance(by: .milliseconds(1999))
        #expect(clock.sleeperCount == 1, "the caller is not answered before the deadline")
        clock.advance(by: .milliseconds(1))
        let result = await stubborn.value
        #expect(result.signal?.reason == "tool_call_timeout")
        #expect(cancelled.value > 0, "the tool's task is cancelled at the deadline")
        let timeouts = sink.events.compactMap { e -> CallRecord? in
            if case .call(let r) = e, r.outcome == .timeout { return r }
            return nil
        }
        #expect(timeouts.contains { $0.tenant == globex && $0.latencyUs == 2_000_000 })
    }

    @Test func aCallerCancellationIsRecordedAsCancelled() async {
        let clock = ManualWallClock()
        let sink = InMemoryFactSink()
        let breaker = Fixtures.breaker(clock: clock, sink: sink)
        let started = Tally()
        let task = Task {
            await breaker.call(tenant: acme, tool: search, turn: turn) { () async throws -> Int in
                started.increment()
                try await clock.sleep(for: .seconds(1))
                return 1
            }
        }
        await clock.waitForSleepers(2)
        task.cancel()
        let result = await task.value
        guard case .cancelled = result else {
            Issue.record("expected .cancelled, got \(result)")
            return
        }
        guard case .call(let record) = sink.events.last else {
            Issue.record("expected a call record")
            return
        }
        #expect(record.outcome == .cancelled)
        #expect(breaker.state(of: BreakerKey(tenant: acme, tool: search))?.window.count == 0)
    }

    @Test func theDegradationSignalHasExactlyTheFieldsOfTheSpec() throws {
        let signal = DegradationSignal(tool: search, reason: .rejected(.circuitOpen), retryAfterMs: 12_001, minimumOneSecond: true)
        let data = try JSONEncoder().encode(signal)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(Set(object.keys) == ["status", "tool_name", "reason", "message", "retry_after_seconds"])
        #expect(object["retry_after_seconds"] as? Int == 13)
        #expect(object["tool_name"] as? String == "web_search")
        #expect(signal.message.contains("temporarily unavailable") && signal.message.contains("Re-plan"))
    }

    @Test(arguments: [
        DegradationSignal.Cause.rejected(.circuitOpen), .rejected(.halfOpenProbeInFlight), .rejected(.forcedOpen),
        .rejected(.awaitingHealthProbe), .timeout, .failure(try! ErrorType("Net:Reset")),
    ])
    func theDegradationSignalReadsBackFromItsOwnJSON(cause: DegradationSignal.Cause) throws {
        let signal = DegradationSignal(tool: search, reason: cause, retryAfterMs: 4_500, minimumOneSecond: true)
        let read = try JSONDecoder().decode(DegradationSignal.self, from: try JSONEncoder().encode(signal))
        #expect(read == signal)
        #expect(read.message == signal.message)
    }

    @Test(arguments: ["circuit_closed", "tool_call_exception:", "tool_call_exception:bad\\u0001"])
    func aSignalWhoseReasonTheSpecCannotWriteIsRefused(reason: String) {
        let json = #"{"status":"tool_unavailable","tool_name":"web_search","reason":"\#(reason)","message":"m","retry_after_seconds":1}"#
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(DegradationSignal.self, from: Data(json.utf8)) }
    }

    @Test(arguments: [(1, 1), (999, 1), (1000, 1), (1001, 2), (0, 1)] as [(Int64, Int64)])
    func retryAfterIsRoundedUpToWholeSecondsAndAtLeastOne(ms: Int64, seconds: Int64) {
        #expect(
            DegradationSignal(tool: search, reason: .rejected(.circuitOpen), retryAfterMs: ms, minimumOneSecond: true).retryAfterSeconds
                == seconds)
    }

    @Test func unavailableToolsAndTheSystemPromptNoteNameTheToolsThatAreDown() async throws {
        let clock = ManualWallClock()
        let breaker = Fixtures.breaker(clock: clock)
        #expect(breaker.systemPromptNote(tenant: acme) == nil)
        try await breaker.forceOpen(tool: search, tenant: acme, hold: false, actor: "oncall", reason: "r")
        try await breaker.forceOpen(tool: try ToolID("crm_api"), tenant: nil, hold: true, actor: "oncall", reason: "r")
        let tools = breaker.unavailableTools(tenant: acme)
        #expect(tools.map(\.tool.rawValue) == ["crm_api", "web_search"])
        #expect(tools.first { $0.tool == search }?.retryAfterSeconds == 30)
        let note = try #require(breaker.systemPromptNote(tenant: acme))
        #expect(note.contains("web_search") && note.contains("crm_api"))
        #expect(breaker.unavailableTools(tenant: globex).map(\.tool.rawValue) == ["crm_api"], "a tool-wide hold covers unseen tenants")
        clock.advance(by: .seconds(31))
        #expect(breaker.unavailableTools(tenant: acme).map(\.tool.rawValue) == ["crm_api"])
    }

    @Test func recordedTimesHoldWhenTheWallClockStepsBack() async {
        let clock = ManualWallClock(start: Timestamp(milliseconds: 1_000_000))
        let sink = InMemoryFactSink()
        let breaker = Fixtures.breaker(clock: clock, sink: sink)
        _ = await breaker.call(tenant: acme, tool: search, turn: turn) { 1 }
        clock.set(to: Timestamp(milliseconds: 500_000))
        _ = await breaker.call(tenant: acme, tool: search, turn: turn) { 1 }
        #expect(sink.events.map(\.time.milliseconds) == [1_000_000, 1_000_000])
        clock.set(to: Timestamp(milliseconds: 1_000_010))
        _ = await breaker.call(tenant: acme, tool: search, turn: turn) { 1 }
        #expect(sink.events.last?.time.milliseconds == 1_000_010)
    }

    @Test func badNamesAreRejectedAndNothingIsRecorded() async {
        let sink = InMemoryFactSink()
        let breaker = Fixtures.breaker(sink: sink)
        await #expect(throws: BreakerError.self) {
            _ = try await breaker.call(tenant: "bad\nname", tool: "web_search", turn: "t") { 1 }
        }
        #expect(sink.events.isEmpty)
    }
}

@Suite struct ObservabilityTests {
    let acme = try! TenantID("acme")
    let search = try! ToolID("web_search")

    @Test func aKeyNotClosedHasItsOwnSeriesAndItsToolCountsEveryKey() async throws {
        let metrics = TestMetrics()
        let clock = ManualWallClock()
        let breaker = CircuitBreaker(
            configuration: try BreakerConfiguration(defaults: SettingsOverride(failureThreshold: 1)), wallClock: clock,
            monotonicClock: clock, logger: Fixtures.silentLogger, metricsFactory: metrics)
        let globex = try TenantID("globex")
        _ = await breaker.call(tenant: globex, tool: search, turn: try TurnID("t")) { 1 }
        _ = await breaker.call(tenant: acme, tool: search, turn: try TurnID("t")) { () async throws -> Int in throw ConnectionError() }
        for _ in 0..<3 { _ = await breaker.call(tenant: acme, tool: search, turn: try TurnID("t")) { 1 } }
        let key = [("tenant_id", "acme"), ("tool_name", "web_search")]
        let tool = [("tool_name", "web_search")]
        func keys(_ state: String) throws -> Double {
            try metrics.expectGauge("agent_circuit_breaker_keys", tool + [("state", state)]).lastValue ?? -1
        }
        #expect(try metrics.expectGauge("agent_circuit_breaker_state", key).lastValue == 2)
        #expect(try metrics.expectCounter("agent_circuit_breaker_blocked_total", key).totalValue == 3)
        #expect(try metrics.expectCounter("agent_circuit_breaker_open_total", tool).totalValue == 1)
        #expect(try metrics.expectCounter("agent_tool_call_blocked_total", tool).totalValue == 3)
        #expect(try metrics.expectTimer("agent_tool_call_latency_seconds", tool).values.count == 2)
        #expect(try keys("open") == 1 && keys("closed") == 1 && keys("half_open") == 0 && keys("forced_open") == 0)
        #expect(breaker.keysWithSeries == 1, "the closed key has no series of its own")
        #expect(throws: (any Error).self) {
            try metrics.expectGauge("agent_circuit_breaker_state", [("tenant_id", "globex"), ("tool_name", "web_search")])
        }

        try await breaker.reset(tenant: acme, tool: search, actor: "a", reason: "r")
        #expect(try metrics.expectCounter("agent_circuit_breaker_recovery_total", tool).totalValue == 1)
        #expect(try keys("open") == 0 && keys("closed") == 2)
        #expect(breaker.keysWithSeries == 0)
        #expect(throws: (any Error).self) { try metrics.expectGauge("agent_circuit_breaker_state", key) }
        #expect(throws: (any Error).self) { try metrics.expectCounter("agent_circuit_breaker_blocked_total", key) }
    }

    @Test func aRebuiltBreakerShowsItsKeysNotClosedAndCountsEveryKey() async throws {
        let clock = ManualWallClock()
        let first = CircuitBreaker(
            configuration: try BreakerConfiguration(defaults: SettingsOverride(failureThreshold: 1)), wallClock: clock,
            monotonicClock: clock, logger: Fixtures.silentLogger)
        _ = await first.call(tenant: try TenantID("globex"), tool: search, turn: try TurnID("t")) { 1 }
        _ = await first.call(tenant: acme, tool: search, turn: try TurnID("t")) { () async throws -> Int in throw ConnectionError() }
        let metrics = TestMetrics()
        let machine = first.machine
        let second = CircuitBreaker(
            machine: machine, wallClock: clock, monotonicClock: clock, logger: Fixtures.silentLogger, metricsFactory: metrics)
        #expect(second.keysWithSeries == 1)
        #expect(
            try metrics.expectGauge("agent_circuit_breaker_state", [("tenant_id", "acme"), ("tool_name", "web_search")]).lastValue == 2)
        let tool = [("tool_name", "web_search")]
        #expect(try metrics.expectGauge("agent_circuit_breaker_keys", tool + [("state", "open")]).lastValue == 1)
        #expect(try metrics.expectGauge("agent_circuit_breaker_keys", tool + [("state", "closed")]).lastValue == 1)
    }

    @Test func oneLogLinePerTransitionAndNonePerRejectedCall() async throws {
        let handler = InMemoryLogHandler()
        let clock = ManualWallClock()
        let breaker = CircuitBreaker(
            configuration: try BreakerConfiguration(defaults: SettingsOverride(failureThreshold: 1)), wallClock: clock,
            monotonicClock: clock, logger: Logger(label: "t", factory: { _ in handler }))
        _ = await breaker.call(tenant: acme, tool: search, turn: try TurnID("t")) { () async throws -> Int in throw ConnectionError() }
        for _ in 0..<50 { _ = await breaker.call(tenant: acme, tool: search, turn: try TurnID("t")) { 1 } }
        #expect(handler.entries.count == 1)
        #expect(handler.entries.first?.metadata["cause"] == "failure_threshold")
    }
}
