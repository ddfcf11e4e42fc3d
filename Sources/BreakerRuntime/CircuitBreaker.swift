public import BreakerCore
public import CoreMetrics
public import Logging

/// The breaker at run time: one circuit per (tenant, tool), safe for many concurrent callers.
///
/// All keys live in one ``BreakerMachine`` behind a lock (``Locked``). The lock is held only to
/// read the wall clock, run one step of the machine and hand its facts to the ``FactSink``; the
/// tool call, waiting for durability, logging and metrics all happen outside it. One lock (rather
/// than shards) is what gives the event log one total order with non-decreasing times (SPEC §8).
public final class CircuitBreaker: Sendable {
    struct Inner {
        var machine: BreakerMachine
        /// The current step's facts (emptied after each step, capacity kept).
        var facts: [Fact] = []
        /// Keys already introduced to the sink.
        var introduced = 0
        var lastTime: Int64 = .min
        /// Reads the system clock when the breaker was given ``SystemWallClock``.
        var systemClock: SystemWallClock.MillisecondReader?
        /// Metric handles of the keys not CLOSED, by key number.
        var metrics: [UInt32: KeyMetrics] = [:]
        /// Metric handles and key counts of each tool, by tool number.
        var tools: [ToolSeries?] = []
    }

    let inner: Locked<Inner>
    let wallClock: any WallClock
    let monotonicClock: any Clock<Duration>
    let ticks: @Sendable () -> Duration
    let sink: any FactSink
    let logger: Logger
    let metricsFactory: any MetricsFactory
    /// Whether there is a metrics backend (not the no-op factory); without one no handles are made.
    let measuring: Bool
    let healthChecks = Locked<[ToolID: @Sendable (TenantID) async throws -> Void]>([:])
    /// Runs the configuration's HTTP health checks (SPEC §6); `nil` until installed.
    let httpHealthCheck = Locked<(@Sendable (HTTPHealthCheckSpec) async throws -> Void)?>(nil)
    let durableTransitions: (@Sendable ([TransitionRecord]) -> Void)?
    /// Calls run unguarded because their key would be beyond `limits.maxKeys` (SPEC §12 Limits).
    let untrackedCalls: any CounterHandler

    /// Creates a breaker.
    /// - Parameters:
    ///   - machine: the state to start from: empty, or rebuilt from a store's log.
    ///   - timeFloor: the time of the log's last record: recorded times start no earlier (SPEC §8:
    ///     they never decrease, across processes too).
    ///   - wallClock: wall time for the log (ms since the epoch); a manual clock in tests.
    ///   - monotonicClock: measures latencies and call timeouts.
    ///   - sink: receives every fact in log order, keys introduced first; the store makes them durable.
    ///   - logger: one line per transition; never bootstrapped here.
    ///   - metricsFactory: where the metrics go: per tool, counters, the latency timer and the keys
    ///     by state; per key not CLOSED, its state and blocked calls.
    ///   - onDurableTransitions: called with the transitions an async call or action caused,
    ///     once they are durable and before that call returns.
    public init(
        machine: BreakerMachine,
        timeFloor: Timestamp? = nil,
        wallClock: any WallClock = SystemWallClock(),
        monotonicClock: any Clock<Duration> = ContinuousClock(),
        sink: any FactSink = DiscardingFactSink(),
        logger: Logger = Logger(label: "tenant-breaker"),
        metricsFactory: any MetricsFactory = MetricsSystem.factory,
        onDurableTransitions: (@Sendable ([TransitionRecord]) -> Void)? = nil
    ) {
        self.durableTransitions = onDurableTransitions
        self.measuring = !(metricsFactory is NOOPMetricsHandler)
        self.metricsFactory = metricsFactory
        var start = Inner(
            // The keys the machine already has came from the sink's store (a rebuild), or there are none.
            machine: machine, introduced: machine.internedCount, lastTime: timeFloor?.milliseconds ?? .min,
            systemClock: wallClock is SystemWallClock ? SystemWallClock.MillisecondReader() : nil)
        if measuring {
            for i in 0..<machine.internedCount {
                let ref = KeyRef(UInt32(i))
                let state = machine.circuitState(of: ref)
                Self.countKey(&start, ref, from: nil, to: state, factory: metricsFactory)
            }
        }
        self.inner = Locked(start)
        self.wallClock = wallClock
        self.monotonicClock = monotonicClock
        self.ticks = Self.ticker(monotonicClock)
        self.sink = sink
        self.logger = logger
        self.untrackedCalls = metricsFactory.makeCounter(label: "agent_circuit_breaker_untracked_calls_total", dimensions: [])
    }

    /// Creates a breaker with an empty machine for `configuration`.
    public convenience init(
        configuration: BreakerConfiguration = .standard,
        wallClock: any WallClock = SystemWallClock(),
        monotonicClock: any Clock<Duration> = ContinuousClock(),
        sink: any FactSink = DiscardingFactSink(),
        logger: Logger = Logger(label: "tenant-breaker"),
        metricsFactory: any MetricsFactory = MetricsSystem.factory
    ) {
        self.init(
            machine: BreakerMachine(configuration: configuration), wallClock: wallClock, monotonicClock: monotonicClock, sink: sink,
            logger: logger, metricsFactory: metricsFactory)
    }

    /// The configuration in force.
    public var configuration: BreakerConfiguration { inner.withLock { $0.machine.configuration } }

    // MARK: - Stepping the machine under the lock

    /// What a step recorded that must be acted on outside the lock: transitions to log (with
    /// names), global outages to log, durability to wait for. (Metrics are updated under the lock,
    /// so that a key's series are made and destroyed in the order of its transitions.)
    struct Aftermath {
        var transitions: [TransitionRecord] = []
        var globalOutages: [GlobalOutageRecord] = []
        var mustBeDurable = false
    }

    /// Runs one step at the wall clock's time (or `explicitTime`, held at the last recorded
    /// time so recorded times never decrease) and hands its facts to the sink. Returns the
    /// step's result, and what must be done outside the lock — `nil` for the common step that
    /// recorded at most a call.
    @inline(__always)
    func step<R>(
        at explicitTime: Timestamp? = nil, _ body: (inout BreakerMachine, Timestamp, inout [Fact]) -> Step<R>
    ) -> (R, Aftermath?) {
        let (result, after, _) = step(at: explicitTime, metricsOf: nil, body)
        return (result, after)
    }

    /// ``step(at:_:)``, also answering the latency timer of key `measured`'s tool (under the
    /// same lock; `nil` without a metrics backend).
    @inline(__always)
    func step<R>(
        at explicitTime: Timestamp?, metricsOf measured: KeyRef?, _ body: (inout BreakerMachine, Timestamp, inout [Fact]) -> Step<R>
    ) -> (R, Aftermath?, (any TimerHandler)?) {
        inner.withLock { inner in
            let handles = measuring ? measured.map { toolLatency(&inner, $0) } : nil
            let raw = explicitTime?.milliseconds ?? now(&inner)
            let t = max(raw, inner.lastTime)
            inner.lastTime = t
            let step = body(&inner.machine, Timestamp(milliseconds: t), &inner.facts)
            let interned = inner.machine.internedCount
            if interned > inner.introduced || !inner.facts.isEmpty {
                let keys = interned > inner.introduced ? newKeys(&inner, upTo: interned) : []
                sink.append(keys: keys[...], facts: inner.facts[...])
            }
            let fx = step.effects
            guard fx.transitions > 0 || fx.globalOutages > 0 || fx.rejected || fx.shadowCall || fx.mustBeDurable else {
                // The common step recorded one call or nothing: dropping one element costs a
                // fraction of the general removeAll.
                if inner.facts.count == 1 {
                    inner.facts.removeLast()
                } else if !inner.facts.isEmpty {
                    inner.facts.removeAll(keepingCapacity: true)
                }
                return (step.result, nil, handles)
            }
            var after = Aftermath(mustBeDurable: fx.mustBeDurable)
            for fact in inner.facts {
                switch fact {
                case .transition(let f):
                    guard case .transition(let r) = BreakerEvent(fact, keys: inner.machine) else { continue }
                    after.transitions.append(r)
                    if measuring { Self.countKey(&inner, f.key, from: f.from, to: f.to, factory: metricsFactory) }
                case .globalOutage(let r):
                    after.globalOutages.append(r)
                case .call(let f) where f.result.kind == .rejected:
                    if measuring {
                        inner.tools[Self.toolIndex(&inner, f.key, factory: metricsFactory)]!.handles.blocked.increment(by: 1)
                        inner.metrics[f.key.index]?.blocked.increment(by: 1)
                    }
                case .call(let f) where f.shadow != nil:
                    if measuring {
                        inner.tools[Self.toolIndex(&inner, f.key, factory: metricsFactory)]!.handles.wouldBlock.increment(by: 1)
                    }
                default:
                    break
                }
            }
            inner.facts.removeAll(keepingCapacity: true)
            return (step.result, after, handles)
        }
    }

    func newKeys(_ inner: inout Inner, upTo count: Int) -> [BreakerKey] {
        defer { inner.introduced = count }
        if measuring {
            for i in inner.introduced..<count { Self.countKey(&inner, KeyRef(UInt32(i)), from: nil, to: .closed, factory: metricsFactory) }
        }
        return (inner.introduced..<count).map { inner.machine.key(KeyRef(UInt32($0))) }
    }

    /// The wall clock's reading, ms since the epoch (not yet held at the last recorded time).
    @inline(__always)
    func now(_ inner: inout Inner) -> Int64 {
        if inner.systemClock != nil { return inner.systemClock!.read() }
        return wallClock.now.milliseconds
    }

    /// The latency timer of key `ref`'s tool.
    @inline(__always)
    func toolLatency(_ inner: inout Inner, _ ref: KeyRef) -> any TimerHandler {
        inner.tools[Self.toolIndex(&inner, ref, factory: metricsFactory)]!.handles.latency
    }

    /// The number of key `ref`'s tool, its handles made with the tool's first key.
    @inline(__always)
    static func toolIndex(_ inner: inout Inner, _ ref: KeyRef, factory: any MetricsFactory) -> Int {
        let tool = inner.machine.toolNumber(of: ref)
        if tool < inner.tools.count, inner.tools[tool] != nil { return tool }
        while inner.tools.count <= tool { inner.tools.append(nil) }
        inner.tools[tool] = ToolSeries(handles: ToolMetrics(tool: inner.machine.key(ref).tool, factory: factory))
        return tool
    }

    /// Counts key `ref` moving from `from` (nil: a key new to the breaker) to `to` in its tool's
    /// metrics, and makes, updates or destroys the key's own series (only a key not CLOSED has them).
    static func countKey(_ inner: inout Inner, _ ref: KeyRef, from: CircuitState?, to: CircuitState, factory: any MetricsFactory) {
        let tool = toolIndex(&inner, ref, factory: factory)
        inner.tools[tool]!.move(from: from, to: to)
        if from != nil {
            if to.isOpen { inner.tools[tool]!.handles.opened.increment(by: 1) }
            if to == .closed { inner.tools[tool]!.handles.recovered.increment(by: 1) }
        }
        if to == .closed {
            inner.metrics.removeValue(forKey: ref.index)?.destroy(in: factory)
        } else {
            let m = inner.metrics[ref.index] ?? KeyMetrics(key: inner.machine.key(ref), factory: factory)
            m.state.record(gaugeValue(to))
            inner.metrics[ref.index] = m
        }
    }

    /// Reports a step's metrics and log lines, then waits — at most `timeout`, when given — until
    /// the transitions and actions it recorded are durable, and for room in the sink's queue.
    /// Returns whether they were durable in time.
    @discardableResult
    func finish(_ after: Aftermath?, timeout: Duration?) async throws -> Bool {
        guard let after else {
            await sink.waitForCapacity(timeout: timeout)
            return true
        }
        reportWithoutWaiting(after)
        for r in after.globalOutages {
            logger.warning("global outage suspected", metadata: ["tool_name": "\(r.tool.rawValue)", "tenants_open": "\(r.tenants)"])
        }
        var durable = true
        if after.mustBeDurable {
            durable = try await sink.waitUntilDurable(timeout: timeout)
            if durable, !after.transitions.isEmpty { durableTransitions?(after.transitions) }
        }
        await sink.waitForCapacity(timeout: timeout)
        return durable
    }

    /// The log lines of a step, for the synchronous entry points (no durability wait).
    func reportWithoutWaiting(_ after: Aftermath?) {
        guard let after else { return }
        for r in after.transitions { report(r) }
    }

    private func report(_ r: TransitionRecord) {
        var metadata: Logger.Metadata = [
            "tenant_id": "\(r.tenant.rawValue)", "tool_name": "\(r.tool.rawValue)", "from": "\(r.from)", "to": "\(r.to)",
            "cause": "\(r.cause)", "generation": "\(r.generation)",
        ]
        if let f = r.failures, let c = r.calls, let p = r.p95Us {
            metadata["failures"] = "\(f)"
            metadata["calls"] = "\(c)"
            metadata["p95_ms"] = "\(Double(p) / 1000)"
        }
        if let a = r.actor { metadata["actor"] = "\(a)" }
        if let why = r.reason { metadata["reason"] = "\(why)" }
        logger.log(level: r.to.isOpen ? .warning : .notice, "circuit \(r.from) -> \(r.to)", metadata: metadata)
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

    // MARK: - Keys

    /// A handle on (`tenant`, `tool`) for admitting its calls without looking its names up again.
    public func key(tenant: TenantID, tool: ToolID) -> KeyHandle {
        let key = BreakerKey(tenant: tenant, tool: tool)
        let ref = inner.withLock { $0.machine.intern(key) }
        return KeyHandle(key: key, ref: ref, owner: ObjectIdentifier(self))
    }

    @inline(__always)
    func ref(_ handle: KeyHandle) -> KeyRef {
        precondition(handle.owner == ObjectIdentifier(self), "a key handle belongs to the breaker that made it")
        return handle.ref
    }

    // MARK: - Admission and completion (the synchronous core of `call`)

    /// Admits or rejects one call now (or at `time`, for a virtual clock). Non-blocking.
    ///
    /// Callers that run the tool themselves must complete an admitted call with
    /// ``complete(_:_:at:)``. Durability of any transition this caused is not awaited here;
    /// ``call(tenant:tool:turn:_:)`` does await it.
    public func admit(tenant: TenantID, tool: ToolID, turn: TurnID?, at time: Timestamp? = nil) -> Admission {
        let (admission, after) = step(at: time) { m, now, facts in
            m.admit(BreakerKey(tenant: tenant, tool: tool), turn: turn, at: now, facts: &facts)
        }
        reportWithoutWaiting(after)
        if case .untracked = admission { untrackedCalls.increment(by: 1) }
        return admission
    }

    /// Admits or rejects one call of the key of `handle` now (or at `time`). Non-blocking.
    public func admit(_ handle: KeyHandle, turn: TurnID?, at time: Timestamp? = nil) -> Admission {
        let ref = ref(handle)
        let (admission, after) = step(at: time) { m, now, facts in m.admit(ref, turn: turn, at: now, facts: &facts) }
        reportWithoutWaiting(after)
        return admission
    }

    /// Records how an admitted call ended, now (or at `time`). Non-blocking.
    public func complete(_ permit: Permit, _ outcome: CallOutcome, at time: Timestamp? = nil) -> Completion {
        let (completion, after) = step(at: time) { m, now, facts in m.complete(permit, outcome, at: now, facts: &facts) }
        reportWithoutWaiting(after)
        return completion
    }

    /// The tool of the key numbered `ref`.
    func tool(of ref: KeyRef) -> ToolID { inner.withLock { $0.machine.key(ref).tool } }

    /// Waits until every fact so far is durable in the sink.
    public func flush() async throws { try await sink.waitUntilDurable() }

    /// Opens the monotonic clock once: a function giving the time elapsed since the breaker began.
    private static func ticker<C: Clock<Duration>>(_ clock: C) -> @Sendable () -> Duration {
        let origin = clock.now
        return { origin.duration(to: clock.now) }
    }
}
