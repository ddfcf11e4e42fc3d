// The steps of the machine: each decides facts from the state and its inputs, emits them and
// folds what the emitter answers. Written once, generic over the emitter: live steps keep every
// fact for the log; verification (`LogVerifier`) feeds the same steps the facts the log recorded.

extension BreakerMachine {
    // MARK: - Public steps (live)

    /// Admits or rejects a call for `key` in `turn` at `now` (SPEC §4), interning the key — or,
    /// for a key not known yet when `limits.maxKeys` are, answers ``Admission/untracked`` and
    /// keeps and records nothing.
    public mutating func admit(_ key: BreakerKey, turn: TurnID?, at now: Timestamp, facts: inout [Fact]) -> Step<Admission> {
        guard let ref = table.ref(of: key) else {
            if let max = configuration.limits.maxKeys, table.count >= max {
                return Step(result: .untracked, effects: StepEffects())
            }
            return admitting(intern(key), turn: turn, at: now, &facts)
        }
        return admitting(ref, turn: turn, at: now, &facts)
    }

    /// Admits or rejects a call for key `ref` in `turn` at `now` (SPEC §4).
    ///
    /// Records, in order: a start transition if the key is first seen under a tool-wide signal,
    /// an OPEN→HALF_OPEN transition if the open timeout elapsed, and a call record if rejected.
    public mutating func admit(_ ref: KeyRef, turn: TurnID?, at now: Timestamp, facts: inout [Fact]) -> Step<Admission> {
        admitting(ref, turn: turn, at: now, &facts)
    }

    /// Records how the call of `permit` ended, at completion time `t` (SPEC §5; for a timeout
    /// `t` is admission + its call timeout): its call record, then any transition it causes.
    public mutating func complete(_ permit: Permit, _ outcome: CallOutcome, at t: Timestamp, facts: inout [Fact]) -> Step<Completion> {
        completing(permit, outcome, at: t, &facts)
    }

    /// Applies an operator action at `now` (SPEC §7): its record, then the transitions it causes.
    @discardableResult
    public mutating func perform(_ action: OperatorAction, at now: Timestamp, facts: inout [Fact]) -> Step<Void> {
        performing(action, at: now, &facts)
    }

    /// Changes the configuration (SPEC §2): `change` is recorded (its configuration was validated
    /// as a whole when it was made) and from its time on every key resolves its settings from it.
    @discardableResult
    public mutating func configure(_ change: ConfigurationRecord, facts: inout [Fact]) -> Step<Void> {
        configuring(change, &facts)
    }

    /// Records a fleet episode that reached this node (SPEC §14): its record, then — when the key
    /// is CLOSED or was never seen (it is seen first, as by an operator action naming its tenant)
    /// — the key's transition to OPEN, cause `fleet_quorum`, at the record's time.
    @discardableResult
    public mutating func receive(_ episode: FleetRecord, facts: inout [Fact]) -> Step<Void> {
        receiving(episode, &facts)
    }

    /// Starts a health-check probe for `ref` at `now` (SPEC §6): an OPEN key whose timeout has
    /// elapsed moves to HALF_OPEN first. `nil` when the key is not due.
    public mutating func beginHealthProbe(_ ref: KeyRef, at now: Timestamp, facts: inout [Fact]) -> Step<Permit?> {
        beginningProbe(ref, at: now, &facts)
    }

    // MARK: - Emitting

    /// Hands `fact` to the emitter and folds what it answers, noting what the caller must do.
    ///
    /// The durability rule lives here alone (SPEC §8): a step that records anything but calls
    /// and log gaps — a transition, an operator action, a global outage, a configuration change,
    /// a fleet episode — is durable, with everything before it, before its caller returns.
    @inline(__always)
    mutating func emit<E: FactEmitter>(_ fact: consuming Fact, _ e: inout E, _ fx: inout StepEffects) {
        e.emit(fact) { folded in
            fx.facts += 1
            switch folded {
            case .call(let f):
                foldCall(f, noting: &fx)
            case .transition:
                fx.transitions += 1
                fx.mustBeDurable = true
                fold(copy folded)
            case .operatorAction:
                fx.mustBeDurable = true
                fold(copy folded)
            case .globalOutage:
                fx.globalOutages += 1
                fx.mustBeDurable = true
                fold(copy folded)
            case .logGap:
                fold(copy folded)
            case .configuration, .fleet:
                fx.mustBeDurable = true
                fold(copy folded)
            }
        }
    }

    /// Emits a call fact: as ``emit(_:_:_:)`` does, but live the machine folds it here and moves
    /// it to the emitter, with no copy and no dispatch on the fact's kind (every step records one).
    @inline(__always)
    mutating func emit<E: FactEmitter>(call fact: consuming CallFact, _ e: inout E, _ fx: inout StepEffects) {
        guard E.foldsEveryFact else {
            emit(.call(fact), &e, &fx)
            return
        }
        fx.facts += 1
        foldCall(fact, noting: &fx)
        e.append(folded: fact)
    }

    /// Folds a call fact and notes what its step's caller must act on (a rejection to count).
    @inline(__always)
    mutating func foldCall(_ f: borrowing CallFact, noting fx: inout StepEffects) {
        if f.result.kind == .rejected { fx.rejected = true }
        foldCall(f)
    }

    /// Emits the transition of `ref` to `to`, then what it may set off (SPEC §7): a
    /// global-outage event, and auto-propagation.
    mutating func transition<E: FactEmitter>(
        _ ref: KeyRef, to: CircuitState, cause: TransitionCause, at now: Timestamp, failures: Int? = nil, calls: Int? = nil,
        p95Us: Int64? = nil, actor: String? = nil, reason: String? = nil, openedAt: Timestamp? = nil, _ e: inout E,
        _ fx: inout StepEffects
    ) {
        let s = table[ref]
        let fact = TransitionFact(
            time: now, key: ref, from: s.state, to: to, cause: cause, generation: s.generation + 1, failures: failures, calls: calls,
            p95Us: p95Us, actor: actor, reason: reason, openedAt: openedAt == now ? nil : openedAt)
        emit(.transition(fact), &e, &fx)
        if to == .open && !cause.isOperator { afterOpening(tool: Int(s.tool), at: now, &e, &fx) }
    }

    /// SPEC §7: a key entered OPEN by any cause but an operator's. When the tenants open on its
    /// tool reach the threshold, a global-outage event opens an episode; with auto-propagation,
    /// the tool is force-opened for every tenant — unless an operator's hold is in force.
    mutating func afterOpening<E: FactEmitter>(tool: Int, at now: Timestamp, _ e: inout E, _ fx: inout StepEffects) {
        let wide = toolWide(tool)
        let status = tools[tool]
        guard !status.outageEpisode, status.openTenants >= wide.globalOutageTenants else { return }
        let name = table.tools.names[tool]
        emit(.globalOutage(GlobalOutageRecord(time: now, tool: name, tenants: status.openTenants)), &e, &fx)
        guard wide.autoPropagate, tools[tool].signal?.hold != true else { return }
        let action = OperatorAction(.forceOpen(.allTenants), tool: name, actor: "auto", reason: "\(status.openTenants) tenants open")
        performing(action, at: now, &e, &fx)
    }

    // MARK: - First sight (SPEC §4.1, §7)

    /// The transition a key first seen at `now` starts with under its tool's signal: held, or
    /// OPEN at the signal's time when seen within its open timeout of the signal. `nil` otherwise
    /// (it starts CLOSED, generation 0).
    func startFact(_ ref: KeyRef, at now: Timestamp) -> (to: CircuitState, cause: TransitionCause, signal: ToolSignal)? {
        let s = table[ref]
        guard !s.seen, let signal = tools[Int(s.tool)].signal else { return nil }
        return Self.start(under: signal, openTimeoutMs: settings[s.settings].openTimeoutMs, at: now).map { ($0.to, $0.cause, signal) }
    }

    /// The start of a key first seen at `now` under its tool's `signal` (SPEC §4.1, §7): held,
    /// or OPEN when seen within its open timeout of the signal; `nil`: it starts CLOSED.
    static func start(under signal: ToolSignal?, openTimeoutMs: Int64, at now: Timestamp) -> (to: CircuitState, cause: TransitionCause)? {
        guard let signal else { return nil }
        if signal.hold { return (.forcedOpen, .forcedHold) }
        if now.milliseconds - signal.at.milliseconds < openTimeoutMs { return (.open, .forced) }
        return nil
    }

    /// Sees key `ref` at `now`: a first sight under a tool-wide signal records its start transition.
    ///
    /// A key is seen once a record names it (the fold of a call or transition marks it), never by
    /// an admission alone: an admitted call of a new key records nothing until it completes, and a
    /// replay of the log must find the key exactly as unseen as the live machine had it — or a
    /// tool-wide action taken while that first call is in flight would move the key live and not
    /// in the replay.
    mutating func see<E: FactEmitter>(_ ref: KeyRef, at now: Timestamp, _ e: inout E, _ fx: inout StepEffects) {
        guard !table[ref].seen else { return }
        if let start = startFact(ref, at: now) { begin(ref, start, at: now, &e, &fx) }
    }

    /// Emits the start transition `start` of key `ref`, first seen at `now` under its tool's signal.
    mutating func begin<E: FactEmitter>(
        _ ref: KeyRef, _ start: (to: CircuitState, cause: TransitionCause, signal: ToolSignal), at now: Timestamp, _ e: inout E,
        _ fx: inout StepEffects
    ) {
        transition(
            ref, to: start.to, cause: start.cause, at: now, actor: start.signal.actor, reason: start.signal.reason,
            openedAt: start.to == .open ? start.signal.at : nil, &e, &fx)
    }

    // MARK: - Admission (SPEC §4)

    @inline(__always)
    mutating func admitting<E: FactEmitter>(_ ref: KeyRef, turn: TurnID?, at now: Timestamp, _ e: inout E) -> Step<Admission> {
        var fx = StepEffects()
        if !table[ref].seen { see(ref, at: now, &e, &fx) }
        var rule = admissionRule(ref, at: now)
        if case .halfOpenFirst = rule {
            transition(ref, to: .halfOpen, cause: .openTimeoutElapsed, at: now, &e, &fx)
            rule = admissionRule(ref, at: now)
        }
        switch rule {
        case .admit(let probe):
            if probe { table.writable(ref).pointee.probesInFlight += 1 }
            return Step(result: .admitted(admitted(ref, turn: turn, probe: probe, at: now)), effects: fx)
        case .reject(let reason, let retryAfterMs):
            // A key in shadow (SPEC §15) runs the call it would reject, changing nothing.
            guard settings[table[ref].settings].enforce else {
                return Step(result: .admitted(admitted(ref, turn: turn, probe: false, shadow: reason, at: now)), effects: fx)
            }
            return reject(ref, turn: turn, reason, retryAfterMs: retryAfterMs, at: now, &e, &fx)
        case .halfOpenFirst:
            preconditionFailure("a HALF_OPEN key is decided, never moved again")
        }
    }

    // MARK: - The admission rule (SPEC §4)

    /// What an admission decides from a key's state, before it acts: SPEC §4 stated once, for
    /// the step (``admitting(_:turn:at:_:)``) and for the question that changes nothing
    /// (``prospect(of:at:)``).
    enum AdmissionRule: Equatable {
        case admit(probe: Bool)
        /// The open timeout has elapsed: the key moves to HALF_OPEN, then is decided again.
        case halfOpenFirst
        case reject(RejectionReason, retryAfterMs: Int64)
    }

    /// What the admission rule reads of a key.
    struct AdmissionView {
        var state: CircuitState
        var openedAt: Int64
        var currentOpenTimeoutMs: Int64
        var probesInFlight: UInt32
    }

    @inline(__always)
    func admissionRule(_ ref: KeyRef, at now: Timestamp) -> AdmissionRule {
        let s = table[ref]
        return admissionRule(
            AdmissionView(
                state: s.state, openedAt: s.openedAt, currentOpenTimeoutMs: s.currentOpenTimeoutMs, probesInFlight: s.probesInFlight),
            traits: tools[Int(s.tool)].traits, settings: settings[s.settings], at: now)
    }

    @inline(__always)
    func admissionRule(
        _ v: AdmissionView, traits: @autoclosure () -> ToolTraits, settings: @autoclosure () -> BreakerSettings, at now: Timestamp
    ) -> AdmissionRule {
        switch v.state {
        case .closed:
            return .admit(probe: false)
        case .open:
            let elapsed = now.milliseconds - v.openedAt
            if elapsed >= v.currentOpenTimeoutMs { return .halfOpenFirst }
            return .reject(.circuitOpen, retryAfterMs: v.currentOpenTimeoutMs - elapsed)
        case .forcedOpen:
            return .reject(.forcedOpen, retryAfterMs: settings().openTimeoutMs)
        case .halfOpen:
            let traits = traits()
            if traits.sideEffects && traits.hasHealthCheck {
                return .reject(.awaitingHealthProbe, retryAfterMs: configuration.runtime.probeIntervalMs)
            }
            let settings = settings()
            guard v.probesInFlight < Self.probeLimit(traits, settings) else {
                return .reject(.halfOpenProbeInFlight, retryAfterMs: settings.callTimeoutMs)
            }
            return .admit(probe: true)
        }
    }

    /// The probes a HALF_OPEN key of this tool admits at once: none but health checks for a
    /// side-effect tool with one, one for a side-effect tool without, else halfOpenMaxInFlight.
    func probeLimit(_ ref: KeyRef) -> UInt32 {
        let s = table[ref]
        return Self.probeLimit(tools[Int(s.tool)].traits, settings[s.settings])
    }

    static func probeLimit(_ traits: ToolTraits, _ settings: BreakerSettings) -> UInt32 {
        traits.sideEffects ? 1 : UInt32(settings.halfOpenMaxInFlight)
    }

    /// What an admission of `key` would answer at `now`, changing nothing (SPEC §4) — for a key
    /// never seen, as it would start under its tool's signal. What `unavailableTools` and the
    /// system-prompt note are made of.
    public func prospect(of key: BreakerKey, at now: Timestamp) -> Prospect {
        let ref = table.ref(of: key)
        var view: AdmissionView
        let set: BreakerSettings
        if let ref, table[ref].seen {
            let s = table[ref]
            set = settings[s.settings]
            view = AdmissionView(
                state: s.state, openedAt: s.openedAt, currentOpenTimeoutMs: s.currentOpenTimeoutMs, probesInFlight: s.probesInFlight)
        } else {
            if ref == nil, let max = configuration.limits.maxKeys, table.count >= max { return .untracked }
            set = ref.map { settings[table[$0].settings] } ?? configuration.settings(for: key)
            let signal = signal(for: key.tool)
            view = AdmissionView(state: .closed, openedAt: .min, currentOpenTimeoutMs: set.openTimeoutMs, probesInFlight: 0)
            if let start = Self.start(under: signal, openTimeoutMs: set.openTimeoutMs, at: now), let signal {
                view.state = start.to
                view.openedAt = signal.at.milliseconds
            }
        }
        let traits = traits(of: key.tool)
        var rule = admissionRule(view, traits: traits, settings: set, at: now)
        if case .halfOpenFirst = rule {
            view.state = .halfOpen
            view.probesInFlight = 0
            rule = admissionRule(view, traits: traits, settings: set, at: now)
        }
        switch rule {
        case .admit(let probe): return .admitted(probe: probe)
        case .reject where !set.enforce: return .admitted(probe: false)
        case .reject(let reason, let retryAfterMs): return .rejected(state: view.state, reason: reason, retryAfterMs: retryAfterMs)
        case .halfOpenFirst: preconditionFailure("a HALF_OPEN key is decided, never moved again")
        }
    }

    @inline(__always)
    private mutating func admitted(
        _ ref: KeyRef, turn: TurnID?, probe: Bool, shadow: RejectionReason? = nil, at now: Timestamp
    ) -> Permit {
        let s = table.writable(ref)
        s.pointee.inFlight &+= 1
        return Permit(
            key: ref, turn: turn, generation: s.pointee.generation, probe: probe, admittedAt: now,
            callTimeoutMs: settings[s.pointee.settings].callTimeoutMs, shadow: shadow)
    }

    private mutating func reject<E: FactEmitter>(
        _ ref: KeyRef, turn: TurnID?, _ reason: RejectionReason, retryAfterMs: Int64, at now: Timestamp, _ e: inout E,
        _ fx: inout StepEffects
    ) -> Step<Admission> {
        let fact = CallFact(
            time: now, key: ref, turn: turn, result: .rejected(reason), latencyUs: nil, generation: table[ref].generation, probe: false,
            stale: false)
        emit(call: consume fact, &e, &fx)
        return Step(result: .rejected(Rejection(key: ref, reason: reason, retryAfterMs: retryAfterMs)), effects: fx)
    }

    // MARK: - Outcomes (SPEC §5)

    mutating func completing<E: FactEmitter>(
        _ permit: Permit, _ outcome: CallOutcome, at t: Timestamp, _ e: inout E
    ) -> Step<Completion> {
        var fx = StepEffects()
        let ref = permit.key
        let stale = table[ref].generation != permit.generation
        let result: CallResult
        let latencyUs: Int64
        switch outcome {
        case .success(let l):
            result = .success
            latencyUs = l
        case .failure(let type, let l):
            result = .failure(type)
            latencyUs = l
        case .timeout:
            result = .timeout
            latencyUs = permit.callTimeoutMs * 1000
        case .cancelled(let l):
            result = .cancelled
            latencyUs = l
        }
        // What the log does not keep: the call is no longer in flight, nor is a current probe.
        let volatile = table.writable(ref)
        if volatile.pointee.inFlight > 0 { volatile.pointee.inFlight -= 1 }
        if !stale && permit.probe && volatile.pointee.probesInFlight > 0 { volatile.pointee.probesInFlight -= 1 }
        let fact = CallFact(
            time: t, key: ref, turn: permit.turn, result: result, latencyUs: latencyUs, generation: permit.generation,
            probe: permit.probe, stale: stale, shadow: permit.shadow)
        emit(call: consume fact, &e, &fx)
        if permit.shadow != nil { fx.shadowCall = true }
        if !stale && permit.shadow == nil && result.kind != .cancelled {
            switch table[ref].state {
            case .closed:
                applyWindowRules(ref, at: t, &e, &fx)
            case .halfOpen:
                if result.kind == .success {
                    if table[ref].probeSuccesses >= settings[table[ref].settings].successThreshold {
                        transition(ref, to: .closed, cause: .probeSucceeded, at: t, &e, &fx)
                    }
                } else {
                    transition(ref, to: .open, cause: .probeFailed, at: t, &e, &fx)
                }
            case .open, .forcedOpen:
                // Unreachable: every transition ends the generation, so a current permit
                // always finds the state it was admitted in.
                break
            }
        }
        let state = table[ref].state
        return Step(
            result: Completion(state: state, stale: stale, retryAfterMs: state == .closed ? 0 : retryAfter(ref, at: t)), effects: fx)
    }

    /// The open rules of SPEC §5.2, in order, on the window the call record was folded into.
    @inline(__always)
    mutating func applyWindowRules<E: FactEmitter>(_ ref: KeyRef, at t: Timestamp, _ e: inout E, _ fx: inout StepEffects) {
        let n = Int(table[ref].window.count)
        let failures = Int(table[ref].window.failures)
        let number = table[ref].settings
        let cause: TransitionCause
        if failures >= settings[number].failureThreshold {
            cause = .failureThreshold
        } else if let r = settings[number].failureRateThreshold, n >= settings[number].minimumCalls, Double(failures) / Double(n) >= r {
            cause = .failureRate
        } else if n >= settings[number].minimumCalls, SlidingWindow.p95IsSlow(count: n, slowCalls: Int(table[ref].window.slowCalls)) {
            cause = .slowCalls
        } else {
            return
        }
        let p95 = SlidingWindow.p95LatencyUs(of: table[ref].window.entries)
        transition(ref, to: .open, cause: cause, at: t, failures: failures, calls: n, p95Us: p95, &e, &fx)
    }

    /// ms until a call to `ref` could be admitted at `now` (0 while CLOSED).
    func retryAfter(_ ref: KeyRef, at now: Timestamp) -> Int64 {
        let s = table[ref]
        switch s.state {
        case .closed: return 0
        case .open: return max(0, s.openedAt + s.currentOpenTimeoutMs - now.milliseconds)
        case .halfOpen: return s.probesInFlight < probeLimit(ref) ? 0 : settings[s.settings].callTimeoutMs
        case .forcedOpen: return settings[s.settings].openTimeoutMs
        }
    }

    // MARK: - Health probes (SPEC §6)

    /// Keys of tools with a health check that a prober run at `now` would probe: OPEN with the
    /// open timeout elapsed, or HALF_OPEN with a free probe slot.
    public func keysDueForHealthProbe(at now: Timestamp) -> [KeyRef] {
        var due: [KeyRef] = []
        for (tool, status) in tools.enumerated() where status.traits.hasHealthCheck {
            for i in table.keys(ofTool: tool) {
                let ref = KeyRef(i)
                let s = table[ref]
                guard s.seen else { continue }
                switch s.state {
                case .open:
                    if now.milliseconds - s.openedAt >= s.currentOpenTimeoutMs { due.append(ref) }
                case .halfOpen:
                    if s.probesInFlight < probeLimit(ref) { due.append(ref) }
                case .closed, .forcedOpen:
                    break
                }
            }
        }
        return due
    }

    mutating func beginningProbe<E: FactEmitter>(_ ref: KeyRef, at now: Timestamp, _ e: inout E) -> Step<Permit?> {
        var fx = StepEffects()
        let s = table[ref]
        switch s.state {
        case .open:
            guard now.milliseconds - s.openedAt >= s.currentOpenTimeoutMs else { return Step(result: nil, effects: fx) }
            transition(ref, to: .halfOpen, cause: .openTimeoutElapsed, at: now, &e, &fx)
        case .halfOpen:
            break
        case .closed, .forcedOpen:
            return Step(result: nil, effects: fx)
        }
        guard table[ref].probesInFlight < probeLimit(ref) else { return Step(result: nil, effects: fx) }
        table.writable(ref).pointee.probesInFlight += 1
        return Step(result: admitted(ref, turn: nil, probe: true, at: now), effects: fx)
    }

    // MARK: - Configuration changes (SPEC §2)

    mutating func configuring<E: FactEmitter>(_ change: ConfigurationRecord, _ e: inout E) -> Step<Void> {
        var fx = StepEffects()
        emit(.configuration(change), &e, &fx)
        return Step(result: (), effects: fx)
    }

    // MARK: - Operator actions (SPEC §7)

    mutating func performing<E: FactEmitter>(_ action: OperatorAction, at now: Timestamp, _ e: inout E) -> Step<Void> {
        var fx = StepEffects()
        performing(action, at: now, &e, &fx)
        return Step(result: (), effects: fx)
    }

    /// Records the action, then moves the keys it names: force-open (OPEN, or FORCED_OPEN with
    /// hold; for all tenants also a signal for keys seen later), release (OPEN and FORCED_OPEN to
    /// HALF_OPEN; for all tenants the signal ends), reset (to CLOSED). A key already in the target
    /// state is left alone; an action naming one tenant sees its key first.
    mutating func performing<E: FactEmitter>(_ action: OperatorAction, at now: Timestamp, _ e: inout E, _ fx: inout StepEffects) {
        // A key named for the first time is seen after the action's record, but by the rule in
        // force before it (the record of an action for one tenant sets no signal).
        let named = action.command.tenant.map { intern(BreakerKey(tenant: $0, tool: action.tool)) }
        let start = named.flatMap { startFact($0, at: now) }
        let record = OperatorRecord(
            time: now, tenant: action.tenant, tool: action.tool, op: action.op, actor: action.actor, reason: action.reason,
            requestID: action.requestID, fleetSeq: action.fleetSeq)
        emit(.operatorAction(record), &e, &fx)
        let targets: [KeyRef]
        if let named {
            if let start { begin(named, start, at: now, &e, &fx) }
            targets = [named]
        } else {
            let tool = table.tools.number(of: action.tool).map(Int.init)
            targets = tool.map { table.keys(ofTool: $0).map(KeyRef.init).filter { table[$0].seen } } ?? []
        }
        for ref in targets {
            let state = table[ref].state
            switch action.command {
            case .forceOpenHold:
                if state != .forcedOpen {
                    transition(ref, to: .forcedOpen, cause: .forcedHold, at: now, actor: action.actor, reason: action.reason, &e, &fx)
                }
            case .forceOpen:
                if !state.isOpen {
                    transition(ref, to: .open, cause: .forced, at: now, actor: action.actor, reason: action.reason, &e, &fx)
                }
            case .release:
                if state.isOpen {
                    transition(ref, to: .halfOpen, cause: .released, at: now, actor: action.actor, reason: action.reason, &e, &fx)
                }
            case .reset:
                if state != .closed {
                    transition(ref, to: .closed, cause: .reset, at: now, actor: action.actor, reason: action.reason, &e, &fx)
                }
            }
        }
    }

    // MARK: - Fleet episodes (SPEC §14)

    mutating func receiving<E: FactEmitter>(_ episode: FleetRecord, _ e: inout E) -> Step<Void> {
        var fx = StepEffects()
        let ref = intern(episode.key)
        let start = startFact(ref, at: episode.time)
        emit(.fleet(episode), &e, &fx)
        if let start { begin(ref, start, at: episode.time, &e, &fx) }
        if table[ref].state == .closed { transition(ref, to: .open, cause: .fleetQuorum, at: episode.time, &e, &fx) }
        return Step(result: (), effects: fx)
    }
}
