/// The breaker's pure state machine over every key (SPEC §3–7).
///
/// A value type: each mutating method takes the time it happens `at` and appends the facts it
/// produces to `events`, in log order. It never reads a clock, logs, or does I/O. Live calls,
/// simulation and rebuild all drive this one reducer; ``apply(_:)`` folds logged facts back
/// into the same state.
public struct BreakerMachine: Sendable {
    /// The configuration every key resolves its settings from.
    public let configuration: BreakerConfiguration

    /// What the hot path reads and writes for one key: its state, its window's bookkeeping and
    /// copies of the settings the window rules use. Free of references, so a write touches this
    /// slot and one window entry and nothing else; the key and full settings sit in parallel
    /// arrays (``slotKeys``, ``slotSettings``).
    struct Slot: @unchecked Sendable {
        // Safety: `window.base` points into `windowBuffers`, which is never written while shared.
        var state: CircuitState = .closed
        var generation: UInt64 = 0
        var window = WindowRing()
        let windowMs: Int64
        let latencyThresholdUs: Int64
        let callTimeoutMs: Int64
        let failureThreshold: Int
        let minimumCalls: Int
        let failureRateThreshold: Double?
        var probesInFlight: Int = 0
        var probeSuccesses: Int = 0
        var openedAt: Timestamp? = nil
        var currentOpenTimeoutMs: Int64

        init(settings s: BreakerSettings) {
            windowMs = s.windowMs
            latencyThresholdUs = s.latencyThresholdMs * 1000
            callTimeoutMs = s.callTimeoutMs
            failureThreshold = s.failureThreshold
            minimumCalls = s.minimumCalls
            failureRateThreshold = s.failureRateThreshold
            currentOpenTimeoutMs = s.openTimeoutMs
        }
    }

    /// A tool-wide force-open for all tenants (SPEC §7).
    public struct ToolSignal: Sendable, Hashable {
        public var at: Timestamp
        public var hold: Bool
        public var actor: String
        public var reason: String
    }

    struct ToolStatus: Sendable {
        var signal: ToolSignal?
        /// Tenants whose key for this tool is OPEN or FORCED_OPEN.
        var openTenants = 0
        /// A global-outage episode is in progress.
        var outageEpisode = false
        var traits = ToolTraits()
        var slots: [Int] = []
        let globalOutageTenants: Int
        let autoPropagate: Bool
    }

    var slots: [Slot] = []
    /// The key of each slot.
    var slotKeys: [BreakerKey] = []
    /// The settings in force for each slot.
    var slotSettings: [BreakerSettings] = []
    /// Owns the windows' entries (copy-on-write for the machine as a whole).
    var windowBuffers = WindowBuffers()
    /// Counts facts other than admitted-call outcomes (transitions, rejections, operator and
    /// outage records): a caller compares it before and after a step to skip scanning events.
    public private(set) var noteworthyCount: UInt64 = 0
    var index = KeyIndex()
    var tools: [ToolID: ToolStatus] = [:]
    var tenantSlots: [TenantID: [Int]] = [:]
    /// Resolved settings per tool, for tenants without overrides of their own.
    var toolSettings: [ToolID: BreakerSettings] = [:]

    /// An empty machine: every key starts CLOSED when first seen.
    public init(configuration: BreakerConfiguration = .standard) {
        self.configuration = configuration
    }

    // MARK: - Reading

    /// Every key seen, in first-seen order.
    public var keys: [BreakerKey] { slotKeys }

    /// The state of `key`, or `nil` if it was never seen.
    ///
    /// Copies the key's window; ``status(of:)`` reads the rest without it.
    public func state(of key: BreakerKey) -> KeyState? {
        slotIndex(of: key).map { keyState($0) }
    }

    /// The state of `key` without its window's entries, or `nil` if never seen. O(1).
    public func status(of key: BreakerKey) -> KeyStatus? {
        guard let i = slotIndex(of: key) else { return nil }
        let s = slots[i]
        return KeyStatus(
            state: s.state, generation: s.generation, openedAt: s.openedAt, currentOpenTimeoutMs: s.currentOpenTimeoutMs,
            probeSuccesses: s.probeSuccesses, probesInFlight: s.probesInFlight, windowCalls: Int(s.window.count),
            windowFailures: Int(s.window.failures))
    }

    /// The full state of slot `i`.
    func keyState(_ i: Int) -> KeyState {
        let s = slots[i]
        var st = KeyState(openTimeoutMs: s.currentOpenTimeoutMs)
        st.state = s.state
        st.generation = s.generation
        st.openedAt = s.openedAt
        st.probeSuccesses = s.probeSuccesses
        st.probesInFlight = s.probesInFlight
        st.window = SlidingWindow(entries: s.window.entries)
        return st
    }

    /// Sets slot `i` to `st` (restoring a snapshot).
    mutating func setKeyState(_ i: Int, _ st: KeyState) {
        slots[i].state = st.state
        slots[i].generation = st.generation
        slots[i].openedAt = st.openedAt
        slots[i].currentOpenTimeoutMs = st.currentOpenTimeoutMs
        slots[i].probeSuccesses = st.probeSuccesses
        slots[i].probesInFlight = st.probesInFlight
        slots[i].window.removeAll(buffers: nil, slot: i)
        for e in st.window.entries { appendToWindow(i, e) }
    }

    /// The key of slot `slot` (a ``Permit``'s key).
    public func key(ofSlot slot: Int) -> BreakerKey { slotKeys[slot] }

    /// The slot of `key` (stable for the machine's life), or `nil` if never seen.
    @inline(__always)
    public func slotIndex(of key: BreakerKey) -> Int? { index.slot(of: key, keys: slotKeys) }

    /// The settings in force for `key`.
    public func settings(for key: BreakerKey) -> BreakerSettings {
        if let i = slotIndex(of: key) { return slotSettings[i] }
        return configuration.settings(for: key)
    }

    /// The tool-wide force-open in force for `tool`, if any.
    public func signal(for tool: ToolID) -> ToolSignal? { tools[tool]?.signal }

    /// Whether a global-outage episode is in progress for `tool`.
    public func outageInProgress(for tool: ToolID) -> Bool { tools[tool]?.outageEpisode ?? false }

    /// Tenants whose key for `tool` is OPEN or FORCED_OPEN.
    public func openTenantCount(for tool: ToolID) -> Int { tools[tool]?.openTenants ?? 0 }

    /// Keys of `tenant`, in first-seen order.
    public func keys(of tenant: TenantID) -> [BreakerKey] {
        (tenantSlots[tenant] ?? []).map { slotKeys[$0] }
    }

    /// Every tool seen or registered.
    public var knownTools: [ToolID] { Array(tools.keys) }

    /// Every key with its durable state, sorted by key (for comparisons and snapshots).
    public var durableStates: [BreakerKey: KeyState] {
        var out: [BreakerKey: KeyState] = [:]
        out.reserveCapacity(slots.count)
        for i in slots.indices { out[slotKeys[i]] = keyState(i).durable }
        return out
    }

    // MARK: - Registration

    /// Declares what `tool` is like (side effects, health check). Affects admission only.
    public mutating func register(tool: ToolID, traits: ToolTraits) {
        ensureTool(tool)
        tools[tool]!.traits = traits
    }

    /// The traits registered for `tool`.
    public func traits(of tool: ToolID) -> ToolTraits { tools[tool]?.traits ?? ToolTraits() }

    // MARK: - Admission (SPEC §4)

    /// Admits or rejects a call for `key` in `turn` at `now`.
    ///
    /// Appends, in order: a start transition if the key is first seen under a tool-wide signal,
    /// an OPEN→HALF_OPEN transition if the open timeout elapsed, and a call record if rejected.
    public mutating func admit(
        _ key: BreakerKey, turn: TurnID?, at now: Timestamp, events: inout [BreakerEvent]
    ) -> Admission {
        let i = slot(for: key, at: now, events: &events)
        let settings = slotSettings[i]
        switch slots[i].state {
        case .closed:
            return .admitted(permit(i, turn: turn, probe: false, at: now))
        case .open:
            let st = slots[i]
            let openedAt = st.openedAt ?? now
            let elapsed = now.milliseconds - openedAt.milliseconds
            if elapsed >= st.currentOpenTimeoutMs {
                transition(i, to: .halfOpen, cause: .openTimeoutElapsed, at: now, events: &events)
                return admitHalfOpen(i, turn: turn, at: now, events: &events)
            }
            return reject(i, turn: turn, .circuitOpen, retryAfterMs: st.currentOpenTimeoutMs - elapsed, at: now, events: &events)
        case .halfOpen:
            return admitHalfOpen(i, turn: turn, at: now, events: &events)
        case .forcedOpen:
            return reject(i, turn: turn, .forcedOpen, retryAfterMs: settings.openTimeoutMs, at: now, events: &events)
        }
    }

    private mutating func admitHalfOpen(_ i: Int, turn: TurnID?, at now: Timestamp, events: inout [BreakerEvent])
        -> Admission
    {
        let traits = tools[slotKeys[i].tool]?.traits ?? ToolTraits()
        if traits.sideEffects && traits.hasHealthCheck {
            return reject(
                i, turn: turn, .awaitingHealthProbe, retryAfterMs: configuration.runtime.probeIntervalMs, at: now,
                events: &events)
        }
        let limit = traits.sideEffects ? 1 : slotSettings[i].halfOpenMaxInFlight
        guard slots[i].probesInFlight < limit else {
            return reject(
                i, turn: turn, .halfOpenProbeInFlight, retryAfterMs: slotSettings[i].callTimeoutMs, at: now,
                events: &events)
        }
        slots[i].probesInFlight += 1
        return .admitted(permit(i, turn: turn, probe: true, at: now))
    }

    private func permit(_ i: Int, turn: TurnID?, probe: Bool, at now: Timestamp) -> Permit {
        Permit(
            slot: i, turn: turn, generation: slots[i].generation, probe: probe,
            admittedAt: now, callTimeoutMs: slots[i].callTimeoutMs)
    }

    private mutating func reject(
        _ i: Int, turn: TurnID?, _ reason: RejectionReason, retryAfterMs: Int64, at now: Timestamp,
        events: inout [BreakerEvent]
    ) -> Admission {
        let key = slotKeys[i]
        noteworthyCount &+= 1
        events.append(
            .call(
                CallRecord(
                    time: now, tenant: key.tenant, tool: key.tool, turn: turn, outcome: .rejected,
                    reason: reason.rawValue, latencyUs: nil, generation: slots[i].generation, probe: false,
                    stale: false)))
        return .rejected(Rejection(key: key, reason: reason, retryAfterMs: retryAfterMs))
    }

    // MARK: - Health probes (SPEC §6)

    /// Keys of tools with a health check that a prober run at `now` would probe: OPEN with the
    /// open timeout elapsed, or HALF_OPEN with a free probe slot.
    public func keysDueForHealthProbe(at now: Timestamp) -> [BreakerKey] {
        var due: [BreakerKey] = []
        for (_, status) in tools where status.traits.hasHealthCheck {
            for i in status.slots {
                let st = slots[i]
                switch st.state {
                case .open:
                    if now.milliseconds - (st.openedAt ?? now).milliseconds >= st.currentOpenTimeoutMs { due.append(slotKeys[i]) }
                case .halfOpen:
                    if st.probesInFlight < probeLimit(i, status.traits) { due.append(slotKeys[i]) }
                case .closed, .forcedOpen:
                    break
                }
            }
        }
        return due
    }

    private func probeLimit(_ i: Int, _ traits: ToolTraits) -> Int {
        traits.sideEffects ? 1 : slotSettings[i].halfOpenMaxInFlight
    }

    /// Starts a health-check probe for `key` at `now`: OPEN with its timeout elapsed moves to
    /// HALF_OPEN first. Returns `nil` when the key is not due.
    public mutating func beginHealthProbe(_ key: BreakerKey, at now: Timestamp, events: inout [BreakerEvent]) -> Permit? {
        guard let i = slotIndex(of: key) else { return nil }
        let traits = tools[key.tool]?.traits ?? ToolTraits()
        let st = slots[i]
        switch st.state {
        case .open:
            guard now.milliseconds - (st.openedAt ?? now).milliseconds >= st.currentOpenTimeoutMs else { return nil }
            transition(i, to: .halfOpen, cause: .openTimeoutElapsed, at: now, events: &events)
        case .halfOpen:
            break
        case .closed, .forcedOpen:
            return nil
        }
        guard slots[i].probesInFlight < probeLimit(i, traits) else { return nil }
        slots[i].probesInFlight += 1
        return permit(i, turn: nil, probe: true, at: now)
    }

    // MARK: - Outcomes (SPEC §5)

    /// Records how the call of `permit` ended, at completion time `t`
    /// (for a timeout, `t` = admission + callTimeoutMs).
    public mutating func complete(
        _ permit: Permit, _ outcome: CallOutcome, at t: Timestamp, events: inout [BreakerEvent]
    ) -> Completion {
        let i = permit.slot
        let key = slotKeys[i]
        let stale = slots[i].generation != permit.generation
        let kind: CallOutcomeKind
        let reason: String?
        let latencyUs: Int64
        switch outcome {
        case .success(let l):
            kind = .success
            reason = nil
            latencyUs = l
        case .failure(let type, let l):
            kind = .failure
            reason = "tool_call_exception:\(type)"
            latencyUs = l
        case .timeout:
            kind = .timeout
            reason = "tool_call_timeout"
            latencyUs = slotSettings[i].callTimeoutMs * 1000
        case .cancelled(let l):
            kind = .cancelled
            reason = "cancelled"
            latencyUs = l
        }
        events.append(
            .call(
                CallRecord(
                    time: t, tenant: key.tenant, tool: key.tool, turn: permit.turn, outcome: kind, reason: reason,
                    latencyUs: latencyUs, generation: permit.generation, probe: permit.probe, stale: stale)))
        if !stale {
            if kind == .cancelled {
                if permit.probe { slots[i].probesInFlight -= 1 }
            } else {
                switch slots[i].state {
                case .closed:
                    let timedOut = kind == .timeout
                    appendToWindow(
                        i,
                        SlidingWindow.Entry(
                            time: t.milliseconds, latencyUs: latencyUs, failed: kind != .success,
                            slow: timedOut || latencyUs > slots[i].latencyThresholdUs, timedOut: timedOut))
                    evaluateWindow(i, at: t, events: &events)
                case .halfOpen:
                    slots[i].probesInFlight -= 1
                    if kind == .success {
                        slots[i].probeSuccesses += 1
                        if slots[i].probeSuccesses >= slotSettings[i].successThreshold {
                            transition(i, to: .closed, cause: .probeSucceeded, at: t, events: &events)
                        }
                    } else {
                        transition(i, to: .open, cause: .probeFailed, at: t, events: &events)
                    }
                case .open, .forcedOpen:
                    // Unreachable: every transition ends the generation, so a current permit
                    // always finds the state it was admitted in.
                    break
                }
            }
        }
        let state = slots[i].state
        return Completion(state: state, stale: stale, retryAfterMs: state == .closed ? 0 : retryAfter(i, at: t))
    }

    /// ms until a call to slot `i` could be admitted at `now` (0 while CLOSED).
    func retryAfter(_ i: Int, at now: Timestamp) -> Int64 {
        let st = slots[i]
        switch st.state {
        case .closed: return 0
        case .open: return max(0, (st.openedAt ?? now).milliseconds + st.currentOpenTimeoutMs - now.milliseconds)
        case .halfOpen: return st.probesInFlight < slotSettings[i].halfOpenMaxInFlight ? 0 : slotSettings[i].callTimeoutMs
        case .forcedOpen: return slotSettings[i].openTimeoutMs
        }
    }

    /// The open rules of SPEC §5.2, in order.
    @inline(__always)
    private mutating func evaluateWindow(_ i: Int, at t: Timestamp, events: inout [BreakerEvent]) {
        let n = Int(slots[i].window.count)
        let failures = Int(slots[i].window.failures)
        let cause: TransitionCause
        if failures >= slots[i].failureThreshold {
            cause = .failureThreshold
        } else if let r = slots[i].failureRateThreshold, n >= slots[i].minimumCalls, Double(failures) / Double(n) >= r {
            cause = .failureRate
        } else if n >= slots[i].minimumCalls, slots[i].window.p95IsSlow {
            cause = .slowCalls
        } else {
            return
        }
        let p95 = slots[i].window.p95LatencyUs
        transition(i, to: .open, cause: cause, at: t, failures: failures, calls: n, p95Us: p95, events: &events)
    }

    // MARK: - Operator actions (SPEC §7)

    /// Force-opens `tool` for `tenant`, or for every tenant when `tenant` is `nil`.
    ///
    /// Without hold, keys not OPEN/FORCED_OPEN go to OPEN (cause `forced`); with hold, every
    /// matching key goes to FORCED_OPEN (`forced_hold`). For all tenants the signal also covers
    /// keys first seen later.
    public mutating func forceOpen(
        tool: ToolID, tenant: TenantID?, hold: Bool, actor: String, reason: String, requestID: Int64? = nil, at now: Timestamp,
        events: inout [BreakerEvent]
    ) {
        noteworthyCount &+= 1
        events.append(
            .operatorAction(
                OperatorRecord(
                    time: now, tenant: tenant, tool: tool, op: hold ? .forceOpenHold : .forceOpen, actor: actor,
                    reason: reason, requestID: requestID)))
        forceOpenKeys(tool: tool, tenant: tenant, hold: hold, actor: actor, reason: reason, at: now, events: &events)
    }

    private mutating func forceOpenKeys(
        tool: ToolID, tenant: TenantID?, hold: Bool, actor: String, reason: String, at now: Timestamp,
        events: inout [BreakerEvent]
    ) {
        let targets: [Int]
        if let tenant {
            targets = [slot(for: BreakerKey(tenant: tenant, tool: tool), at: now, events: &events)]
        } else {
            ensureTool(tool)
            tools[tool]!.signal = ToolSignal(at: now, hold: hold, actor: actor, reason: reason)
            targets = tools[tool]?.slots ?? []
        }
        for i in targets {
            let st = slots[i].state
            if hold {
                if st != .forcedOpen {
                    transition(i, to: .forcedOpen, cause: .forcedHold, at: now, actor: actor, reason: reason, events: &events)
                }
            } else if !st.isOpen {
                transition(i, to: .open, cause: .forced, at: now, actor: actor, reason: reason, events: &events)
            }
        }
    }

    /// Releases `tool` for `tenant` or all tenants: OPEN and FORCED_OPEN keys go to HALF_OPEN.
    /// A release for all tenants also ends the tool-wide signal.
    public mutating func release(
        tool: ToolID, tenant: TenantID?, actor: String, reason: String, requestID: Int64? = nil, at now: Timestamp,
        events: inout [BreakerEvent]
    ) {
        noteworthyCount &+= 1
        events.append(
            .operatorAction(
                OperatorRecord(
                    time: now, tenant: tenant, tool: tool, op: .release, actor: actor, reason: reason, requestID: requestID)))
        let targets: [Int]
        if let tenant {
            targets = [slot(for: BreakerKey(tenant: tenant, tool: tool), at: now, events: &events)]
        } else {
            ensureTool(tool)
            tools[tool]!.signal = nil
            targets = tools[tool]?.slots ?? []
        }
        for i in targets where slots[i].state.isOpen {
            transition(i, to: .halfOpen, cause: .released, at: now, actor: actor, reason: reason, events: &events)
        }
    }

    /// Resets (tenant, tool): a key not CLOSED goes to CLOSED.
    public mutating func reset(
        tenant: TenantID, tool: ToolID, actor: String, reason: String, requestID: Int64? = nil, at now: Timestamp,
        events: inout [BreakerEvent]
    ) {
        noteworthyCount &+= 1
        events.append(
            .operatorAction(
                OperatorRecord(
                    time: now, tenant: tenant, tool: tool, op: .reset, actor: actor, reason: reason, requestID: requestID)))
        let i = slot(for: BreakerKey(tenant: tenant, tool: tool), at: now, events: &events)
        if slots[i].state != .closed {
            transition(i, to: .closed, cause: .reset, at: now, actor: actor, reason: reason, events: &events)
        }
    }

    // MARK: - Keys and transitions

    /// Creates the status of `tool` when first seen.
    mutating func ensureTool(_ tool: ToolID) {
        guard tools[tool] == nil else { return }
        let wide = configuration.toolWideSettings(tool: tool)
        tools[tool] = ToolStatus(globalOutageTenants: wide.globalOutageTenants, autoPropagate: wide.autoPropagate)
    }

    /// The slot of `key`, creating it when first seen (without any tool-wide start).
    mutating func createSlot(_ key: BreakerKey) -> Int {
        if let i = slotIndex(of: key) { return i }
        let settings: BreakerSettings
        if configuration.tenants.isEmpty || configuration.tenants[key.tenant] == nil {
            if let cached = toolSettings[key.tool] {
                settings = cached
            } else {
                settings = configuration.settings(for: key)
                toolSettings[key.tool] = settings
            }
        } else {
            settings = configuration.settings(for: key)
        }
        let i = slots.count
        slots.append(Slot(settings: settings))
        slotKeys.append(key)
        slotSettings.append(settings)
        index.insert(key, slot: i, keys: slotKeys)
        ensureTool(key.tool)
        tools[key.tool]!.slots.append(i)
        tenantSlots[key.tenant, default: []].append(i)
        return i
    }

    /// The slot of `key`; a key seen for the first time starts CLOSED, or as a tool-wide
    /// signal in force says (SPEC §7), recorded as a transition from `closed` at `now`.
    private mutating func slot(for key: BreakerKey, at now: Timestamp, events: inout [BreakerEvent]) -> Int {
        if let i = slotIndex(of: key) { return i }
        let i = createSlot(key)
        if let signal = tools[key.tool]?.signal {
            if signal.hold {
                transition(
                    i, to: .forcedOpen, cause: .forcedHold, at: now, actor: signal.actor, reason: signal.reason,
                    events: &events)
            } else if now.milliseconds - signal.at.milliseconds < slotSettings[i].openTimeoutMs {
                transition(
                    i, to: .open, cause: .forced, at: now, actor: signal.actor, reason: signal.reason,
                    openedAt: signal.at, events: &events)
            }
        }
        return i
    }

    private mutating func transition(
        _ i: Int, to: CircuitState, cause: TransitionCause, at now: Timestamp, failures: Int? = nil, calls: Int? = nil,
        p95Us: Int64? = nil, actor: String? = nil, reason: String? = nil, openedAt: Timestamp? = nil,
        events: inout [BreakerEvent]
    ) {
        let from = slots[i].state
        let record = TransitionRecord(
            time: now, tenant: slotKeys[i].tenant, tool: slotKeys[i].tool, from: from, to: to, cause: cause,
            generation: slots[i].generation + 1, failures: failures, calls: calls, p95Us: p95Us, actor: actor,
            reason: reason, openedAt: openedAt == now ? nil : openedAt)
        noteworthyCount &+= 1
        events.append(.transition(record))
        applyTransition(i, record)
        // SPEC §7: a key entering OPEN by any cause but an operator's may start a global-outage episode.
        let tool = slotKeys[i].tool
        guard to == .open, !cause.isOperator, let status = tools[tool], !status.outageEpisode,
            status.openTenants >= status.globalOutageTenants
        else { return }
        tools[tool]!.outageEpisode = true
        noteworthyCount &+= 1
        events.append(.globalOutage(GlobalOutageRecord(time: now, tool: tool, tenants: status.openTenants)))
        // SPEC §7: `auto` never replaces an operator's hold; then nothing more is recorded.
        if status.autoPropagate, status.signal?.hold != true {
            let reason = "\(status.openTenants) tenants open"
            events.append(
                .operatorAction(
                    OperatorRecord(time: now, tenant: nil, tool: tool, op: .forceOpen, actor: "auto", reason: reason)))
            forceOpenKeys(tool: tool, tenant: nil, hold: false, actor: "auto", reason: reason, at: now, events: &events)
        }
    }

    /// The state change of a transition record: shared by live transitions and the fold.
    private mutating func applyTransition(_ i: Int, _ r: TransitionRecord) {
        let settings = slotSettings[i]
        let wasOpen = slots[i].state.isOpen
        slots[i].state = r.to
        slots[i].generation = r.generation
        slots[i].probesInFlight = 0
        slots[i].probeSuccesses = 0
        switch r.to {
        case .closed:
            let owned = isKnownUniquelyReferenced(&windowBuffers)
            slots[i].window.removeAll(buffers: owned ? windowBuffers : nil, slot: i)
            slots[i].currentOpenTimeoutMs = settings.openTimeoutMs
        case .open:
            slots[i].openedAt = r.openedAt ?? r.time
            if r.cause == .probeFailed {
                slots[i].currentOpenTimeoutMs = settings.grownOpenTimeout(slots[i].currentOpenTimeoutMs)
            }
        case .forcedOpen:
            slots[i].openedAt = r.time
        case .halfOpen:
            break
        }
        let tool = slotKeys[i].tool
        if wasOpen != r.to.isOpen {
            tools[tool]!.openTenants += r.to.isOpen ? 1 : -1
        }
        if tools[tool]!.openTenants < tools[tool]!.globalOutageTenants {
            tools[tool]!.outageEpisode = false
        }
    }

    // MARK: - Windows

    /// Appends `entry` to slot `i`'s window, copying every window first if this machine
    /// shares its buffers with a copy of itself.
    @inline(__always)
    mutating func appendToWindow(_ i: Int, _ entry: SlidingWindow.Entry) {
        if !isKnownUniquelyReferenced(&windowBuffers) { copyWindows() }
        let windowMs = slots[i].windowMs
        slots[i].window.append(entry, windowMs: windowMs, buffers: windowBuffers, slot: i)
    }

    /// Gives this machine its own copy of every window's entries.
    private mutating func copyWindows() {
        let fresh = WindowBuffers()
        for i in slots.indices {
            let ring = slots[i].window
            guard ring.capacity > 0 else { continue }
            let p = UnsafeMutablePointer<SlidingWindow.Entry>.allocate(capacity: Int(ring.capacity))
            ring.copyEntries(to: p)
            fresh.replace(slot: i, with: p)
            slots[i].window.base = p
            slots[i].window.head = 0
        }
        windowBuffers = fresh
    }

    // MARK: - Fold (rebuild)

    /// The slot of `key` for a fold, created (CLOSED, generation 0) when first seen.
    public mutating func foldSlot(for key: BreakerKey) -> Int { createSlot(key) }

    /// Folds one call record of the key in `slot` (see ``apply(_:)``): the fast path of rebuild.
    public mutating func applyOutcome(
        slot i: Int, time: Timestamp, outcome: CallOutcomeKind, latencyUs: Int64?, probe: Bool, stale: Bool
    ) {
        guard !stale, outcome != .rejected, outcome != .cancelled else { return }
        switch slots[i].state {
        case .closed:
            let latency = latencyUs ?? 0
            let timedOut = outcome == .timeout
            appendToWindow(
                i,
                SlidingWindow.Entry(
                    time: time.milliseconds, latencyUs: latency, failed: outcome != .success,
                    slow: timedOut || latency > slots[i].latencyThresholdUs, timedOut: timedOut))
        case .halfOpen:
            if probe && outcome == .success { slots[i].probeSuccesses += 1 }
        case .open, .forcedOpen:
            break
        }
    }

    /// Folds one logged fact into the state, exactly as the live reducer changed it when the
    /// fact was produced. Replaying a log from the start through `apply` gives every key's
    /// durable state (probes in flight are 0).
    public mutating func apply(_ event: BreakerEvent) {
        switch event {
        case .call(let r):
            let i = createSlot(BreakerKey(tenant: r.tenant, tool: r.tool))
            applyOutcome(
                slot: i, time: r.time, outcome: r.outcome, latencyUs: r.latencyUs, probe: r.probe, stale: r.stale)
        case .transition(let r):
            let i = createSlot(BreakerKey(tenant: r.tenant, tool: r.tool))
            applyTransition(i, r)
        case .operatorAction(let r):
            if let tenant = r.tenant {
                _ = createSlot(BreakerKey(tenant: tenant, tool: r.tool))
            } else {
                switch r.op {
                case .forceOpen, .forceOpenHold:
                    ensureTool(r.tool)
                    tools[r.tool]!.signal = ToolSignal(
                        at: r.time, hold: r.op == .forceOpenHold, actor: r.actor, reason: r.reason)
                case .release:
                    ensureTool(r.tool)
                    tools[r.tool]!.signal = nil
                case .reset:
                    break
                }
            }
        case .globalOutage(let r):
            ensureTool(r.tool)
            tools[r.tool]!.outageEpisode = true
        case .logGap:
            // The dropped records are gone: the durable state is what the kept ones give.
            break
        }
    }
}
