public import BreakerCore
import BreakerRuntime
public import BreakerStore
import Logging
import Metrics

/// What a candidate configuration would have done with the calls a store recorded (SPEC §15).
///
/// The store's records are fed in log order (``feed(_:)``). Each becomes input for one fresh
/// breaker per candidate, run by the one ``Simulation`` on a virtual clock with the candidate in
/// force throughout: an admitted call record is a call admitted at its time less its latency with
/// its recorded result, a shadow call likewise, a rejection a call of unknown outcome; operator
/// actions and fleet records replay as recorded; configuration records, transitions and
/// everything else are output, not input. The same records, and what each candidate's breaker
/// writes, are counted by one ``BlockTally``: recorded and candidate figures are the same
/// function of two logs.
public struct WhatIfReplay {
    /// How the replay's input is ordered: by admission time, then by record order. The line
    /// itself waits in ``slots``: sorting moves 24 bytes, not a line and its names.
    struct Input: Comparable {
        let at: Int64
        let seq: Int64
        let slot: Int
        static func < (a: Input, b: Input) -> Bool { a.at == b.at ? a.seq < b.seq : a.at < b.at }
        static func == (a: Input, b: Input) -> Bool { a.at == b.at && a.seq == b.seq }
    }

    /// One candidate's breaker, its run and what it wrote.
    final class Candidate {
        let configuration: BreakerConfiguration
        let sink: TallySink
        var run: Simulation.Run
        /// Would-reject and admitted-unknown counts, per key.
        var decisions: [BreakerKey: WhatIfFigures] = [:]

        init(_ configuration: BreakerConfiguration, start: Timestamp, range: BlockTally.Range, tenant: TenantID?) {
            self.configuration = configuration
            let clock = ManualWallClock(start: start)
            sink = TallySink(BlockTally(range: range, tenant: tenant))
            let breaker = CircuitBreaker(
                configuration: configuration, wallClock: clock, sink: sink,
                logger: Logger(label: "breakerctl.whatif", factory: { _ in SwiftLogNoOpLogHandler() }),
                metricsFactory: NOOPMetricsHandler.instance)
            run = Simulation.Run(Simulation(breaker: breaker, clock: clock))
        }
    }

    let range: BlockTally.Range
    let tenant: TenantID?
    /// The longest latency of any call record: an input can be released once no record still to
    /// come can be admitted before it.
    let maxLatencyMs: Int64
    let batch: Int
    var recorded: BlockTally
    var candidates: [Candidate] = []
    /// Input not yet run, in arrival order: nearly in time order (a call is admitted at most the
    /// longest latency before its record), so sorting it costs little more than reading it.
    var pending: [Input] = []
    /// The lines waiting in `pending`, by slot; freed slots are reused.
    var slots: [Trace.Line?] = []
    var freeSlots: [Int] = []
    /// Records read.
    public private(set) var records: Int64 = 0

    /// - Parameters:
    ///   - candidates: the configurations to try, each in force throughout.
    ///   - tenant: count only this tenant's keys (every tenant's calls are still replayed: a
    ///     global outage is decided across tenants).
    ///   - from: first hour counted (inclusive); `nil` from the first record.
    ///   - to: end hour (exclusive); `nil` to the end of the log. Nothing at or after it is replayed.
    ///   - maxLatencyUs: the longest latency of any call record in the log.
    ///   - batch: how much input gathers before it is sorted and run (any value gives the same
    ///     answer; larger ones sort less often).
    public init(
        candidates: [BreakerConfiguration], tenant: TenantID?, from: Timestamp?, to: Timestamp?, maxLatencyUs: Int64, start: Timestamp,
        batch: Int = 16_384
    ) {
        self.batch = batch
        range = BlockTally.Range(from: from?.milliseconds ?? .min, to: to?.milliseconds ?? .max)
        self.tenant = tenant
        maxLatencyMs = (maxLatencyUs + 999) / 1000
        recorded = BlockTally(range: range, tenant: tenant)
        self.candidates = candidates.map { Candidate($0, start: start, range: range, tenant: tenant) }
    }

    /// Takes the next record of the log (in log order, `seq` increasing).
    public mutating func feed(_ event: LoggedEvent) {
        records += 1
        switch event.event {
        case .call(let c):
            recorded.count(call: c.time, c.tenant, c.tool, turn: c.turn, rejected: c.result.kind == .rejected)
            guard let turn = c.turn, let line = Self.replayed(c, turn: turn) else { return }
            // Calls end in log order; one admitted at t − latency is released once no later record
            // can be admitted before it.
            release(before: c.time.adding(milliseconds: -maxLatencyMs))
            push(line, seq: event.seq)
        case .transition(let t):
            recorded.count(transition: t.time, t.tenant, t.tool, to: t.to)
        case .operatorAction(let r):
            guard let command = try? OperatorCommand(op: r.op, tenant: r.tenant) else { return }
            release(before: r.time.adding(milliseconds: -maxLatencyMs))
            let action = OperatorAction(command, tool: r.tool, actor: r.actor, reason: r.reason)
            push(.operatorAction(Trace.TraceOperatorAction(at: r.time, action: action, line: 0)), seq: event.seq)
        case .fleet(let r):
            release(before: r.time.adding(milliseconds: -maxLatencyMs))
            push(.fleet(r, line: 0), seq: event.seq)
        case .globalOutage, .logGap, .configuration:
            break
        }
    }

    private mutating func push(_ line: Trace.Line, seq: Int64) {
        guard line.at.milliseconds < range.to else { return }
        let slot: Int
        if let free = freeSlots.popLast() {
            slot = free
            slots[slot] = line
        } else {
            slot = slots.count
            slots.append(line)
        }
        pending.append(Input(at: line.at.milliseconds, seq: seq, slot: slot))
    }

    /// Runs every input admitted at or before `limit` through each candidate, in order; with a
    /// limit, only once enough has gathered to be worth a sort.
    private mutating func release(before limit: Timestamp?) {
        if limit != nil && pending.count < batch { return }
        pending.sort()
        let end = limit.map { l in pending.firstIndex { $0.at > l.milliseconds } ?? pending.count } ?? pending.count
        for next in pending[..<end] {
            var taken: Trace.Line? = nil
            swap(&taken, &slots[next.slot])
            let line = taken!
            freeSlots.append(next.slot)
            for candidate in candidates {
                let admission = candidate.run.feed(line)
                // Most calls are admitted with a known outcome: nothing to count for them.
                guard case .call(let call) = line, let admission, range.contains(call.at.milliseconds),
                    tenant.map({ $0 == call.tenant }) ?? true
                else { continue }
                let key = { BreakerKey(tenant: call.tenant, tool: call.tool) }
                switch (admission, call.result) {
                case (.rejected, .unknown): candidate.decisions[key(), default: WhatIfFigures()].wouldRejectUnknown += 1
                case (.rejected, .ok): candidate.decisions[key(), default: WhatIfFigures()].wouldRejectSucceeded += 1
                case (.rejected, .error), (.rejected, .hang): candidate.decisions[key(), default: WhatIfFigures()].wouldRejectFailed += 1
                case (.admitted, .unknown), (.untracked, .unknown):
                    candidate.decisions[key(), default: WhatIfFigures()].admittedUnknown += 1
                case (.admitted, _), (.untracked, _): break
                }
            }
        }
        pending.removeFirst(end)
    }

    /// The replayed call of a call record, or `nil` for one left out (cancelled).
    static func replayed(_ c: CallRecord, turn: TurnID) -> Trace.Line? {
        let result: Trace.Result
        switch c.result {
        case .success: result = .ok
        case .failure(let type): result = .error(type: type)
        case .timeout: result = .hang
        case .rejected: result = .unknown
        case .cancelled: return nil
        }
        let latencyUs = c.result.kind == .rejected ? 0 : max(0, c.latencyUs ?? 0)
        let latencyMs = latencyUs / 1000
        return .call(
            Trace.TraceCall(
                at: c.time.adding(milliseconds: -latencyMs), tenant: c.tenant, tool: c.tool, turn: turn,
                latencyMs: result == .hang || result == .unknown ? nil : latencyMs, result: result, line: 0,
                latencyUs: result == .hang || result == .unknown ? nil : latencyUs))
    }

    /// Runs what is left and returns each candidate's result, in the order given.
    public mutating func finish() -> [WhatIfResult] {
        release(before: nil)
        return candidates.map { candidate in
            _ = candidate.run.finish()
            let made = candidate.sink.tally
            var rows: [WhatIfRow] = []
            let keys = Set(recorded.perKey.keys).union(made.perKey.keys).union(candidate.decisions.keys)
            var total = WhatIfFigures()
            for key in keys {
                var f = candidate.decisions[key] ?? WhatIfFigures()
                let r = recorded.perKey[key] ?? BlockTally.KeyCounts()
                let m = made.perKey[key] ?? BlockTally.KeyCounts()
                f.opensRecorded = r.opens
                f.opensCandidate = m.opens
                f.callsRejectedRecorded = r.rejected
                f.callsRejectedCandidate = m.rejected
                f.turnsBlockedRecorded = r.turnsBlocked
                f.turnsBlockedCandidate = m.turnsBlocked
                total = total + f
                if f.differs { rows.append(WhatIfRow(tenant: key.tenant.rawValue, tool: key.tool.rawValue, figures: f)) }
            }
            // A turn blocked by two tools counts once in the totals (SPEC §9's turns_blocked).
            total.turnsBlockedRecorded = recorded.turnsBlocked
            total.turnsBlockedCandidate = made.turnsBlocked
            rows.sort(by: Self.byteOrder)
            return WhatIfResult(configuration: candidate.configuration, rows: rows, total: total)
        }
    }

    static func byteOrder(_ a: WhatIfRow, _ b: WhatIfRow) -> Bool {
        if a.tenant != b.tenant { return a.tenant.utf8.lexicographicallyPrecedes(b.tenant.utf8) }
        return a.tool.utf8.lexicographicallyPrecedes(b.tool.utf8)
    }
}

/// The figures of SPEC §15 for one key, or in total.
public struct WhatIfFigures: Sendable, Hashable {
    public var opensRecorded = 0
    public var opensCandidate = 0
    public var callsRejectedRecorded = 0
    public var callsRejectedCandidate = 0
    public var turnsBlockedRecorded = 0
    public var turnsBlockedCandidate = 0
    /// Calls the candidate rejects whose recorded outcome was a failure or a timeout.
    public var wouldRejectFailed = 0
    /// Calls the candidate rejects that succeeded.
    public var wouldRejectSucceeded = 0
    /// Calls the candidate rejects that were rejected when recorded: their outcome is not known.
    public var wouldRejectUnknown = 0
    /// Recorded rejections the candidate admits.
    public var admittedUnknown = 0

    public init() {}

    /// The candidate did something else with this key than what was recorded: a figure differs,
    /// or it rejects calls that ran, or admits calls that were rejected.
    public var differs: Bool {
        opensRecorded != opensCandidate || callsRejectedRecorded != callsRejectedCandidate
            || turnsBlockedRecorded != turnsBlockedCandidate || wouldRejectFailed != 0 || wouldRejectSucceeded != 0
            || admittedUnknown != 0
    }

    /// The figures in the order of the CSV columns after `tenant,tool`.
    public var values: [Int] {
        [
            opensRecorded, opensCandidate, callsRejectedRecorded, callsRejectedCandidate, turnsBlockedRecorded, turnsBlockedCandidate,
            wouldRejectFailed, wouldRejectSucceeded, wouldRejectUnknown, admittedUnknown,
        ]
    }

    public static func + (a: WhatIfFigures, b: WhatIfFigures) -> WhatIfFigures {
        var s = WhatIfFigures()
        s.opensRecorded = a.opensRecorded + b.opensRecorded
        s.opensCandidate = a.opensCandidate + b.opensCandidate
        s.callsRejectedRecorded = a.callsRejectedRecorded + b.callsRejectedRecorded
        s.callsRejectedCandidate = a.callsRejectedCandidate + b.callsRejectedCandidate
        s.turnsBlockedRecorded = a.turnsBlockedRecorded + b.turnsBlockedRecorded
        s.turnsBlockedCandidate = a.turnsBlockedCandidate + b.turnsBlockedCandidate
        s.wouldRejectFailed = a.wouldRejectFailed + b.wouldRejectFailed
        s.wouldRejectSucceeded = a.wouldRejectSucceeded + b.wouldRejectSucceeded
        s.wouldRejectUnknown = a.wouldRejectUnknown + b.wouldRejectUnknown
        s.admittedUnknown = a.admittedUnknown + b.admittedUnknown
        return s
    }
}

/// One row of a what-if: a key that differs, or the totals (`*`, `*`).
public struct WhatIfRow: Sendable, Hashable {
    public var tenant: String
    public var tool: String
    public var figures: WhatIfFigures

    public init(tenant: String, tool: String, figures: WhatIfFigures) {
        self.tenant = tenant
        self.tool = tool
        self.figures = figures
    }
}

/// One candidate's answer: its rows that differ (sorted by tenant then tool, byte order) and its totals.
public struct WhatIfResult: Sendable {
    public var configuration: BreakerConfiguration
    public var rows: [WhatIfRow]
    public var total: WhatIfFigures

    /// The CSV header of SPEC §15.
    public static let columns = [
        "tenant", "tool", "opens_recorded", "opens_candidate", "calls_rejected_recorded", "calls_rejected_candidate",
        "turns_blocked_recorded", "turns_blocked_candidate", "would_reject_failed", "would_reject_succeeded", "would_reject_unknown",
        "admitted_unknown",
    ]

    /// Every row, the totals last.
    public var allRows: [WhatIfRow] { rows + [WhatIfRow(tenant: "*", tool: "*", figures: total)] }

    /// The CSV of SPEC §15: header, the keys that differ, the totals; CRLF line ends.
    public var csv: String {
        CSV.line(Self.columns) + allRows.map { CSV.line([$0.tenant, $0.tool] + $0.figures.values.map(String.init)) }.joined()
    }
}

/// SPEC §9's numbers that a what-if compares, counted from one log's call records and
/// transitions: opens, rejected calls, and blocked turns, per key and in total, in a range of hours.
public struct BlockTally: Sendable {
    /// [from, to) in ms.
    public struct Range: Sendable {
        public var from: Int64
        public var to: Int64
        func contains(_ ms: Int64) -> Bool { ms >= from && ms < to }
    }
    struct KeyCounts: Sendable {
        var opens = 0
        var rejected = 0
        var turnsBlocked = 0
    }
    struct TurnKey: Hashable {
        let tenant: TenantID
        let turn: TurnID
    }

    let range: Range
    let tenant: TenantID?
    var perKey: [BreakerKey: KeyCounts] = [:]
    /// Turns blocked, each once however many tools blocked it.
    var turnsBlocked = 0
    /// Turns whose first call record is before the range: they belong to an earlier hour. Calls
    /// come in time order, so a turn not here when it is blocked in the range began in it.
    var turnsBefore: Set<TurnKey> = []
    /// The blocked turns of the range, with the tools that blocked them.
    var blockedBy: [TurnKey: [ToolID]] = [:]

    init(range: Range, tenant: TenantID?) {
        self.range = range
        self.tenant = tenant
    }

    /// Counts a call record (call records come in time order).
    mutating func count(call time: Timestamp, _ tenant: TenantID, _ tool: ToolID, turn: TurnID?, rejected: Bool) {
        if let only = self.tenant, only != tenant { return }
        let ms = time.milliseconds
        // A turn belongs to the hour of its first call record; the range is whole hours.
        guard ms >= range.from else {
            if let turn { turnsBefore.insert(TurnKey(tenant: tenant, turn: turn)) }
            return
        }
        // Only what happened before the range's end counts: the replay stops there.
        guard rejected, ms < range.to else { return }
        perKey[BreakerKey(tenant: tenant, tool: tool), default: KeyCounts()].rejected += 1
        guard let turn else { return }
        let k = TurnKey(tenant: tenant, turn: turn)
        guard !turnsBefore.contains(k) else { return }
        var tools = blockedBy[k] ?? []
        guard !tools.contains(tool) else { return }
        if tools.isEmpty { turnsBlocked += 1 }
        tools.append(tool)
        blockedBy[k] = tools
        perKey[BreakerKey(tenant: tenant, tool: tool), default: KeyCounts()].turnsBlocked += 1
    }

    /// Counts a transition: an open when it enters OPEN or FORCED_OPEN.
    mutating func count(transition time: Timestamp, _ tenant: TenantID, _ tool: ToolID, to state: CircuitState) {
        if let only = self.tenant, only != tenant { return }
        guard state == .open || state == .forcedOpen, range.contains(time.milliseconds) else { return }
        perKey[BreakerKey(tenant: tenant, tool: tool), default: KeyCounts()].opens += 1
    }
}

/// A sink that counts what a candidate's breaker writes instead of keeping it.
final class TallySink: FactSink {
    private struct State {
        var keys: [BreakerKey] = []
        var tally: BlockTally
    }
    private let state: Locked<State>

    init(_ tally: BlockTally) { state = Locked(State(tally: tally)) }

    var tally: BlockTally { state.withLock { $0.tally } }

    func append(keys: ArraySlice<BreakerKey>, facts: ArraySlice<Fact>) {
        state.withLock { s in
            s.keys.append(contentsOf: keys)
            for fact in facts {
                switch fact {
                case .call(let c):
                    let key = s.keys[Int(c.key.index)]
                    s.tally.count(call: c.time, key.tenant, key.tool, turn: c.turn, rejected: c.result.kind == .rejected)
                case .transition(let t):
                    let key = s.keys[Int(t.key.index)]
                    s.tally.count(transition: t.time, key.tenant, key.tool, to: t.to)
                default:
                    break
                }
            }
        }
    }
}
