public import BreakerCore

/// The audit timeline of SPEC §9 for one tenant: its transitions, the operator actions that
/// name it or all tenants, the global-outage events in which its key was open and the fleet
/// episodes that reached its keys (SPEC §14) — in log order. A pure function of the tenant's records (the store filters and reads them).
public struct AuditTimeline: Sendable {
    /// The CSV columns.
    public static let columns = [
        "ts", "tenant", "tool", "event", "from_state", "to_state", "cause", "failures", "calls", "p95_ms", "actor", "reason",
    ]

    /// The timeline of `records` — the tenant's transitions, operator actions and global-outage
    /// events, in log order, from the start of the log (state is tracked from the start).
    /// - Parameters:
    ///   - from, to: only rows with from ≤ ts < to.
    public init(records: some Sequence<BreakerEvent>, from: Timestamp? = nil, to: Timestamp? = nil) {
        self.init(from: from, to: to)
        for record in records { fold(record) }
    }

    /// An empty timeline over [`from`, `to`), filled by ``fold(_:)`` one record at a time in log order.
    public init(from: Timestamp?, to: Timestamp?) {
        self.from = from
        self.to = to
    }

    private let from: Timestamp?
    private let to: Timestamp?
    /// Each tool's latest state for the tenant, for the global outages that concern it.
    private var states: [ToolID: CircuitState] = [:]
    /// Each row's fields, in column order.
    public var rows: [[String]] = []

    /// Adds the row of `record`, if it has one.
    public mutating func fold(_ record: BreakerEvent) {
        let inRange = (from.map { record.time >= $0 } ?? true) && (to.map { record.time < $0 } ?? true)
        let ts = record.time.iso8601
        switch record {
        case .transition(let r):
            states[r.tool] = r.to
            guard inRange else { return }
            let window = r.cause.isWindowRule
            rows.append([
                ts, r.tenant.rawValue, r.tool.rawValue, "transition", r.from.name, r.to.name, r.cause.name,
                window ? r.failures.map(String.init) ?? "" : "", window ? r.calls.map(String.init) ?? "" : "",
                window ? r.p95Us.map { CSV.milliseconds(microseconds: $0) } ?? "" : "", r.actor ?? "", r.reason ?? "",
            ])
        case .operatorAction(let r):
            guard inRange else { return }
            rows.append([ts, r.tenant?.rawValue ?? "", r.tool.rawValue, "operator", "", "", r.op.name, "", "", "", r.actor, r.reason])
        case .globalOutage(let r):
            guard inRange, states[r.tool]?.isOpen == true else { return }
            rows.append([
                ts, "", r.tool.rawValue, "global_outage", "", "", "global_outage_suspected", "", "", "", "",
                "\(r.tenants) tenants open",
            ])
        case .configuration(let r):
            guard inRange else { return }
            rows.append([ts, "", "", "config", "", "", "configure", "", "", "", r.actor, r.reason])
        case .fleet(let r):
            guard inRange else { return }
            rows.append([
                ts, r.tenant.rawValue, r.tool.rawValue, "fleet", "", "", TransitionCause.fleetQuorum.name, "", "", "", "",
                "\(r.votes) nodes open",
            ])
        case .call, .logGap:
            return
        }
    }

    /// The CSV in pieces of at most `rowsPerChunk` rows, the header first.
    public func csvChunks(rowsPerChunk: Int = 4096) -> [String] {
        [CSV.line(Self.columns)]
            + stride(from: 0, to: rows.count, by: rowsPerChunk).map { i in
                rows[i..<min(rows.count, i + rowsPerChunk)].map(CSV.line).joined()
            }
    }

    public var csv: String {
        CSV.line(Self.columns) + rows.map(CSV.line).joined()
    }
}

/// The calls of one turn, for "why did this turn fail?".
public struct TurnAudit: Sendable {
    public static let columns = ["ts", "tenant", "tool", "turn", "outcome", "reason", "latency_ms", "probe", "stale"]
    public var calls: [CallRecord]

    public init(calls: [CallRecord]) {
        self.calls = calls
    }

    public var csv: String {
        CSV.line(Self.columns)
            + calls.map { c in
                CSV.line([
                    c.time.iso8601, c.tenant.rawValue, c.tool.rawValue, c.turn?.rawValue ?? "", c.outcome.name, c.result.reason ?? "",
                    c.latencyUs.map { CSV.milliseconds(microseconds: $0) } ?? "", c.probe ? "true" : "false", c.stale ? "true" : "false",
                ])
            }.joined()
    }
}
