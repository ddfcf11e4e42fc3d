public import BreakerCore

/// One alert that fires.
public struct Alert: Sendable, Hashable, Encodable {
    /// `global_outage`, `open_too_long`, `blocked_rate`, `slo_page` or `slo_ticket`.
    public var alert: String
    /// The tenant it concerns, if one.
    public var tenant: String?
    /// The tool it concerns, if one.
    public var tool: String?
    /// What fires, in plain words.
    public var detail: String
    /// For an SLO alert: the rule (`1h>=14.4 and 5m>=14.4`) and the two windows' burn rates.
    public var rule: String? = nil
    public var burnRates: [BurnRate] = []

    /// A window's burn rate, as an SLO alert names it.
    public struct BurnRate: Sendable, Hashable {
        public var window: String
        public var burn: Double
    }

    public init(alert: String, tenant: String?, tool: String?, detail: String, rule: String? = nil, burnRates: [BurnRate] = []) {
        self.alert = alert
        self.tenant = tenant
        self.tool = tool
        self.detail = detail
        self.rule = rule
        self.burnRates = burnRates
    }

    enum Keys: String, CodingKey {
        case alert, tenant, tool, detail, rule
        case burnRates = "burn_rates"
    }

    struct WindowKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// Every field, `null` where none applies.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(alert, forKey: .alert)
        try c.encode(tenant, forKey: .tenant)
        try c.encode(tool, forKey: .tool)
        try c.encode(detail, forKey: .detail)
        guard let rule else { return }
        try c.encode(rule, forKey: .rule)
        var rates = c.nestedContainer(keyedBy: WindowKey.self, forKey: .burnRates)
        for r in burnRates { try rates.encode(Decimal4(r.burn), forKey: WindowKey(stringValue: r.window)) }
    }
}

/// The three alert conditions, judged at one time over the state as it was then — a pure function
/// of its inputs (``AlertInputs``), so that it is tested without a store.
public struct AlertRules: Sendable {
    /// Minutes out of CLOSED before `open_too_long` fires, in ms.
    public var openMs: Int64
    /// Blocked share of a tenant's calls, percent, above which `blocked_rate` fires.
    public var blockedPct: Double
    /// The span of calls `blocked_rate` looks at, ms (ending at the time judged).
    public var windowMs: Int64
    /// Fewest calls in that span for `blocked_rate` to count.
    public var minCalls: Int

    public init(openMs: Int64, blockedPct: Double, windowMs: Int64, minCalls: Int) {
        self.openMs = openMs
        self.blockedPct = blockedPct
        self.windowMs = windowMs
        self.minCalls = minCalls
    }

    /// The alerts that fire at `inputs.at`, in a stable order: global outages by tool, circuits
    /// open too long by key, blocked rates by tenant.
    ///
    /// - `global_outage`: a tool OPEN or FORCED_OPEN for at least its configured
    ///   `globalOutageTenants` tenants (SPEC §2, §7);
    /// - `open_too_long`: a key out of CLOSED for more than ``openMs``;
    /// - `blocked_rate`: a tenant's rejected calls above ``blockedPct`` % of its calls in the last
    ///   ``windowMs`` (with at least ``minCalls`` calls).
    public func evaluate(_ inputs: AlertInputs) -> [Alert] {
        var alerts: [Alert] = []
        var openByTool: [ToolID: Int] = [:]
        for (key, state) in inputs.states where state.isOpen { openByTool[key.tool, default: 0] += 1 }
        for (tool, count) in openByTool.sorted(by: { $0.key < $1.key }) {
            let threshold = inputs.configuration.toolWideSettings(tool: tool).globalOutageTenants
            guard count >= threshold else { continue }
            alerts.append(
                Alert(
                    alert: "global_outage", tenant: nil, tool: tool.rawValue,
                    detail: "open for \(count) tenants at once (threshold \(threshold))"))
        }
        let now = inputs.at.milliseconds
        for (key, since) in inputs.notClosedSince.sorted(by: { $0.key < $1.key }) where now - since > openMs {
            let state = inputs.states[key]?.name ?? "?"
            alerts.append(
                Alert(
                    alert: "open_too_long", tenant: key.tenant.rawValue, tool: key.tool.rawValue,
                    detail: "\(state) since \(Timestamp(milliseconds: since).iso8601) (\((now - since) / 60_000) min)"))
        }
        for (tenant, tally) in inputs.calls.sorted(by: { $0.key < $1.key }) where tally.all >= minCalls {
            let pct = Double(tally.blocked) * 100 / Double(tally.all)
            guard pct > blockedPct else { continue }
            let tenths = Int((pct * 10).rounded())
            alerts.append(
                Alert(
                    alert: "blocked_rate", tenant: tenant.rawValue, tool: nil,
                    detail:
                        "\(tally.blocked) of \(tally.all) calls blocked (\(tenths / 10).\(tenths % 10) %) in the last \(windowMs / 60_000) min"
                ))
        }
        // SPEC §16: per tenant with an objective, each burn-rate rule that fires.
        for status in inputs.objectives {
            for f in status.firing {
                let long = ObjectiveStatus.decimal4(f.longBurn)
                let short = ObjectiveStatus.decimal4(f.shortBurn)
                let threshold = f.threshold == f.threshold.rounded() ? String(Int(f.threshold)) : String(f.threshold)
                alerts.append(
                    Alert(
                        alert: f.status == .page ? "slo_page" : "slo_ticket", tenant: status.tenant.rawValue, tool: nil,
                        detail:
                            "error budget burning at \(long)× over \(f.long.label) and \(short)× over \(f.short.label) (objective \(ObjectiveStatus.decimal4(status.objective.objective)) %, \(ObjectiveStatus.decimal4(status.budgetRemaining)) of the budget left)",
                        rule: "\(f.long.label)>=\(threshold) and \(f.short.label)>=\(threshold)",
                        burnRates: [
                            Alert.BurnRate(window: f.long.label, burn: f.longBurn),
                            Alert.BurnRate(window: f.short.label, burn: f.shortBurn),
                        ]))
            }
        }
        return alerts
    }
}

/// What the alert rules look at: the store as it was at one time.
public struct AlertInputs: Sendable {
    /// The time judged.
    public var at: Timestamp
    /// The configuration in force.
    public var configuration: BreakerConfiguration
    /// Every key's state at ``at``.
    public var states: [BreakerKey: CircuitState]
    /// Keys out of CLOSED at ``at``, with when they left it (ms).
    public var notClosedSince: [BreakerKey: Int64]
    /// Per tenant, its call records in the span the blocked rate looks at, and how many were rejected.
    public var calls: [TenantID: (all: Int, blocked: Int)]
    /// Each tenant's error budget at ``at`` (SPEC §16), for tenants with an objective.
    public var objectives: [ObjectiveStatus]

    public init(
        at: Timestamp, configuration: BreakerConfiguration, states: [BreakerKey: CircuitState], notClosedSince: [BreakerKey: Int64],
        calls: [TenantID: (all: Int, blocked: Int)], objectives: [ObjectiveStatus] = []
    ) {
        self.objectives = objectives
        self.at = at
        self.configuration = configuration
        self.states = states
        self.notClosedSince = notClosedSince
        self.calls = calls
    }
}
