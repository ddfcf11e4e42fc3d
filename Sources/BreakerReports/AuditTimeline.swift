public import BreakerCore
public import BreakerStore

/// The audit timeline of SPEC §9 for one tenant: its transitions, the operator actions that
/// name it or all tenants, and the global-outage events in which its key was open — in log order.
public struct AuditTimeline: Sendable {
    /// The CSV columns.
    public static let columns = [
        "ts", "tenant", "tool", "event", "from_state", "to_state", "cause", "failures", "calls", "p95_ms", "actor", "reason",
    ]

    /// Each row's fields, in column order.
    public var rows: [[String]]

    /// - Parameters:
    ///   - tool: only this tool's records.
    ///   - from, to: only records with from ≤ ts < to (state is still tracked from the start).
    public init(store: EventStore, tenant: TenantID, tool: ToolID? = nil, from: Timestamp? = nil, to: Timestamp? = nil)
        throws(BreakerError)
    {
        var rows: [[String]] = []
        var states: [ToolID: CircuitState] = [:]
        try store.forEachEvent(
            EventFilter(tenant: tenant, tool: tool, kinds: [.transitions, .operatorActions, .globalOutages], turnNames: false)
        ) { e in
            let inRange = (from.map { e.event.time >= $0 } ?? true) && (to.map { e.event.time < $0 } ?? true)
            let ts = e.event.time.iso8601
            switch e.event {
            case .transition(let r):
                states[r.tool] = r.to
                guard inRange else { return }
                let window = r.cause.isWindowRule
                rows.append([
                    ts, r.tenant.rawValue, r.tool.rawValue, "transition", r.from.rawValue, r.to.rawValue, r.cause.rawValue,
                    window ? r.failures.map(String.init) ?? "" : "", window ? r.calls.map(String.init) ?? "" : "",
                    window ? r.p95Us.map { CSV.milliseconds(microseconds: $0) } ?? "" : "",
                    r.actor ?? "", r.reason ?? "",
                ])
            case .operatorAction(let r):
                guard inRange else { return }
                rows.append([
                    ts, r.tenant?.rawValue ?? "", r.tool.rawValue, "operator", "", "", r.op.rawValue, "", "", "", r.actor, r.reason,
                ])
            case .globalOutage(let r):
                guard inRange, states[r.tool]?.isOpen == true else { return }
                rows.append([
                    ts, "", r.tool.rawValue, "global_outage", "", "", "global_outage_suspected", "", "", "", "",
                    "\(r.tenants) tenants open",
                ])
            case .call, .logGap:
                break
            }
        }
        self.rows = rows
    }

    /// The CSV: header first, CRLF line ends.
    public var csv: String {
        CSV.line(Self.columns) + rows.map(CSV.line).joined()
    }
}

/// The calls of one turn, for "why did this turn fail?".
public struct TurnAudit: Sendable {
    public static let columns = ["ts", "tenant", "tool", "turn", "outcome", "reason", "latency_ms", "probe", "stale"]
    public var calls: [CallRecord]

    public init(store: EventStore, turn: String, tenant: TenantID?) throws(BreakerError) {
        calls = try store.turnCalls(turn: turn, tenant: tenant)
    }

    public var csv: String {
        CSV.line(Self.columns)
            + calls.map { c in
                CSV.line([
                    c.time.iso8601, c.tenant.rawValue, c.tool.rawValue, c.turn?.rawValue ?? "", c.outcome.rawValue, c.reason ?? "",
                    c.latencyUs.map { CSV.milliseconds(microseconds: $0) } ?? "", c.probe ? "true" : "false",
                    c.stale ? "true" : "false",
                ])
            }.joined()
    }
}
