public import BreakerCore

/// One line of `breakerctl export` and of `serve`'s `/v1/events` (SPEC §11): a record with its
/// seq, encoded with exactly the fields of its kind (absent values as `null`).
public struct ExportLine: Encodable, Sendable {
    /// Position in the log.
    public var seq: Int64
    public var event: BreakerEvent

    public init(seq: Int64, event: BreakerEvent) {
        self.seq = seq
        self.event = event
    }

    enum Keys: String, CodingKey {
        case seq, ts, kind, tenant, tool, turn, outcome, reason, generation, probe, stale, shadow, from, to, cause, failures, calls
        case actor, op
        case tenants, dropped, config, votes, nodes
        case latencyUs = "latency_us"
        case p95Us = "p95_us"
    }

    /// The record's kind as exported: `call`, `transition`, `operator`, `global_outage`, `log_gap`,
    /// `config`, `fleet`.
    public var kind: String {
        switch event {
        case .call: "call"
        case .transition: "transition"
        case .operatorAction: "operator"
        case .globalOutage: "global_outage"
        case .logGap: "log_gap"
        case .configuration: "config"
        case .fleet: "fleet"
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(seq, forKey: .seq)
        try c.encode(event.time.milliseconds, forKey: .ts)
        try c.encode(kind, forKey: .kind)
        switch event {
        case .call(let r):
            try c.encode(r.tenant.rawValue, forKey: .tenant)
            try c.encode(r.tool.rawValue, forKey: .tool)
            try c.encode(r.turn?.rawValue, forKey: .turn)
            try c.encode(r.outcome.name, forKey: .outcome)
            try c.encode(r.result.reason, forKey: .reason)
            try c.encode(r.latencyUs, forKey: .latencyUs)
            try c.encode(r.generation, forKey: .generation)
            try c.encode(r.probe, forKey: .probe)
            try c.encode(r.stale, forKey: .stale)
            try c.encode(r.shadow?.name, forKey: .shadow)
        case .transition(let r):
            let window = r.cause.isWindowRule
            let byOperator = r.cause.isOperator || r.actor != nil
            try c.encode(r.tenant.rawValue, forKey: .tenant)
            try c.encode(r.tool.rawValue, forKey: .tool)
            try c.encode(r.from.name, forKey: .from)
            try c.encode(r.to.name, forKey: .to)
            try c.encode(r.cause.name, forKey: .cause)
            try c.encode(r.generation, forKey: .generation)
            try c.encode(window ? r.failures : nil, forKey: .failures)
            try c.encode(window ? r.calls : nil, forKey: .calls)
            try c.encode(window ? r.p95Us : nil, forKey: .p95Us)
            try c.encode(byOperator ? r.actor : nil, forKey: .actor)
            try c.encode(byOperator ? r.reason : nil, forKey: .reason)
        case .operatorAction(let r):
            try c.encode(r.tenant?.rawValue, forKey: .tenant)
            try c.encode(r.tool.rawValue, forKey: .tool)
            try c.encode(r.op.name, forKey: .op)
            try c.encode(r.actor, forKey: .actor)
            try c.encode(r.reason, forKey: .reason)
        case .globalOutage(let r):
            try c.encode(r.tool.rawValue, forKey: .tool)
            try c.encode(r.tenants, forKey: .tenants)
        case .logGap(let r):
            try c.encode(r.from.milliseconds, forKey: .from)
            try c.encode(r.to.milliseconds, forKey: .to)
            try c.encode(r.dropped, forKey: .dropped)
        case .configuration(let r):
            try c.encode(r.actor, forKey: .actor)
            try c.encode(r.reason, forKey: .reason)
            try c.encode(r.configuration, forKey: .config)
        case .fleet(let r):
            try c.encode(r.tenant.rawValue, forKey: .tenant)
            try c.encode(r.tool.rawValue, forKey: .tool)
            try c.encode(r.votes, forKey: .votes)
            try c.encode(r.nodes.map(\.rawValue), forKey: .nodes)
        }
    }
}
