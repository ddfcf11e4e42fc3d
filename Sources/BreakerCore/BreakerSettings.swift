/// The settings in force for one key, after resolution (SPEC §2). All durations are in ms.
public struct BreakerSettings: Sendable, Hashable {
    /// Failures in the window that open the circuit.
    public var failureThreshold: Int = 5
    /// When set, also open when failures ÷ calls ≥ this (0 < r ≤ 1) and calls ≥ ``minimumCalls``.
    public var failureRateThreshold: Double? = nil
    /// Calls in the window before the latency and rate rules apply.
    public var minimumCalls: Int = 3
    /// Probe successes in HALF_OPEN that close the circuit.
    public var successThreshold: Int = 2
    /// Sliding window length, ms.
    public var windowMs: Int64 = 60_000
    /// Time in OPEN before a probe is admitted, ms.
    public var openTimeoutMs: Int64 = 30_000
    /// A window p95 above this opens the circuit, ms.
    public var latencyThresholdMs: Int64 = 3_000
    /// A call still running after this is abandoned as a timeout, ms.
    public var callTimeoutMs: Int64 = 3_000
    /// Probes in flight at once in HALF_OPEN.
    public var halfOpenMaxInFlight: Int = 1
    /// After a failed probe the next open timeout is min(current × this, ``maxOpenTimeoutMs``).
    public var openTimeoutMultiplier: Double = 1.0
    /// Cap for the grown open timeout, ms.
    public var maxOpenTimeoutMs: Int64 = 300_000
    /// Tenants open on one tool at once that make a global-outage event (tool-wide).
    public var globalOutageTenants: Int = 3
    /// When true a global-outage event force-opens the tool for every tenant (tool-wide).
    public var autoPropagateGlobalOutage: Bool = false
    /// Live nodes of a fleet voting for the key that begin a fleet episode (SPEC §14).
    public var fleetQuorum: Int = 2
    /// `false`: the key is in shadow (SPEC §15): its machine runs as ever, but a call it would
    /// reject is admitted as a shadow call, recorded with the reason, changing nothing in the key.
    public var enforce: Bool = true

    /// The defaults of SPEC §2.
    public init() {}

    /// The open timeout that follows `current` after a failed probe, ms.
    @inlinable
    public func grownOpenTimeout(_ current: Int64) -> Int64 {
        let grown = Double(current) * openTimeoutMultiplier
        let capped = grown >= Double(maxOpenTimeoutMs) ? maxOpenTimeoutMs : Int64(grown)
        return min(capped, maxOpenTimeoutMs)
    }
}

/// Settings that belong to the whole runtime, not to a key (SPEC §2, `"runtime"` in the file).
/// How a node takes part in a fleet (SPEC §14; `"fleet"` in the file). All in ms.
public struct FleetSettings: Sendable, Hashable {
    /// A node fact is published within this long of being durable locally.
    public var publishMs: Int64 = 100
    /// A node renews its lease this often.
    public var heartbeatMs: Int64 = 1_000
    /// A node is live while its last heartbeat is younger than this (PostgreSQL's clock).
    public var leaseMs: Int64 = 10_000
    /// A node upserts its hourly rollups this often (and when its owner stops).
    public var rollupMs: Int64 = 10_000
    /// A node reads the fleet by cursor this often, whatever notifications say.
    public var pollMs: Int64 = 1_000
    public init() {}

    /// The setting names under `"fleet"`.
    public static let names = ["publishMs", "heartbeatMs", "leaseMs", "rollupMs", "pollMs"]

    /// (name, value) in the order of ``names``.
    public var fields: [(name: String, value: Int64)] {
        [("publishMs", publishMs), ("heartbeatMs", heartbeatMs), ("leaseMs", leaseMs), ("rollupMs", rollupMs), ("pollMs", pollMs)]
    }

    /// Sets the setting `name`; `false` when there is none of that name.
    mutating func set(_ name: String, _ value: Int64) -> Bool {
        switch name {
        case "publishMs": publishMs = value
        case "heartbeatMs": heartbeatMs = value
        case "leaseMs": leaseMs = value
        case "rollupMs": rollupMs = value
        case "pollMs": pollMs = value
        default: return false
        }
        return true
    }
}

/// Bounds on what outside input can make the breaker hold (SPEC §12 Limits; `"limits"` in the file).
public struct LimitSettings: Sendable, Hashable {
    /// The keys a store holds at most; an admission by name for a new key beyond it is
    /// ``Admission/untracked`` and records nothing. `nil`: no bound.
    public var maxKeys: Int? = 1_000_000
    public init() {}
}

public struct RuntimeSettings: Sendable, Hashable {
    /// How often the background prober looks for OPEN keys whose timeout elapsed, ms.
    public var probeIntervalMs: Int64 = 5_000
    /// Call records are durable within this many ms (group commit), ms.
    public var flushIntervalMs: Int64 = 50
    public init() {}
}

/// Some settings, each optional: one level of the resolution order (defaults, tool, tenant+tool).
public struct SettingsOverride: Sendable, Hashable {
    public var failureThreshold: Int?
    public var failureRateThreshold: Double?
    /// `"failureRateThreshold": null`: this scope has no rate rule, whatever a wider scope says.
    public var removesFailureRateThreshold: Bool
    public var minimumCalls: Int?
    public var successThreshold: Int?
    public var windowMs: Int64?
    public var openTimeoutMs: Int64?
    public var latencyThresholdMs: Int64?
    public var callTimeoutMs: Int64?
    public var halfOpenMaxInFlight: Int?
    public var openTimeoutMultiplier: Double?
    public var maxOpenTimeoutMs: Int64?
    public var globalOutageTenants: Int?
    public var autoPropagateGlobalOutage: Bool?
    public var fleetQuorum: Int?
    public var enforce: Bool?

    public init(
        failureThreshold: Int? = nil, failureRateThreshold: Double? = nil, minimumCalls: Int? = nil,
        successThreshold: Int? = nil, windowMs: Int64? = nil, openTimeoutMs: Int64? = nil,
        latencyThresholdMs: Int64? = nil, callTimeoutMs: Int64? = nil, halfOpenMaxInFlight: Int? = nil,
        openTimeoutMultiplier: Double? = nil, maxOpenTimeoutMs: Int64? = nil, globalOutageTenants: Int? = nil,
        autoPropagateGlobalOutage: Bool? = nil, fleetQuorum: Int? = nil, removesFailureRateThreshold: Bool = false,
        enforce: Bool? = nil
    ) {
        self.failureThreshold = failureThreshold
        self.failureRateThreshold = failureRateThreshold
        self.removesFailureRateThreshold = removesFailureRateThreshold
        self.minimumCalls = minimumCalls
        self.successThreshold = successThreshold
        self.windowMs = windowMs
        self.openTimeoutMs = openTimeoutMs
        self.latencyThresholdMs = latencyThresholdMs
        self.callTimeoutMs = callTimeoutMs
        self.halfOpenMaxInFlight = halfOpenMaxInFlight
        self.openTimeoutMultiplier = openTimeoutMultiplier
        self.maxOpenTimeoutMs = maxOpenTimeoutMs
        self.globalOutageTenants = globalOutageTenants
        self.autoPropagateGlobalOutage = autoPropagateGlobalOutage
        self.fleetQuorum = fleetQuorum
        self.enforce = enforce
    }

    /// Whether a tool-wide setting is present (not allowed in a tenant override).
    var hasToolWideSetting: Bool { globalOutageTenants != nil || autoPropagateGlobalOutage != nil }

    /// Lays these values over `base`, except callTimeoutMs, which resolution handles.
    func apply(to base: inout BreakerSettings) {
        if let v = failureThreshold { base.failureThreshold = v }
        if removesFailureRateThreshold {
            base.failureRateThreshold = nil
        } else if let v = failureRateThreshold {
            base.failureRateThreshold = v
        }
        if let v = minimumCalls { base.minimumCalls = v }
        if let v = successThreshold { base.successThreshold = v }
        if let v = windowMs { base.windowMs = v }
        if let v = openTimeoutMs { base.openTimeoutMs = v }
        if let v = latencyThresholdMs { base.latencyThresholdMs = v }
        if let v = halfOpenMaxInFlight { base.halfOpenMaxInFlight = v }
        if let v = openTimeoutMultiplier { base.openTimeoutMultiplier = v }
        if let v = maxOpenTimeoutMs { base.maxOpenTimeoutMs = v }
        if let v = globalOutageTenants { base.globalOutageTenants = v }
        if let v = autoPropagateGlobalOutage { base.autoPropagateGlobalOutage = v }
        if let v = fleetQuorum { base.fleetQuorum = v }
        if let v = enforce { base.enforce = v }
    }
}

/// What a tenant's own entry in the configuration holds besides its per-tool overrides:
/// `"tenants": {"acme": {"enforce": false, "slo": {…}, "tools": {…}}}`.
public struct TenantSettings: Sendable, Hashable {
    /// Shadow (`false`) or enforce for every key of the tenant, over the tool's and the
    /// defaults' and under a (tenant, tool) override (SPEC §15).
    public var enforce: Bool?
    /// The tenant's own objective, in place of the top-level one (SPEC §16).
    public var slo: ServiceLevelObjective?

    public init(enforce: Bool? = nil, slo: ServiceLevelObjective? = nil) {
        self.enforce = enforce
        self.slo = slo
    }

    /// Whether it holds nothing.
    public var isEmpty: Bool { enforce == nil && slo == nil }
}

/// A tenant's objective (SPEC §16): the share of good turns promised over a rolling window.
public struct ServiceLevelObjective: Sendable, Hashable {
    /// Which turns spend the budget (SPEC §9's `turns_blocked` or `turns_degraded`).
    public enum BadTurns: String, Sendable, Hashable, CaseIterable {
        case blocked
        case degraded
    }

    /// The promised percentage of good turns, 50 < objective < 100.
    public var objective: Double
    /// The rolling window, days (1–90).
    public var windowDays: Int = 30
    public var bad: BadTurns = .blocked
    /// A burn-rate window with fewer turns than this never alerts.
    public var minTurns: Int = 10

    public init(objective: Double, windowDays: Int = 30, bad: BadTurns = .blocked, minTurns: Int = 10) {
        self.objective = objective
        self.windowDays = windowDays
        self.bad = bad
        self.minTurns = minTurns
    }

    /// The fields as (name, JSON text), in SPEC §16's order.
    public var fieldTexts: [(name: String, json: String)] {
        [
            ("objective", String(objective)), ("windowDays", String(windowDays)), ("bad", JSONValue.quote(bad.rawValue)),
            ("minTurns", String(minTurns)),
        ]
    }

    /// The objective as a JSON object.
    public var jsonText: String { "{" + fieldTexts.map { "\"\($0.name)\": \($0.json)" }.joined(separator: ", ") + "}" }
}
