public import BreakerCore
import BreakerRuntime
public import BreakerStore

// The one file of BreakerReports that reads: it asks the store for the records and counters a
// report is computed from and hands them to the pure functions of this target. The store computes
// no report.

extension EventStore {
    /// The SLA report (SPEC §9) of `tenant`, or of every tenant, over [`from`, `to`).
    /// - Parameter now: open time stops here; default: the later of the wall clock and the log's
    ///   last record, so that a live report never counts time that has not happened.
    public func slaReport(
        tenant: TenantID?, from: Timestamp? = nil, to: Timestamp? = nil, now: Timestamp? = nil
    ) throws(BreakerError) -> SLAReport {
        let latest = try latestTime()
        let wall = SystemWallClock().now
        let now = now ?? latest.map { max($0, wall) } ?? wall
        return SLAReport(
            counts: try hourlyCounts(tenant: tenant), transitions: try transitions(tenant: tenant), tenant: tenant, from: from, to: to,
            now: now)
    }

    /// The audit timeline (SPEC §9) of `tenant`, optionally of one tool and a time range.
    /// - Parameter maxRows: with more rows than this, the reading stops and throws
    ///   ``BreakerError/Code/tooLarge`` (a service's bound on one answer).
    public func auditTimeline(
        tenant: TenantID, tool: ToolID? = nil, from: Timestamp? = nil, to: Timestamp? = nil, maxRows: Int? = nil
    ) throws(BreakerError) -> AuditTimeline {
        var timeline = AuditTimeline(from: from, to: to)
        try forEachEvent(
            EventFilter(
                tenant: tenant, tool: tool, kinds: [.transitions, .operatorActions, .globalOutages, .configurations, .fleet],
                turnNames: false)
        ) { e in
            timeline.fold(e.event)
            if let maxRows, timeline.rows.count > maxRows {
                throw BreakerError(.tooLarge, "the audit has more than \(maxRows) rows; narrow it with tool, from and to")
            }
        }
        return timeline
    }

    /// The calls of one turn of `tenant` (or of every tenant with a turn so named).
    public func turnAudit(turn: String, tenant: TenantID?) throws(BreakerError) -> TurnAudit {
        TurnAudit(calls: try turnCalls(turn: turn, tenant: tenant))
    }

    /// What the alert rules look at, read as the store was at `at` (default: the time of its
    /// newest record): every key's state replayed from the log up to and including `at`, the
    /// keys out of CLOSED then, and the tenants' call records in the `windowMs` before it.
    public func alertInputs(at: Timestamp?, windowMs: Int64) throws(BreakerError) -> AlertInputs {
        let latest = try latestTime() ?? Timestamp(milliseconds: 0)
        let at = at ?? latest
        let end = at.adding(milliseconds: 1)
        let machine = at >= latest ? try rebuild().machine : try replay(before: end)
        var states: [BreakerKey: CircuitState] = [:]
        for key in machine.keys { states[key] = machine.status(of: key)?.state }
        var tracker = NotClosedTracker()
        try forEachEvent(EventFilter(to: end, kinds: .transitions, turnNames: false)) { e in
            if case .transition(let t) = e.event { tracker.fold(t) }
        }
        var calls: [TenantID: (all: Int, blocked: Int)] = [:]
        try forEachEvent(EventFilter(from: Timestamp(milliseconds: at.milliseconds - windowMs), to: end, kinds: .calls, turnNames: false)) {
            e in
            guard case .call(let c) = e.event else { return }
            var tally = calls[c.tenant] ?? (0, 0)
            tally.all += 1
            if c.outcome == .rejected { tally.blocked += 1 }
            calls[c.tenant] = tally
        }
        let objectives = try objectiveStatuses(tenant: nil, configuration: machine.configuration, at: at)
        return AlertInputs(
            at: at, configuration: machine.configuration, states: states, notClosedSince: tracker.since, calls: calls,
            objectives: objectives)
    }
}

extension EventStore {
    /// What each of `candidates` would have done with the calls this store recorded (SPEC §15),
    /// each in force throughout, counted over the hours [`from`, `to`).
    /// - Parameters:
    ///   - progress: called every `progressEvery` records read with the records read so far.
    /// - Throws: ``BreakerError/Code/invalidArgument`` when the store has no call record.
    public func whatIf(
        candidates: [BreakerConfiguration], tenant: TenantID?, from: Timestamp? = nil, to: Timestamp? = nil,
        progressEvery: Int64 = 1_000_000, progress: (Int64) -> Void = { _ in }
    ) throws(BreakerError) -> [WhatIfResult] {
        guard try callRecordCount() > 0 else {
            throw BreakerError(
                .invalidArgument,
                "the store \(path) has no call records: there is nothing to replay (record some traffic first, in shadow mode if need be)")
        }
        let maxLatencyUs = try maxCallLatencyUs()
        var replay = WhatIfReplay(
            candidates: candidates, tenant: tenant, from: from, to: to, maxLatencyUs: maxLatencyUs, start: Timestamp(milliseconds: 0))
        // Calls admitted before `to` end within the longest latency after it.
        let readTo = to.map { $0.adding(milliseconds: (maxLatencyUs + 999) / 1000 + 1) }
        try forEachEvent(EventFilter(to: readTo, kinds: [.calls, .transitions, .operatorActions, .fleet])) { e in
            replay.feed(e)
            if replay.records % progressEvery == 0 { progress(replay.records) }
        }
        return replay.finish()
    }
}

extension EventStore {
    /// Checks that the log names `tenant` — a key of it, an operator action or a fleet record —
    /// so that a mistyped name is an error rather than an empty report.
    /// - Throws: ``BreakerError/Code/invalidArgument`` naming the closest names the log has.
    /// - Parameter place: how the message names the store (default: its path).
    public func requireKnownTenant(_ tenant: TenantID, in place: String? = nil) throws(BreakerError) {
        let names = try tenantNamesInLog()
        guard !names.contains(where: { $0.utf8.elementsEqual(tenant.rawValue.utf8) }) else { return }
        let closest = Self.closest(to: tenant.rawValue, among: names)
        let hint = closest.isEmpty ? "the store has no tenant yet" : "closest: " + closest.joined(separator: ", ")
        throw BreakerError(
            .invalidArgument, "tenant \(String(reflecting: tenant.rawValue)) is not in \(place ?? path) (\(hint))",
            context: ["tenant": tenant.rawValue])
    }

    /// Up to three of `names`, nearest to `name` by edit distance (ties by name).
    static func closest(to name: String, among names: [String]) -> [String] {
        let scored = names.map { (name: $0, distance: editDistance(name, $0)) }
        let sorted = scored.sorted { a, b in a.distance == b.distance ? a.name < b.name : a.distance < b.distance }
        return sorted.prefix(3).map(\.name)
    }

    /// Levenshtein distance between two names, case folded.
    static func editDistance(_ x: String, _ y: String) -> Int {
        let a = Array(x.lowercased().unicodeScalars)
        let b = Array(y.lowercased().unicodeScalars)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var row = Array(0...b.count)
        for i in 1...a.count {
            var diagonal = row[0]
            row[0] = i
            for j in 1...b.count {
                let above = row[j]
                let substitution = diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)
                row[j] = Swift.min(above + 1, row[j - 1] + 1, substitution)
                diagonal = above
            }
        }
        return row[b.count]
    }
}
