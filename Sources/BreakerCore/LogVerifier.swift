/// Replays a log and checks that every recorded transition is justified by the records before
/// it (for `breakerctl verify`): the rule it names held, and its from-state and generation
/// follow from the state replayed so far.
public struct LogVerifier: Sendable {
    /// The state replayed so far.
    public private(set) var machine: BreakerMachine
    private var previous: BreakerEvent?
    private var operatorContext: (record: OperatorRecord, time: Timestamp)?
    private var outageContext: GlobalOutageRecord?
    /// Problems found, in log order.
    public private(set) var problems: [String] = []
    /// Transitions checked.
    public private(set) var transitionsChecked = 0
    /// Transitions that could not be checked because call records before them were dropped
    /// (a `log_gap`, SPEC §8): the log is the truth for rebuild, but not the whole story.
    public private(set) var uncheckableAfterGaps = 0
    /// Records up to this time may follow from dropped call records (the last gap's end plus the
    /// longest window in the configuration).
    private var gapShadowUntil: Timestamp?
    /// The end of the last gap.
    private var lastGapEnd: Timestamp?
    /// When each key last entered HALF_OPEN.
    private var halfOpenSince: [BreakerKey: Timestamp] = [:]

    public init(machine: BreakerMachine) {
        self.machine = machine
    }

    /// Checks `event` against the state so far, then folds it in.
    public mutating func check(_ event: BreakerEvent, seq: Int64) {
        if case .transition(let t) = event {
            transitionsChecked += 1
            if let problem = justify(t) {
                if followsGap(t) {
                    uncheckableAfterGaps += 1
                } else {
                    problems.append(
                        "seq \(seq): \(t.tenant)/\(t.tool) \(t.from.rawValue)→\(t.to.rawValue) (\(t.cause.rawValue)): \(problem)")
                }
            }
            let key = BreakerKey(tenant: t.tenant, tool: t.tool)
            if t.to == .halfOpen { halfOpenSince[key] = t.time } else { halfOpenSince[key] = nil }
        }
        switch event {
        case .operatorAction(let r): operatorContext = (r, r.time)
        case .globalOutage(let g): outageContext = g
        case .logGap(let g):
            lastGapEnd = g.to
            gapShadowUntil = g.to.adding(milliseconds: machine.configuration.longestWindowMs)
        default: break
        }
        machine.apply(event)
        previous = event
    }

    /// Whether `t` may have been caused by call records a gap dropped: it came within a window of
    /// the gap's end, or it ends a HALF_OPEN episode that began before the gap ended.
    private func followsGap(_ t: TransitionRecord) -> Bool {
        guard let until = gapShadowUntil, let gapEnd = lastGapEnd else { return false }
        if t.time <= until { return true }
        if t.from == .halfOpen, let since = halfOpenSince[BreakerKey(tenant: t.tenant, tool: t.tool)], since <= gapEnd { return true }
        return false
    }

    private func justify(_ t: TransitionRecord) -> String? {
        let key = BreakerKey(tenant: t.tenant, tool: t.tool)
        let st = machine.state(of: key)
        let state = st?.state ?? .closed
        let generation = st?.generation ?? 0
        if t.from != state { return "the key was \(state.rawValue)" }
        if t.generation != generation + 1 { return "generation \(t.generation) does not follow \(generation)" }
        let settings = machine.settings(for: key)
        switch t.cause {
        case .failureThreshold, .failureRate, .slowCalls:
            guard state == .closed, let w = st?.window else { return "a window rule fired on a key that was not closed" }
            guard case .call(let c)? = previous, c.tenant == t.tenant, c.tool == t.tool, c.time == t.time else {
                return "not preceded by the call that completed the window"
            }
            if t.failures != w.failures || t.calls != w.count {
                return "recorded \(t.failures ?? -1)/\(t.calls ?? -1) but the window held \(w.failures)/\(w.count)"
            }
            switch t.cause {
            case .failureThreshold:
                if w.failures < settings.failureThreshold { return "\(w.failures) failures < threshold \(settings.failureThreshold)" }
            case .failureRate:
                guard let r = settings.failureRateThreshold, w.count >= settings.minimumCalls, Double(w.failures) / Double(w.count) >= r
                else { return "the failure rate rule did not hold" }
            default:
                if w.count < settings.minimumCalls || !w.p95IsSlow { return "p95 was not above the latency threshold" }
            }
        case .openTimeoutElapsed:
            guard state == .open, let st, let opened = st.openedAt else { return "the key was not open" }
            if t.time.milliseconds - opened.milliseconds < st.currentOpenTimeoutMs { return "the open timeout had not elapsed" }
        case .probeSucceeded:
            guard state == .halfOpen, let st else { return "the key was not half-open" }
            if st.probeSuccesses < settings.successThreshold {
                return "\(st.probeSuccesses) probe successes < \(settings.successThreshold)"
            }
        case .probeFailed:
            guard state == .halfOpen, case .call(let c)? = previous, c.tenant == t.tenant, c.tool == t.tool, c.probe, !c.stale,
                c.outcome == .failure || c.outcome == .timeout
            else { return "not preceded by a failed probe of this key" }
        case .forced, .forcedHold, .released, .reset:
            let signalStart = st == nil && machine.signal(for: t.tool) != nil
            let auto = t.actor == "auto" && outageContext?.tool == t.tool
            guard let op = operatorContext, op.time == t.time, op.record.tool == t.tool,
                op.record.tenant == nil || op.record.tenant == t.tenant
            else {
                if signalStart || auto { return nil }
                return "no operator action for this key at this time"
            }
        }
        return nil
    }
}
