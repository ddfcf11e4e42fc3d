/// Checks a log by deciding it again (for `breakerctl verify`).
///
/// It folds the log from its start and, at each record that is an input — a call's outcome, a
/// rejected admission, a first sight or open-timeout admission, an operator action — runs the
/// machine's own step on that input and compares each fact the step decides with the fact the
/// log recorded in its place. There is no second copy of any rule: a step decides, the
/// verifier's emitter answers with the recorded fact, and the machine folds the log's truth.
///
/// What the log does not keep is taken from what it shows: a rejection because a probe was in
/// flight means a probe was in flight; `awaiting_health_probe` means the tool had a health check
/// and side effects. Records between a gap's first dropped record and the gap's own record may
/// follow from the records it dropped: a difference there is counted in ``uncheckableAfterGaps``,
/// not reported. The gap's record lays the live state of the keys it names over the machine, so
/// from there on every record is checked again. (A gap written without key states — before schema
/// 5 — leaves the machine short of what it dropped for a window's length after it.)
public struct LogVerifier: Sendable {
    /// The state folded so far.
    public private(set) var machine: BreakerMachine
    /// Problems found, in log order.
    public private(set) var problems: [String] = []
    /// Transitions checked.
    public private(set) var transitionsChecked = 0
    /// Records checked.
    public private(set) var recordsChecked = 0
    /// Differences that records dropped by a gap may explain.
    public private(set) var uncheckableAfterGaps = 0
    /// The spans of time whose records may follow from dropped call records, from the gaps of
    /// the log (known before their records are read: a gap's record comes after what it explains).
    private var gapSpans: [(from: Timestamp, through: Timestamp)]
    /// The end of the last gap read (for a HALF_OPEN episode it may have changed).
    private var lastGapEnd: Timestamp?
    /// When each key last entered HALF_OPEN.
    private var halfOpenSince: [KeyRef: Timestamp] = [:]
    /// Records read but not yet checked, with their facts.
    private var upcoming: [(seq: Int64, fact: Fact)] = []

    /// - Parameters:
    ///   - machine: the state the log starts from.
    ///   - gaps: the log's gaps (`EventStore.logGaps()`), so that the records a gap explains are
    ///     known as such before the gap's own record is read.
    public init(machine: BreakerMachine, gaps: [LogGapRecord] = []) {
        self.machine = machine
        self.gapSpans = gaps.map { (from: $0.from, through: Self.shadowEnd(of: $0, machine.configuration)) }
    }

    /// The last time whose records `gap` may explain: its own place when it keeps the states of
    /// the keys it names; a window's length past its last dropped record when it does not.
    static func shadowEnd(of gap: LogGapRecord, _ configuration: BreakerConfiguration) -> Timestamp {
        gap.keys == nil ? max(gap.time, gap.to.adding(milliseconds: configuration.longestWindowMs)) : gap.time
    }

    /// Takes the next record of the log (in log order); it is checked once every record of its
    /// time has been read, since a step's facts all carry the step's time.
    public mutating func check(_ event: BreakerEvent, seq: Int64) {
        let f = fact(of: event)
        if let last = upcoming.last, f.time > last.fact.time { checkAll(before: f.time) }
        upcoming.append((seq, f))
    }

    /// Checks the records still waiting (call after the last record).
    public mutating func finish() { checkAll(before: nil) }

    private mutating func checkAll(before limit: Timestamp?) {
        while let first = upcoming.first, limit.map({ first.fact.time < $0 }) ?? true { check(step: first) }
    }

    private mutating func fact(of event: BreakerEvent) -> Fact { machine.fact(of: event) }
}

extension BreakerMachine {
    /// The compact fact of a named record, its key interned (rebuild, verification).
    package mutating func fact(of event: BreakerEvent) -> Fact {
        switch event {
        case .call(let r):
            return .call(
                CallFact(
                    time: r.time, key: intern(BreakerKey(tenant: r.tenant, tool: r.tool)), turn: r.turn, result: r.result,
                    latencyUs: r.latencyUs, generation: r.generation, probe: r.probe, stale: r.stale, shadow: r.shadow))
        case .transition(let r):
            return .transition(
                TransitionFact(
                    time: r.time, key: intern(BreakerKey(tenant: r.tenant, tool: r.tool)), from: r.from, to: r.to, cause: r.cause,
                    generation: r.generation, failures: r.failures, calls: r.calls, p95Us: r.p95Us, actor: r.actor, reason: r.reason,
                    openedAt: r.openedAt))
        case .operatorAction(let r): return .operatorAction(r)
        case .globalOutage(let r): return .globalOutage(r)
        case .logGap(let r): return .logGap(r)
        case .configuration(let r): return .configuration(r)
        case .fleet(let r): return .fleet(r)
        }
    }
}

extension LogVerifier {
    /// Runs the step whose first record is `first` and checks its facts against the log.
    private mutating func check(step first: (seq: Int64, fact: Fact)) {
        var emitter = CheckingEmitter(upcoming: upcoming)
        switch first.fact {
        case .call(let c) where c.result.kind != .rejected:
            if c.shadow != nil && machine.settings[machine.table[c.key].settings].enforce {
                report(
                    first.seq, first.fact, "a shadow call of a key that enforces (SPEC §15: only a key in shadow runs what it would reject)"
                )
            }
            machine.assumeAdmitted(c)
            let permit = Permit(
                key: c.key, turn: c.turn, generation: c.generation, probe: c.probe, admittedAt: c.time,
                callTimeoutMs: (c.latencyUs ?? 0) / 1000, shadow: c.shadow)
            let outcome: CallOutcome
            switch c.result {
            case .success: outcome = .success(latencyUs: c.latencyUs ?? 0)
            case .failure(let type): outcome = .failure(errorType: type, latencyUs: c.latencyUs ?? 0)
            case .timeout: outcome = .timeout
            default: outcome = .cancelled(latencyUs: c.latencyUs ?? 0)
            }
            _ = machine.completing(permit, outcome, at: c.time, &emitter)
        case .call(let c):
            admission(of: c.key, turn: c.turn, at: c.time, rejectedAs: c.result, &emitter)
        case .transition(let t) where t.cause == .openTimeoutElapsed || (t.from == .closed && !machine.table[t.key].seen):
            // An admission: by an open timeout that elapsed, or a first sight under a signal. A
            // rejection recorded with it names the turn (none: admitted, or a health probe).
            let rejected = upcoming.dropFirst().first {
                if case .call(let c) = $0.fact, c.key == t.key, c.time == t.time, c.result.kind == .rejected { return true }
                return false
            }
            if case .call(let c)? = rejected?.fact {
                admission(of: t.key, turn: c.turn, at: t.time, rejectedAs: c.result, &emitter)
            } else if t.cause == .openTimeoutElapsed && machine.traits(of: machine.key(t.key).tool).hasHealthCheck {
                // The prober began a health probe (SPEC §6): for a side-effect tool no real call
                // could have, and for another one the facts are the same as a real probe's.
                _ = machine.beginningProbe(t.key, at: t.time, &emitter)
            } else {
                admission(of: t.key, turn: nil, at: t.time, rejectedAs: nil, &emitter)
            }
        case .operatorAction(let r):
            if let command = try? OperatorCommand(op: r.op, tenant: r.tenant) {
                _ = machine.performing(OperatorAction(command, tool: r.tool, actor: r.actor, reason: r.reason), at: r.time, &emitter)
            } else {
                report(first.seq, first.fact, "a reset of every tenant, which no operator can ask for")
                machine.fold(first.fact)
                emitter.consumed = 1
            }
        case .configuration(let r):
            _ = machine.configuring(r, &emitter)
        case .fleet(let r):
            _ = machine.receiving(r, &emitter)
        case .logGap(let g):
            lastGapEnd = g.time
            if g.keys == nil { gapSpans.append((from: g.from, through: Self.shadowEnd(of: g, machine.configuration))) }
            machine.fold(first.fact)
            emitter.consumed = 1
        case .transition, .globalOutage:
            // Nothing decides these on their own: a step that should have come before them did not.
            report(first.seq, first.fact, "no call, admission or operator action before it decides it")
            machine.fold(first.fact)
            emitter.consumed = 1
        }
        if emitter.consumed == 0 {
            // The step decided nothing the log has here; fold the record to stay with the log.
            report(first.seq, first.fact, "the records before it do not lead to it")
            machine.fold(first.fact)
            emitter.consumed = 1
        }
        for (seq, fact, problem) in emitter.problems { report(seq, fact, problem) }
        for (_, fact) in upcoming.prefix(emitter.consumed) {
            recordsChecked += 1
            if case .transition(let t) = fact {
                transitionsChecked += 1
                if t.to == .halfOpen { halfOpenSince[t.key] = t.time } else { halfOpenSince[t.key] = nil }
            }
        }
        upcoming.removeFirst(emitter.consumed)
    }

    /// Runs an admission of `ref` at `now`, with the state the log does not keep taken from the
    /// rejection it recorded.
    private mutating func admission(
        of ref: KeyRef, turn: TurnID?, at now: Timestamp, rejectedAs result: CallResult?, _ emitter: inout CheckingEmitter
    ) {
        let tool = machine.key(ref).tool
        let traits = machine.registeredTraits(of: tool)
        switch result {
        case .rejected(.halfOpenProbeInFlight)?: machine.assumeProbesBusy(ref)
        case .rejected(.awaitingHealthProbe)?: machine.register(tool: tool, traits: ToolTraits(sideEffects: true, hasHealthCheck: true))
        default: break
        }
        _ = machine.admitting(ref, turn: turn, at: now, &emitter)
        machine.register(tool: tool, traits: traits)
    }

    private mutating func report(_ seq: Int64, _ fact: Fact, _ problem: String) {
        if followsGap(fact) {
            uncheckableAfterGaps += 1
            return
        }
        guard problems.count < 50 else { return }
        problems.append("seq \(seq): \(describe(fact)): \(problem)")
    }

    /// Whether `fact` may follow from call records a gap dropped: within a gap's span, or ending
    /// a HALF_OPEN episode that began before the last gap's record (its probes in flight are not
    /// in the log).
    private func followsGap(_ fact: Fact) -> Bool {
        if gapSpans.contains(where: { fact.time >= $0.from && fact.time <= $0.through }) { return true }
        if case .transition(let t) = fact, t.from == .halfOpen, let gapEnd = lastGapEnd, let since = halfOpenSince[t.key], since <= gapEnd {
            return true
        }
        return false
    }

    private func describe(_ fact: Fact) -> String {
        switch BreakerEvent(fact, keys: machine) {
        case .call(let c): "\(c.tenant)/\(c.tool) call \(c.result.kind)"
        case .transition(let t): "\(t.tenant)/\(t.tool) \(t.from)→\(t.to) (\(t.cause))"
        case .operatorAction(let o): "\(o.op) \(o.tool)"
        case .globalOutage(let g): "global outage on \(g.tool)"
        case .logGap: "log gap"
        case .configuration: "configuration change"
        case .fleet(let f): "\(f.tenant)/\(f.tool) fleet episode"
        }
    }
}

/// Answers a step with the facts the log recorded, noting where they differ.
struct CheckingEmitter: FactEmitter {
    let upcoming: [(seq: Int64, fact: Fact)]
    /// Records taken by the step so far.
    var consumed = 0
    var problems: [(Int64, Fact, String)] = []

    init(upcoming: [(seq: Int64, fact: Fact)]) {
        self.upcoming = upcoming
    }

    mutating func emit(_ decided: consuming Fact, fold: (borrowing Fact) -> Void) {
        let decided = copy decided
        guard consumed < upcoming.count else {
            problems.append((upcoming.last?.seq ?? 0, decided, "the log ends where the rules record \(decided)"))
            return
        }
        let (seq, recorded) = upcoming[consumed]
        if Self.same(recorded, decided) {
            consumed += 1
            fold(recorded)
            return
        }
        if Self.sameSlot(recorded, decided) {
            consumed += 1
            problems.append((seq, recorded, "the records before it give \(decided)"))
            fold(recorded)
            return
        }
        problems.append((seq, recorded, "the rules record \(decided) before it"))
    }

    /// Equal as records (free text by its bytes).
    static func same(_ a: Fact, _ b: Fact) -> Bool {
        guard case .transition(let x) = a, case .transition(let y) = b else { return a == b }
        func bytes(_ s: String?) -> [UInt8]? { s.map { Array($0.utf8) } }
        var (x2, y2) = (x, y)
        (x2.actor, x2.reason, y2.actor, y2.reason) = (nil, nil, nil, nil)
        return x2 == y2 && bytes(x.actor) == bytes(y.actor) && bytes(x.reason) == bytes(y.reason)
    }

    /// The same kind of record for the same key: the log recorded something else in its place.
    static func sameSlot(_ a: Fact, _ b: Fact) -> Bool {
        switch (a, b) {
        case (.call(let x), .call(let y)): x.key == y.key
        case (.transition(let x), .transition(let y)): x.key == y.key
        case (.operatorAction(let x), .operatorAction(let y)): x.tool == y.tool
        case (.globalOutage(let x), .globalOutage(let y)): x.tool == y.tool
        case (.fleet(let x), .fleet(let y)): x.key == y.key
        default: false
        }
    }
}

extension BreakerMachine: KeyDirectory {}

extension BreakerMachine {
    /// Verification: the call of `fact` was admitted (the log does not record admissions).
    mutating func assumeAdmitted(_ fact: CallFact) {
        let s = table.writable(fact.key)
        s.pointee.inFlight &+= 1
        if fact.probe && !fact.stale && fact.generation == s.pointee.generation && s.pointee.state == .halfOpen {
            s.pointee.probesInFlight += 1
        }
    }

    /// Verification: as many probes of `ref` are in flight as its tool admits at once.
    mutating func assumeProbesBusy(_ ref: KeyRef) {
        let limit = probeLimit(ref)
        table.writable(ref).pointee.probesInFlight = limit
    }
}
