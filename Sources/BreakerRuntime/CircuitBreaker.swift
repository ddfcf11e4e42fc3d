public import BreakerCore
public import CoreMetrics
public import Logging

/// The breaker at run time: one circuit per (tenant, tool), safe for many concurrent callers.
///
/// All keys live in one ``BreakerMachine`` behind a lock (``Locked``). The lock is held only to read the
/// wall clock, step the machine and hand its facts to the ``EventSink``; the tool call, waiting
/// for durability, logging and metrics all happen outside it. One lock (rather than shards) is
/// what gives the event log one total order with non-decreasing times (SPEC §8); the critical
/// section is a few hundred nanoseconds.
public final class CircuitBreaker: Sendable {
    struct Inner {
        var machine: BreakerMachine
        var events: [BreakerEvent] = []
        var lastTime: Int64 = .min
        var metrics: [KeyMetrics?] = []
        /// Reads the system clock when the breaker was given ``SystemWallClock``.
        var systemClock: SystemWallClock.MillisecondReader?
    }

    private let inner: Locked<Inner>
    private let wallClock: any WallClock
    private let monotonicClock: any Clock<Duration>
    private let ticks: @Sendable () -> Duration
    private let sink: any EventSink
    private let logger: Logger
    private let metricsFactory: any MetricsFactory
    private let healthChecks = Locked<[ToolID: @Sendable (TenantID) async throws -> Void]>([:])
    private let durableTransitions: (@Sendable ([TransitionRecord]) -> Void)?

    /// The configuration every key resolves its settings from.
    public let configuration: BreakerConfiguration

    /// Creates a breaker.
    /// - Parameters:
    ///   - machine: the state to start from: empty, or rebuilt from a store's log.
    ///   - wallClock: wall time for the log (ms since the epoch); a manual clock in tests.
    ///   - monotonicClock: measures latencies and call timeouts.
    ///   - sink: receives every fact in log order; the store makes them durable.
    ///   - logger: one line per transition; never bootstrapped here.
    ///   - metricsFactory: where counters, the state gauge and the latency timer go.
    ///   - onDurableTransitions: called with the transitions an async call or action caused,
    ///     once they are durable and before that call returns.
    ///   - timeFloor: the time of the log's last record: recorded times start no earlier (SPEC §8:
    ///     they never decrease, across processes too).
    public init(
        machine: BreakerMachine,
        timeFloor: Timestamp? = nil,
        wallClock: any WallClock = SystemWallClock(),
        monotonicClock: any Clock<Duration> = ContinuousClock(),
        sink: any EventSink = DiscardingEventSink(),
        logger: Logger = Logger(label: "tenant-breaker"),
        metricsFactory: any MetricsFactory = MetricsSystem.factory,
        onDurableTransitions: (@Sendable ([TransitionRecord]) -> Void)? = nil
    ) {
        self.durableTransitions = onDurableTransitions
        self.configuration = machine.configuration
        self.inner = Locked(
            Inner(
                machine: machine, lastTime: timeFloor?.milliseconds ?? .min,
                systemClock: wallClock is SystemWallClock ? SystemWallClock.MillisecondReader() : nil))
        self.wallClock = wallClock
        self.monotonicClock = monotonicClock
        self.ticks = Self.ticker(monotonicClock)
        self.sink = sink
        self.logger = logger
        self.metricsFactory = metricsFactory
    }

    /// Creates a breaker with an empty machine for `configuration`.
    public convenience init(
        configuration: BreakerConfiguration = .standard,
        wallClock: any WallClock = SystemWallClock(),
        monotonicClock: any Clock<Duration> = ContinuousClock(),
        sink: any EventSink = DiscardingEventSink(),
        logger: Logger = Logger(label: "tenant-breaker"),
        metricsFactory: any MetricsFactory = MetricsSystem.factory
    ) {
        self.init(
            machine: BreakerMachine(configuration: configuration), wallClock: wallClock,
            monotonicClock: monotonicClock, sink: sink, logger: logger, metricsFactory: metricsFactory)
    }

    // MARK: - Stepping the machine under the lock

    /// What a step produced that must be acted on outside the lock.
    struct Aftermath {
        var transitions: [TransitionRecord] = []
        var globalOutages: [GlobalOutageRecord] = []
        var blocked: KeyMetrics?
        /// The metrics of the key whose call just completed (its latency is recorded outside the lock).
        var measured: KeyMetrics?
        var needsDurability: Bool { !transitions.isEmpty || !globalOutages.isEmpty || operatorAction }
        var operatorAction = false
    }

    @inline(__always)
    private func step<R>(
        at explicitTime: Timestamp? = nil,
        metricsOf measured: BreakerKey? = nil,
        _ body: (inout BreakerMachine, Timestamp, inout [BreakerEvent]) -> R
    ) -> (R, Aftermath) {
        let (result, after) = quickStep(at: explicitTime, metricsOf: measured, body)
        return (result, after ?? Aftermath())
    }

    /// ``step(at:metricsOf:_:)`` for the hot path: `nil` instead of an empty ``Aftermath``
    /// when the step produced nothing to act on outside the lock.
    @inline(__always)
    private func quickStep<R>(
        at explicitTime: Timestamp?,
        metricsOf measured: BreakerKey? = nil,
        _ body: (inout BreakerMachine, Timestamp, inout [BreakerEvent]) -> R
    ) -> (R, Aftermath?) {
        inner.withLock { inner in
            // Recorded times never decrease (SPEC §8): a clock that steps back is held at the last time.
            let raw = explicitTime?.milliseconds ?? now(&inner)
            let t = max(raw, inner.lastTime)
            inner.lastTime = t
            let before = inner.machine.noteworthyCount
            let result = body(&inner.machine, Timestamp(milliseconds: t), &inner.events)
            if !inner.events.isEmpty { sink.append(contentsOf: inner.events) }
            defer { if !inner.events.isEmpty { inner.events.removeAll(keepingCapacity: true) } }
            if inner.machine.noteworthyCount == before && measured == nil { return (result, nil) }
            var after = Aftermath()
            if let measured { after.measured = metrics(&inner, measured) }
            if inner.machine.noteworthyCount != before {
                for event in inner.events {
                    switch event {
                    case .call(let r):
                        if r.outcome == .rejected { after.blocked = metrics(&inner, BreakerKey(tenant: r.tenant, tool: r.tool)) }
                    case .transition(let r):
                        after.transitions.append(r)
                    case .globalOutage(let r):
                        after.globalOutages.append(r)
                    case .operatorAction:
                        after.operatorAction = true
                    case .logGap:
                        break
                    }
                }
            }
            return (result, after)
        }
    }

    /// The wall clock's reading, ms since the epoch (not yet held at the last recorded time).
    @inline(__always)
    private func now(_ inner: inout Inner) -> Int64 {
        if inner.systemClock != nil { return inner.systemClock!.read() }
        return wallClock.now.milliseconds
    }

    private func metrics(_ inner: inout Inner, _ key: BreakerKey) -> KeyMetrics {
        guard let slot = inner.machine.slotIndex(of: key) else {
            return KeyMetrics(key: key, factory: metricsFactory)
        }
        if slot >= inner.metrics.count { inner.metrics.append(contentsOf: repeatElement(nil, count: slot - inner.metrics.count + 1)) }
        if let m = inner.metrics[slot] { return m }
        let m = KeyMetrics(key: key, factory: metricsFactory)
        inner.metrics[slot] = m
        return m
    }

    /// Reports a step's metrics and log lines, then waits — at most `timeout`, when given — until
    /// the transitions and actions it recorded are durable, and for room in the sink's queue.
    /// Returns whether they were durable in time.
    @discardableResult
    private func finish(_ after: Aftermath, timeout: Duration?) async throws -> Bool {
        reportWithoutWaiting(after)
        for r in after.globalOutages {
            logger.warning(
                "global outage suspected", metadata: ["tool_name": "\(r.tool.rawValue)", "tenants_open": "\(r.tenants)"])
        }
        var durable = true
        if after.needsDurability {
            durable = try await sink.waitUntilDurable(timeout: timeout)
            if durable, !after.transitions.isEmpty { durableTransitions?(after.transitions) }
        }
        await sink.waitForCapacity(timeout: timeout)
        return durable
    }

    private func report(_ r: TransitionRecord) {
        let key = BreakerKey(tenant: r.tenant, tool: r.tool)
        let m = inner.withLock { metrics(&$0, key) }
        m.state.record(Self.gaugeValue(r.to))
        if r.to.isOpen { m.opened.increment() }
        if r.to == .closed { m.recovered.increment() }
        var metadata: Logger.Metadata = [
            "tenant_id": "\(r.tenant.rawValue)", "tool_name": "\(r.tool.rawValue)", "from": "\(r.from.rawValue)",
            "to": "\(r.to.rawValue)", "cause": "\(r.cause.rawValue)", "generation": "\(r.generation)",
        ]
        if let f = r.failures, let c = r.calls, let p = r.p95Us {
            metadata["failures"] = "\(f)"
            metadata["calls"] = "\(c)"
            metadata["p95_ms"] = "\(Double(p) / 1000)"
        }
        if let a = r.actor { metadata["actor"] = "\(a)" }
        if let why = r.reason { metadata["reason"] = "\(why)" }
        let level: Logger.Level = r.to.isOpen ? .warning : .notice
        logger.log(level: level, "circuit \(r.from.rawValue) -> \(r.to.rawValue)", metadata: metadata)
    }

    /// The state gauge's value: 0 closed, 1 half-open, 2 open, 3 forced open.
    public static func gaugeValue(_ state: CircuitState) -> Double {
        switch state {
        case .closed: 0
        case .halfOpen: 1
        case .open: 2
        case .forcedOpen: 3
        }
    }

    // MARK: - Admission and completion (synchronous core of `call`)

    /// Admits or rejects one call now (or at `time`, for a virtual clock). Non-blocking.
    ///
    /// Callers that run the tool themselves must complete an admitted call with
    /// ``complete(_:_:at:)``. Durability of any transition this caused is not awaited here;
    /// ``call(tenant:tool:turn:_:)`` does await it.
    public func admit(tenant: TenantID, tool: ToolID, turn: TurnID?, at time: Timestamp? = nil) -> Admission {
        let (admission, after) = quickStep(at: time) { m, now, events in
            m.admit(BreakerKey(tenant: tenant, tool: tool), turn: turn, at: now, events: &events)
        }
        if let after { reportWithoutWaiting(after) }
        return admission
    }

    /// The metrics and log lines of a step, for the synchronous entry points (no durability wait).
    private func reportWithoutWaiting(_ after: Aftermath) {
        after.blocked?.blocked.increment()
        for r in after.transitions { report(r) }
    }

    /// Records how an admitted call ended, now (or at `time`). Non-blocking.
    public func complete(_ permit: Permit, _ outcome: CallOutcome, at time: Timestamp? = nil) -> Completion {
        let (completion, after) = quickStep(at: time) { m, now, events in
            m.complete(permit, outcome, at: now, events: &events)
        }
        if let after { reportWithoutWaiting(after) }
        return completion
    }

    // MARK: - The async call API

    /// Runs `body` as one call of `tool` for `tenant` in `turn`, under the circuit breaker.
    ///
    /// Rejected calls return `.unavailable` at once without running `body`. An admitted call
    /// runs under the key's callTimeoutMs: at the deadline its task is cancelled and the caller
    /// answered with `tool_call_timeout`, even if the tool never returns. A thrown error is
    /// recorded by its type name and returned with the degradation signal. If the caller's task
    /// is cancelled, the call is recorded as `cancelled`. Any transition the call caused is
    /// durable in the sink before this returns.
    public func call<Value: Sendable>(
        tenant: TenantID, tool: ToolID, turn: TurnID, _ body: @escaping @Sendable () async throws -> Value
    ) async -> ToolCallResult<Value> {
        let (admission, admitAfter) = step { m, now, events in
            m.admit(BreakerKey(tenant: tenant, tool: tool), turn: turn, at: now, events: &events)
        }
        let permit: Permit
        switch admission {
        case .rejected(let rejection):
            // SPEC §8: a caller never waits on the log longer than its call timeout.
            let timeout = Duration.milliseconds(configuration.settings(tenant: tenant, tool: tool).callTimeoutMs)
            _ = try? await finish(admitAfter, timeout: timeout)
            return .unavailable(DegradationSignal(rejection: rejection))
        case .admitted(let p):
            permit = p
            if admitAfter.needsDurability { _ = try? await finish(admitAfter, timeout: .milliseconds(p.callTimeoutMs)) }
        }
        let (outcome, callOutcome, completeAt, elapsedUs) = await runTimed(permit, body)
        let (completion, after) = step(at: completeAt, metricsOf: BreakerKey(tenant: tenant, tool: tool)) { m, now, events in
            m.complete(permit, callOutcome, at: now, events: &events)
        }
        after.measured?.latency.recordNanoseconds(elapsedUs * 1000)
        _ = try? await finish(after, timeout: .milliseconds(permit.callTimeoutMs))
        let retry = completion.state == .closed ? 0 : completion.retryAfterMs
        switch outcome {
        case .value(let v): return .success(v)
        case .error(let e):
            return .failed(
                DegradationSignal(
                    tool: tool, reason: "tool_call_exception:\(Self.typeName(of: e))", retryAfterMs: retry,
                    minimumOneSecond: completion.state != .closed), e)
        case .timeout:
            return .unavailable(
                DegradationSignal(
                    tool: tool, reason: "tool_call_timeout", retryAfterMs: retry,
                    minimumOneSecond: completion.state != .closed))
        case .cancelled:
            return .cancelled
        }
    }

    /// Same as ``call(tenant:tool:turn:_:)`` with names checked here.
    /// - Throws: ``BreakerError`` (`invalid_name`) for a bad name; nothing is recorded then.
    public func call<Value: Sendable>(
        tenant: String, tool: String, turn: String, _ body: @escaping @Sendable () async throws -> Value
    ) async throws(BreakerError) -> ToolCallResult<Value> {
        let t = try TenantID(tenant)
        let o = try ToolID(tool)
        let u = try TurnID(turn)
        return await call(tenant: t, tool: o, turn: u, body)
    }

    /// Runs `body` for `permit` under its call timeout: how it ended, as the machine records it,
    /// when to record it (`nil` = now; admission + callTimeoutMs for a timeout) and the latency, µs.
    private func runTimed<Value: Sendable>(
        _ permit: Permit, _ body: @escaping @Sendable () async throws -> Value
    ) async -> (Race<Value>, CallOutcome, Timestamp?, Int64) {
        let start = monotonicNow()
        let outcome = await Race.run(timeoutMs: permit.callTimeoutMs, clock: monotonicClock, body)
        let us = microseconds(since: start)
        switch outcome {
        case .value: return (outcome, .success(latencyUs: us), nil, us)
        case .error(let e): return (outcome, .failure(errorType: Self.typeName(of: e), latencyUs: us), nil, us)
        case .timeout: return (outcome, .timeout, permit.admittedAt.adding(milliseconds: permit.callTimeoutMs), us)
        case .cancelled: return (outcome, .cancelled(latencyUs: us), nil, us)
        }
    }

    /// The name recorded for a tool's error: its type's name, e.g. `ConnectionError`.
    public static func typeName(of error: any Error) -> String {
        String(describing: type(of: error))
    }

    /// Opens the monotonic clock once: a function giving the time elapsed since the breaker began.
    private static func ticker<C: Clock<Duration>>(_ clock: C) -> @Sendable () -> Duration {
        let origin = clock.now
        return { origin.duration(to: clock.now) }
    }

    private func monotonicNow() -> Duration { ticks() }

    private func microseconds(since start: Duration) -> Int64 {
        let (seconds, attoseconds) = (ticks() - start).components
        return max(0, seconds * 1_000_000 + attoseconds / 1_000_000_000_000)
    }

    // MARK: - Operator actions

    /// Force-opens `tool` for `tenant`, or every tenant when `nil` (SPEC §7). Durable on return.
    public func forceOpen(tool: ToolID, tenant: TenantID?, hold: Bool, actor: String, reason: String) async throws {
        let (_, after) = step { m, now, events in
            m.forceOpen(tool: tool, tenant: tenant, hold: hold, actor: actor, reason: reason, at: now, events: &events)
        }
        try await finish(after, timeout: nil)
    }

    /// Releases `tool` for `tenant`, or every tenant when `nil` (SPEC §7). Durable on return.
    public func release(tool: ToolID, tenant: TenantID?, actor: String, reason: String) async throws {
        let (_, after) = step { m, now, events in
            m.release(tool: tool, tenant: tenant, actor: actor, reason: reason, at: now, events: &events)
        }
        try await finish(after, timeout: nil)
    }

    /// Resets (tenant, tool) to CLOSED (SPEC §7). Durable on return.
    public func reset(tenant: TenantID, tool: ToolID, actor: String, reason: String) async throws {
        let (_, after) = step { m, now, events in
            m.reset(tenant: tenant, tool: tool, actor: actor, reason: reason, at: now, events: &events)
        }
        try await finish(after, timeout: nil)
    }

    /// Applies an operator action now (or at `time`, for a virtual clock) without waiting for
    /// durability (simulation, and the owner's inbox, whose CLI waits for the record itself).
    public func apply(_ action: OperatorAction, at time: Timestamp? = nil) {
        reportWithoutWaiting(stepAction(action, at: time))
    }

    /// Applies an operator action now; returns once its record is durable.
    /// - Throws: when the log cannot make it durable.
    public func apply(_ action: OperatorAction) async throws {
        try await finish(stepAction(action, at: nil), timeout: nil)
    }

    private func stepAction(_ action: OperatorAction, at time: Timestamp?) -> Aftermath {
        step(at: time) { m, now, events in
            switch action.op {
            case .forceOpen, .forceOpenHold:
                m.forceOpen(
                    tool: action.tool, tenant: action.tenant, hold: action.op == .forceOpenHold, actor: action.actor,
                    reason: action.reason, requestID: action.requestID, at: now, events: &events)
            case .release:
                m.release(
                    tool: action.tool, tenant: action.tenant, actor: action.actor, reason: action.reason,
                    requestID: action.requestID, at: now, events: &events)
            case .reset:
                if let tenant = action.tenant {
                    m.reset(
                        tenant: tenant, tool: action.tool, actor: action.actor, reason: action.reason,
                        requestID: action.requestID, at: now, events: &events)
                }
            }
        }.1
    }

    /// Waits until every fact so far is durable in the sink.
    public func flush() async throws { try await sink.waitUntilDurable() }

    // MARK: - Reading

    /// A copy of the whole state machine (for tests, benchmarks and snapshots).
    ///
    /// The copy shares the windows' entries with the live machine until either writes; the
    /// breaker's next recorded outcome then copies every window, O(entries in all windows).
    /// To look at one key, ``status(of:)`` or ``state(of:)`` copy nothing of the kind.
    public var machine: BreakerMachine { inner.withLock { $0.machine } }

    /// The state of `key` with a copy of its window's entries, or `nil` if never seen.
    public func state(of key: BreakerKey) -> KeyState? { inner.withLock { $0.machine.state(of: key) } }

    /// The state of `key` without its window's entries, or `nil` if never seen. O(1).
    public func status(of key: BreakerKey) -> KeyStatus? { inner.withLock { $0.machine.status(of: key) } }

    /// The last time recorded, ms since the epoch (`nil` before the first fact).
    public var lastRecordedTime: Timestamp? {
        inner.withLock { $0.lastTime == .min ? nil : Timestamp(milliseconds: $0.lastTime) }
    }

    // MARK: - Health checks (SPEC §6)

    /// Declares `tool`'s traits and optional health check, called with the tenant to probe.
    ///
    /// A `sideEffects` tool with a health check never uses a real call as a probe; without one
    /// it admits at most one real probe at a time.
    public func register(
        tool: ToolID, sideEffects: Bool = false, healthCheck: (@Sendable (TenantID) async throws -> Void)? = nil
    ) {
        healthChecks.withLock { $0[tool] = healthCheck }
        inner.withLock {
            $0.machine.register(tool: tool, traits: ToolTraits(sideEffects: sideEffects, hasHealthCheck: healthCheck != nil))
        }
    }

    /// One round of the background prober: every OPEN key of a tool with a health check whose
    /// open timeout has elapsed moves to HALF_OPEN and runs the check as its probe (§5.3).
    /// Returns the number of probes run.
    @discardableResult
    public func runHealthProbes() async -> Int {
        let (permits, after) = step { m, now, events -> [(BreakerKey, Permit)] in
            m.keysDueForHealthProbe(at: now).compactMap { key in m.beginHealthProbe(key, at: now, events: &events).map { (key, $0) } }
        }
        _ = try? await finish(after, timeout: .milliseconds(configuration.runtime.probeIntervalMs))
        let checks = healthChecks.withLock { $0 }
        await withTaskGroup(of: Void.self) { group in
            for (key, permit) in permits {
                guard let check = checks[key.tool] else { continue }
                group.addTask {
                    let (_, result, at, _) = await self.runTimed(permit) { try await check(key.tenant) }
                    let (_, after) = self.step(at: at) { m, now, events in m.complete(permit, result, at: now, events: &events) }
                    _ = try? await self.finish(after, timeout: .milliseconds(permit.callTimeoutMs))
                }
            }
        }
        return permits.count
    }

    // MARK: - Agent surface

    /// The tools unavailable to `tenant` right now: keys OPEN or FORCED_OPEN, HALF_OPEN keys
    /// that only a health probe may test, and tools under a tool-wide force-open the tenant has
    /// not called yet. Sorted by tool name.
    public func unavailableTools(tenant: TenantID) -> [UnavailableTool] {
        inner.withLock { inner in
            let now = Timestamp(milliseconds: max(now(&inner), inner.lastTime))
            return UnavailableTool.list(in: inner.machine, tenant: tenant, at: now)
        }
    }

    /// A short note for the agent's system prompt naming the tools that are down for `tenant`,
    /// or `nil` when every tool is available.
    public func systemPromptNote(tenant: TenantID) -> String? {
        UnavailableTool.systemPromptNote(for: unavailableTools(tenant: tenant))
    }
}

/// An operator action as data (simulation traces and the CLI's relay to a running owner).
public struct OperatorAction: Sendable, Hashable {
    public var op: OperatorOp
    public var tool: ToolID
    /// `nil` for all tenants (not allowed for `reset`).
    public var tenant: TenantID?
    public var actor: String
    public var reason: String
    /// The request it answers (the store's inbox row), carried to the operator record.
    public var requestID: Int64?

    public init(op: OperatorOp, tool: ToolID, tenant: TenantID?, actor: String, reason: String, requestID: Int64? = nil) {
        self.op = op
        self.tool = tool
        self.tenant = tenant
        self.actor = actor
        self.reason = reason
        self.requestID = requestID
    }
}
