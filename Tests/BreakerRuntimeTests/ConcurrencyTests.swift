import BreakerCore
import BreakerRuntime
import BreakerTestSupport
import Synchronization
import Testing

struct Flaky: Error {}

@Suite struct ConcurrencyTests {
    /// 64 tasks over 100 keys with random outcomes; inside every admitted call the key's
    /// probes in flight never exceed the half-open limit. Then the live state equals the replay.
    @Test func manyConcurrentCallersKeepTheProbeLimitAndALogThatReplaysExactly() async throws {
        let configuration = try BreakerConfiguration(
            defaults: SettingsOverride(
                failureThreshold: 3, minimumCalls: 3, successThreshold: 2, windowMs: 1_000_000, openTimeoutMs: 1,
                latencyThresholdMs: 60_000, halfOpenMaxInFlight: 2))
        let sink = InMemoryFactSink()
        let breaker = CircuitBreaker(configuration: configuration, sink: sink, logger: Fixtures.silentLogger)
        let keys = (0..<100).map { i in BreakerKey(tenant: try! TenantID("t\(i % 10)"), tool: try! ToolID("tool\(i / 10)")) }
        let violations = Tally()
        let calls = Tally()
        await withTaskGroup(of: Void.self) { group in
            for task in 0..<64 {
                group.addTask {
                    var rng = SeededGenerator(seed: UInt64(task))
                    for _ in 0..<300 {
                        let key = keys.randomElement(using: &rng)!
                        let fail = Int.random(in: 0..<3, using: &rng) == 0
                        _ = await breaker.call(tenant: key.tenant, tool: key.tool, turn: try! TurnID("turn-\(task)")) {
                            () async throws -> Int in
                            calls.increment()
                            if let st = breaker.state(of: key), st.probesInFlight > 2 {
                                violations.increment()
                            }
                            await Task.yield()
                            if fail { throw Flaky() }
                            return 1
                        }
                    }
                }
            }
        }
        #expect(violations.value == 0)
        #expect(calls.value > 1000)
        let replay = BreakerMachine.replaying(sink.events, configuration: configuration)
        #expect(breaker.machine.hasSameDurableState(as: replay))
        let times = sink.events.map(\.time)
        #expect(zip(times, times.dropFirst()).allSatisfy { $0 <= $1 })
        let transitions = sink.events.filter { if case .transition = $0 { return true } else { return false } }
        #expect(transitions.count > 10)
    }
}

@Suite struct HealthProbeTests {
    let acme = try! TenantID("acme")
    let sandbox = try! ToolID("code_exec")

    @Test func theProberMovesAnOpenKeyToHalfOpenAndRunsTheHealthCheckAsItsProbe() async throws {
        let clock = ManualWallClock()
        let sink = InMemoryFactSink()
        let breaker = Fixtures.breaker(
            try BreakerConfiguration(defaults: SettingsOverride(failureThreshold: 1, successThreshold: 1, openTimeoutMs: 10_000)),
            clock: clock, sink: sink)
        let checks = Tally()
        breaker.register(tool: sandbox, sideEffects: true) { _ in checks.increment() }
        _ = await breaker.call(tenant: acme, tool: sandbox, turn: try TurnID("t")) { () async throws -> Int in throw Flaky() }
        #expect(await breaker.runHealthProbes() == 0, "the open timeout has not elapsed")
        clock.advance(by: .seconds(10))
        let real = await breaker.call(tenant: acme, tool: sandbox, turn: try TurnID("t")) { 1 }
        #expect(real.signal?.reason == "awaiting_health_probe", "a side-effect tool never probes with a real call")
        #expect(await breaker.runHealthProbes() == 1)
        #expect(checks.value == 1)
        #expect(breaker.state(of: BreakerKey(tenant: acme, tool: sandbox))?.state == .closed)
        let probes = sink.events.compactMap { e -> CallRecord? in if case .call(let c) = e, c.probe { return c } else { return nil } }
        #expect(probes.count == 1 && probes[0].turn == nil)
    }

    @Test func theProberMovesAnOpenKeyToHalfOpenByItselfOnceItsTimeoutElapses() async throws {
        let clock = ManualWallClock()
        let sink = InMemoryFactSink()
        let breaker = Fixtures.breaker(
            try BreakerConfiguration(defaults: SettingsOverride(failureThreshold: 1, successThreshold: 2, openTimeoutMs: 10_000)),
            clock: clock, sink: sink)
        let gate = Gate()
        breaker.register(tool: sandbox) { _ in await gate.wait() }
        let key = BreakerKey(tenant: acme, tool: sandbox)
        _ = await breaker.call(tenant: acme, tool: sandbox, turn: try TurnID("t")) { () async throws -> Int in throw Flaky() }
        clock.advance(by: .milliseconds(9_999))
        #expect(await breaker.runHealthProbes() == 0)
        #expect(breaker.status(of: key)?.state == .open, "not before the open timeout")
        clock.advance(by: .milliseconds(1))
        let round = Task { await breaker.runHealthProbes() }
        defer { gate.open() }
        try #require(await gate.waitForWaiter(), "the prober runs the health check once the timeout has elapsed")
        // No call was made: the prober moved the key and its health check is the probe in flight.
        let moved = try #require(
            sink.events.compactMap { e -> TransitionRecord? in if case .transition(let t) = e { t } else { nil } }.last)
        #expect(moved.from == .open && moved.to == .halfOpen && moved.cause == .openTimeoutElapsed)
        #expect(moved.time == clock.now)
        #expect(breaker.status(of: key)?.state == .halfOpen && breaker.status(of: key)?.probesInFlight == 1)
        #expect(await breaker.call(tenant: acme, tool: sandbox, turn: try TurnID("t2")) { 1 }.signal?.reason == "half_open_probe_in_flight")
        gate.open()
        #expect(await round.value == 1)
        #expect(breaker.status(of: key)?.state == .halfOpen && breaker.status(of: key)?.probeSuccesses == 1)
    }

    @Test func aFailingHealthCheckReopensTheCircuitAndGrowsItsTimeout() async throws {
        let clock = ManualWallClock()
        let sink = InMemoryFactSink()
        let breaker = Fixtures.breaker(
            try BreakerConfiguration(
                defaults: SettingsOverride(failureThreshold: 1, openTimeoutMs: 10_000, openTimeoutMultiplier: 2, maxOpenTimeoutMs: 60_000)),
            clock: clock, sink: sink)
        let checks = Tally()
        breaker.register(tool: sandbox, sideEffects: true) { _ in
            checks.increment()
            throw Flaky()
        }
        let key = BreakerKey(tenant: acme, tool: sandbox)
        _ = await breaker.call(tenant: acme, tool: sandbox, turn: try TurnID("t")) { () async throws -> Int in throw Flaky() }
        clock.advance(by: .seconds(10))
        #expect(await breaker.runHealthProbes() == 1)
        #expect(checks.value == 1)
        let st = try #require(breaker.status(of: key))
        #expect(st.state == .open && st.currentOpenTimeoutMs == 20_000 && st.openedAt == clock.now)
        let transitions = sink.events.compactMap { e -> TransitionRecord? in if case .transition(let t) = e { t } else { nil } }
        #expect(transitions.map(\.cause) == [.failureThreshold, .openTimeoutElapsed, .probeFailed])
        let probe = try #require(sink.events.compactMap { e -> CallRecord? in if case .call(let c) = e, c.probe { c } else { nil } }.last)
        #expect(probe.outcome == .failure && probe.reason == "tool_call_exception:Flaky" && probe.turn == nil)
        clock.advance(by: .seconds(10))
        #expect(await breaker.runHealthProbes() == 0, "the grown timeout has not elapsed")
        clock.advance(by: .seconds(10))
        #expect(await breaker.runHealthProbes() == 1)
    }

    @Test func theProberServiceStopsCleanlyWhenCancelled() async throws {
        let clock = ManualWallClock()
        let breaker = Fixtures.breaker(clock: clock)
        let prober = HealthProber(breaker: breaker, clock: clock)
        let task = Task { try await prober.run() }
        await clock.waitForSleepers(1)
        clock.advance(by: .seconds(5))
        await clock.waitForSleepers(1)
        task.cancel()
        try await task.value  // returns normally: stopping is not a failure of a service group
        #expect(clock.sleeperCount == 0)
    }
}

/// Holds a health check until the test lets it finish.
final class Gate: Sendable {
    private let state = Locked<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func wait() async {
        await withCheckedContinuation { c in
            let now = state.withLock { s -> Bool in
                if s.open { return true }
                s.waiters.append(c)
                return false
            }
            if now { c.resume() }
        }
    }

    /// Whether a health check started waiting within 60 s. The deadline is generous because
    /// every suite runs at once on a small machine: the wait is for a task to be scheduled,
    /// which under that load took more than 5 s, not for anything the prober computes.
    func waitForWaiter() async -> Bool {
        let deadline = ContinuousClock.now.advanced(by: .seconds(60))
        while state.withLock({ $0.waiters.isEmpty }) {
            if ContinuousClock.now > deadline { return false }
            try? await Task.sleep(for: .milliseconds(1))
        }
        return true
    }

    func open() {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.open = true
            defer { s.waiters = [] }
            return s.waiters
        }
        for w in waiters { w.resume() }
    }
}
