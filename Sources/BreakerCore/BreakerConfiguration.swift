/// The whole configuration: defaults, per-tool and per-(tenant, tool) overrides, runtime settings.
///
/// Resolution for a key: override for (tenant, tool) › override for tool › defaults (SPEC §2);
/// `enforce` may also be set for a whole tenant, between the (tenant, tool) override and the
/// tool's. `callTimeoutMs`, when no level sets it, equals the resolved `latencyThresholdMs`.
public struct BreakerConfiguration: Sendable, Hashable {
    /// Overrides of SPEC §2's defaults for every key.
    public var defaults: SettingsOverride
    /// Overrides per tool (matched by the name's bytes, SPEC §1).
    public var tools: [ToolID: SettingsOverride]
    /// Overrides per tenant, then tool (matched by the names' bytes).
    public var tenants: [TenantID: [ToolID: SettingsOverride]]
    /// Settings of the runtime as a whole.
    public var runtime: RuntimeSettings
    /// Bounds on what outside input can make the breaker hold.
    public var limits: LimitSettings
    /// How a node takes part in a fleet.
    public var fleet: FleetSettings
    /// The objective of every tenant without one of its own (SPEC §16); `nil`: no budget.
    public var slo: ServiceLevelObjective?
    /// What a tenant's entry holds besides its tool overrides: `enforce`, `slo`.
    public var tenantSettings: [TenantID: TenantSettings]
    /// What each tool is like (SPEC §6): `sideEffects` and its HTTP health check, by tool.
    public var toolProfiles: [ToolID: ToolProfile]

    /// A configuration; everything not given is SPEC §2's default.
    /// - Throws: ``BreakerError`` (`invalid_configuration`) when a value is out of range or a
    ///   tenant override holds a tool-wide setting.
    public init(
        defaults: SettingsOverride = SettingsOverride(), tools: [ToolID: SettingsOverride] = [:],
        tenants: [TenantID: [ToolID: SettingsOverride]] = [:], runtime: RuntimeSettings = RuntimeSettings(),
        limits: LimitSettings = LimitSettings(), fleet: FleetSettings = FleetSettings(), slo: ServiceLevelObjective? = nil,
        tenantSettings: [TenantID: TenantSettings] = [:], toolProfiles: [ToolID: ToolProfile] = [:]
    ) throws(BreakerError) {
        self.defaults = defaults
        self.tools = tools
        self.tenants = tenants
        self.runtime = runtime
        self.limits = limits
        self.fleet = fleet
        self.slo = slo
        self.tenantSettings = tenantSettings.filter { !$0.value.isEmpty }
        self.toolProfiles = toolProfiles.filter { !$0.value.isEmpty }
        try validate()
    }

    /// The objective of `tenant`: its own, else the top-level one; `nil`: no budget (SPEC §16).
    public func objective(for tenant: TenantID) -> ServiceLevelObjective? { tenantSettings[tenant]?.slo ?? slo }

    /// SPEC §2's defaults everywhere.
    public static let standard: BreakerConfiguration = {
        do { return try BreakerConfiguration() } catch { fatalError("the defaults are valid") }
    }()

    /// The settings in force for `key`.
    public func settings(for key: BreakerKey) -> BreakerSettings { settings(tenant: key.tenant, tool: key.tool) }

    /// The settings in force for (`tenant`, `tool`), names matched by their bytes.
    public func settings(tenant: String, tool: String) -> BreakerSettings {
        settings(tenant: TenantID(unchecked: tenant), tool: ToolID(unchecked: tool))
    }

    /// The settings in force for (`tenant`, `tool`).
    public func settings(tenant: TenantID, tool: ToolID) -> BreakerSettings {
        var s = BreakerSettings()
        var callTimeout: Int64? = defaults.callTimeoutMs
        defaults.apply(to: &s)
        if let t = tools[tool] {
            t.apply(to: &s)
            callTimeout = t.callTimeoutMs ?? callTimeout
        }
        if let enforce = tenantSettings[tenant]?.enforce { s.enforce = enforce }
        if let t = tenants[tenant]?[tool] {
            t.apply(to: &s)
            callTimeout = t.callTimeoutMs ?? callTimeout
        }
        s.callTimeoutMs = callTimeout ?? s.latencyThresholdMs
        return s
    }

    /// The longest `windowMs` any key can have under this configuration.
    public var longestWindowMs: Int64 {
        var longest = settings(tenant: "", tool: "").windowMs
        for o in tools.values { if let w = o.windowMs { longest = max(longest, w) } }
        for byTool in tenants.values { for o in byTool.values { if let w = o.windowMs { longest = max(longest, w) } } }
        return longest
    }

    /// The tool-wide settings for `tool`: defaults › tool override.
    public func toolWideSettings(tool: ToolID) -> (globalOutageTenants: Int, autoPropagate: Bool) {
        var s = BreakerSettings()
        defaults.apply(to: &s)
        tools[tool]?.apply(to: &s)
        return (s.globalOutageTenants, s.autoPropagateGlobalOutage)
    }

    private func validate() throws(BreakerError) {
        try Self.check(defaults, at: "defaults")
        for (tool, o) in tools {
            try Self.check(o, at: "tools.\(tool)")
        }
        for (tenant, byTool) in tenants {
            for (tool, o) in byTool {
                let path = "tenants.\(tenant).tools.\(tool)"
                if o.globalOutageTenants != nil || o.autoPropagateGlobalOutage != nil {
                    let key = o.globalOutageTenants != nil ? "globalOutageTenants" : "autoPropagateGlobalOutage"
                    throw BreakerError(
                        .invalidConfiguration,
                        "\(path).\(key): \(key) is tool-wide; set it in \"defaults\" or \"tools\", not in a tenant override",
                        context: ["key": "\(path).\(key)"])
                }
                try Self.check(o, at: path)
            }
        }
        if let slo { try Self.check(slo, at: "slo") }
        for (tenant, entry) in tenantSettings {
            if let slo = entry.slo { try Self.check(slo, at: "tenants.\(tenant).slo") }
        }
        if runtime.probeIntervalMs < 1 || runtime.probeIntervalMs > Self.maxMs {
            throw Self.range("runtime.probeIntervalMs", "\(runtime.probeIntervalMs)", "an integer from 1 to \(Self.maxMs)")
        }
        if runtime.flushIntervalMs < 1 || runtime.flushIntervalMs > 60_000 {
            throw Self.range("runtime.flushIntervalMs", "\(runtime.flushIntervalMs)", "an integer from 1 to 60000")
        }
        for (name, value) in fleet.fields where value < 1 || value > Self.maxMs {
            throw Self.range("fleet.\(name)", "\(value)", "an integer number of ms from 1 to \(Self.maxMs)")
        }
        if fleet.leaseMs <= fleet.heartbeatMs {
            throw BreakerError(
                .invalidConfiguration,
                "fleet.leaseMs = \(fleet.leaseMs) must be longer than fleet.heartbeatMs = \(fleet.heartbeatMs), or every node would lose its lease between two heartbeats",
                context: ["key": "fleet.leaseMs"])
        }
    }

    /// The largest duration accepted, ms (about 24.8 days).
    static let maxMs: Int64 = Int64(Int32.max)
    static let maxCount = 1_000_000

    static func range(_ key: String, _ value: String, _ allowed: String) -> BreakerError {
        BreakerError(.invalidConfiguration, "\(key) = \(value) is out of range; allowed: \(allowed)", context: ["key": key])
    }

    private static func check(_ o: ServiceLevelObjective, at path: String) throws(BreakerError) {
        if !(o.objective > 50 && o.objective < 100) {
            throw range("\(path).objective", "\(o.objective)", "a percentage o with 50 < o < 100, like 99.5")
        }
        if o.windowDays < 1 || o.windowDays > 90 { throw range("\(path).windowDays", "\(o.windowDays)", "an integer from 1 to 90") }
        if o.minTurns < 0 || o.minTurns > maxCount { throw range("\(path).minTurns", "\(o.minTurns)", "an integer from 0 to \(maxCount)") }
    }

    private static func check(_ o: SettingsOverride, at path: String) throws(BreakerError) {
        func count(_ v: Int?, _ name: String) throws(BreakerError) {
            if let v, v < 1 || v > maxCount { throw range("\(path).\(name)", "\(v)", "an integer from 1 to \(maxCount)") }
        }
        func ms(_ v: Int64?, _ name: String) throws(BreakerError) {
            if let v, v < 1 || v > maxMs { throw range("\(path).\(name)", "\(v)", "an integer number of ms from 1 to \(maxMs)") }
        }
        try count(o.failureThreshold, "failureThreshold")
        try count(o.minimumCalls, "minimumCalls")
        try count(o.successThreshold, "successThreshold")
        try count(o.halfOpenMaxInFlight, "halfOpenMaxInFlight")
        try count(o.globalOutageTenants, "globalOutageTenants")
        try ms(o.windowMs, "windowMs")
        try ms(o.openTimeoutMs, "openTimeoutMs")
        try ms(o.latencyThresholdMs, "latencyThresholdMs")
        try ms(o.callTimeoutMs, "callTimeoutMs")
        try ms(o.maxOpenTimeoutMs, "maxOpenTimeoutMs")
        if let q = o.fleetQuorum, q < 1 || q > 1000 { throw range("\(path).fleetQuorum", "\(q)", "an integer from 1 to 1000") }
        if let r = o.failureRateThreshold, !(r > 0 && r <= 1) {
            throw range("\(path).failureRateThreshold", "\(r)", "a number r with 0 < r ≤ 1")
        }
        if let m = o.openTimeoutMultiplier, !(m >= 1 && m <= 1000) {
            throw range("\(path).openTimeoutMultiplier", "\(m)", "a number from 1.0 to 1000")
        }
    }
}
