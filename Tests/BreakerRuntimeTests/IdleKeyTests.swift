import BreakerCore
import BreakerRuntime
import BreakerTestSupport
import Metrics
import MetricsTestKit
import Testing

/// Idle keys give back their memory (window buffers, metric handles) and come back exactly as a
/// replay of the log has them.
@Suite struct IdleKeyTests {
    let acme = try! TenantID("acme")
    let globex = try! TenantID("globex")
    let search = try! ToolID("web_search")
    let boom = try! ErrorType("VendorError")

    func call(_ b: CircuitBreaker, _ tenant: TenantID, fail: Bool, at t: Timestamp, turn: String = "t") throws {
        guard case .admitted(let p) = b.admit(tenant: tenant, tool: search, turn: try TurnID(turn), at: t) else {
            Issue.record("a closed circuit admits")
            return
        }
        _ = b.complete(p, fail ? .failure(errorType: boom, latencyUs: 1_000) : .success(latencyUs: 1_000), at: t)
    }

    @Test func anIdleKeyKeepsItsWindowEntriesSoALongerWindowLaterCountsThemAsAReplayDoes() throws {
        let clock = ManualWallClock()
        let sink = InMemoryFactSink()
        let initial = try BreakerConfiguration(defaults: SettingsOverride(failureThreshold: 5, windowMs: 60_000))
        let breaker = Fixtures.breaker(initial, clock: clock, sink: sink)
        let t0 = clock.now
        // 30 successes grow the window's buffer to 32 entries; a minute on, four failures drop
        // them (the buffer halves as it empties, to 8).
        for i in 0..<30 { try call(breaker, acme, fail: false, at: t0.adding(milliseconds: Int64(i))) }
        for i in 0..<4 { try call(breaker, acme, fail: true, at: t0.adding(milliseconds: 61_000 + Int64(i))) }
        clock.set(to: t0.adding(milliseconds: 61_010))
        let before = breaker.state(of: BreakerKey(tenant: acme, tool: search))
        let bufferBefore = breaker.machine.windowBufferBytes
        clock.advance(by: .seconds(120))
        #expect(breaker.releaseIdleKeys() == 1)
        #expect(breaker.machine.windowBufferBytes < bufferBefore, "the buffer is cut to the entries")
        #expect(breaker.state(of: BreakerKey(tenant: acme, tool: search)) == before, "nothing about the key changes")
        // A longer window now reaches back to the four old failures: one more opens the circuit.
        let longer = try BreakerConfiguration(defaults: SettingsOverride(failureThreshold: 5, windowMs: 600_000))
        breaker.configure(longer, actor: "sre", reason: "longer window")
        try call(breaker, acme, fail: true, at: clock.now)
        #expect(breaker.status(of: BreakerKey(tenant: acme, tool: search))?.state == .open)
        let replayed = BreakerMachine.replaying(sink.events, configuration: initial)
        #expect(breaker.machine.hasSameDurableState(as: replayed))
    }

    @Test func anIdleKeyComesBackWithItsGenerationAndATenantsSignalStillCoversIt() throws {
        let clock = ManualWallClock()
        let sink = InMemoryFactSink()
        let configuration = try BreakerConfiguration(
            defaults: SettingsOverride(failureThreshold: 2, successThreshold: 1, openTimeoutMs: 1_000))
        let breaker = Fixtures.breaker(configuration, clock: clock, sink: sink)
        let key = BreakerKey(tenant: globex, tool: search)
        try call(breaker, globex, fail: true, at: clock.now)
        try call(breaker, globex, fail: true, at: clock.now)
        clock.advance(by: .seconds(2))
        try call(breaker, globex, fail: false, at: clock.now)  // the probe closes it: generation 3
        #expect(breaker.status(of: key)?.generation == 3)
        clock.advance(by: .seconds(120))
        #expect(breaker.releaseIdleKeys() == 1)
        #expect(breaker.status(of: key)?.generation == 3 && breaker.status(of: key)?.state == .closed)
        breaker.apply(OperatorAction(.forceOpenHold(.allTenants), tool: search, actor: "oncall", reason: "vendor outage"))
        guard case .rejected(let r) = breaker.admit(tenant: globex, tool: search, turn: try TurnID("t2")) else {
            Issue.record("a tool-wide hold covers the idle key")
            return
        }
        #expect(r.reason == .forcedOpen)
        #expect(breaker.status(of: key)?.generation == 4)
        #expect(breaker.machine.hasSameDurableState(as: BreakerMachine.replaying(sink.events, configuration: configuration)))
    }

    @Test func aKeyInFlightOrStillInItsWindowOrOpenIsNotIdle() throws {
        let clock = ManualWallClock()
        let configuration = try BreakerConfiguration(defaults: SettingsOverride(failureThreshold: 1, windowMs: 60_000))
        let breaker = Fixtures.breaker(configuration, clock: clock)
        try call(breaker, acme, fail: false, at: clock.now)  // recent: in its window
        guard case .admitted = breaker.admit(tenant: globex, tool: search, turn: try TurnID("t"), at: clock.now) else {
            Issue.record("admitted")
            return
        }
        try call(breaker, try TenantID("initech"), fail: true, at: clock.now)  // opens
        #expect(breaker.releaseIdleKeys() == 0)
        clock.advance(by: .seconds(120))
        // acme is idle now; globex's call is still in flight (and not seen yet); initech is open.
        #expect(breaker.releaseIdleKeys() == 1)
    }

    @Test func idleKeysHaveNoSeriesOfTheirOwnAndTheirToolsSeriesStay() async throws {
        let clock = ManualWallClock()
        let metrics = TestMetrics()
        let breaker = CircuitBreaker(
            configuration: .standard, wallClock: clock, monotonicClock: clock, logger: Fixtures.silentLogger, metricsFactory: metrics)
        func measuredCall(_ tenant: TenantID) async throws {
            guard case .admitted(let call) = await breaker.begin(tenant: tenant, tool: search, turn: try TurnID("t")) else {
                Issue.record("a closed circuit admits")
                return
            }
            _ = await breaker.record(call.permit, .success(latencyUs: 1_000))
        }
        try await measuredCall(acme)
        try await measuredCall(globex)
        #expect(breaker.keysWithSeries == 0, "closed keys have no series of their own")
        clock.advance(by: .seconds(120))
        #expect(breaker.releaseIdleKeys() == 2)
        try await measuredCall(acme)
        let tool = [("tool_name", "web_search")]
        #expect(try metrics.expectTimer("agent_tool_call_latency_seconds", tool).values.count == 3, "the tool's latency keeps every call")
        #expect(
            try metrics.expectGauge("agent_circuit_breaker_keys", tool + [("state", "closed")]).lastValue == 2, "idle keys are still keys")
        #expect(metrics.recorders.allSatisfy { $0.label == "agent_circuit_breaker_keys" }, "no series names a tenant")
    }
}
