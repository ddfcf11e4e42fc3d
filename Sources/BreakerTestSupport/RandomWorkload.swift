public import BreakerCore
public import BreakerRuntime

/// Random traces over a few tenants and tools, with failures, hangs, slow calls, operator
/// actions and configuration changes: the workload of the property tests (live state == replay,
/// rebuild == replay).
public enum RandomWorkload {
    /// A trace of `lines` lines starting at `start`, reproducible from `seed`.
    public static func trace(
        seed: UInt64, lines: Int, tenants: Int = 4, tools: Int = 3, start: Int64 = 1_795_852_800_000,
        operatorRate: Double = 0.01, configureRate: Double = 0, fleetRate: Double = 0
    ) -> Trace {
        var rng = SeededGenerator(seed: seed)
        var out: [Trace.Line] = []
        var now = start
        let tenantIDs = (0..<tenants).map { try! TenantID("tenant-\($0)") }
        let toolIDs = (0..<tools).map { try! ToolID("tool-\($0)") }
        for n in 0..<lines {
            now += Int64.random(in: 0...1500, using: &rng)
            let at = Timestamp(milliseconds: now)
            let tool = toolIDs.randomElement(using: &rng)!
            if configureRate > 0 && Double.random(in: 0..<1, using: &rng) < configureRate {
                let configuration = randomConfiguration(tenants: tenantIDs, tools: toolIDs, using: &rng)
                out.append(
                    .configure(Trace.TraceConfigure(at: at, configuration: configuration, actor: "sre", reason: "retune", line: n + 1)))
                continue
            }
            if fleetRate > 0 && Double.random(in: 0..<1, using: &rng) < fleetRate {
                let votes = Int.random(in: 1...3, using: &rng)
                let episode = FleetRecord(
                    time: at, tenant: tenantIDs.randomElement(using: &rng)!, tool: tool, votes: votes,
                    nodes: (0..<votes).map { try! NodeID("node-\($0)") })
                out.append(.fleet(episode, line: n + 1))
                continue
            }
            if Double.random(in: 0..<1, using: &rng) < operatorRate {
                let tenant = Bool.random(using: &rng) ? tenantIDs.randomElement(using: &rng)! : nil
                let ops: [OperatorOp] =
                    tenant == nil ? [.forceOpen, .forceOpenHold, .release] : [.forceOpen, .forceOpenHold, .release, .reset]
                let op = ops.randomElement(using: &rng)!
                out.append(
                    .operatorAction(
                        Trace.TraceOperatorAction(
                            at: at,
                            action: OperatorAction(
                                try! OperatorCommand(op: op, tenant: tenant), tool: tool, actor: "oncall", reason: "test"),
                            line: n + 1)))
                continue
            }
            let tenant = tenantIDs.randomElement(using: &rng)!
            let turn = try! TurnID("turn-\(Int.random(in: 0..<(lines / 3 + 1), using: &rng))")
            let roll = Double.random(in: 0..<1, using: &rng)
            let result: Trace.Result
            var latency: Int64? = Int64.random(in: 10...400, using: &rng)
            if roll < 0.2 {
                result = .error(type: [try! ErrorType("ConnectionError"), try! ErrorType("QuotaExceeded")].randomElement(using: &rng)!)
            } else if roll < 0.27 {
                result = .hang
                latency = nil
            } else if roll < 0.35 {
                result = .ok
                latency = Int64.random(in: 2500...5000, using: &rng)
            } else {
                result = .ok
            }
            out.append(
                .call(Trace.TraceCall(at: at, tenant: tenant, tool: tool, turn: turn, latencyMs: latency, result: result, line: n + 1)))
        }
        return Trace(lines: out)
    }

    /// A configuration near ``lively`` with every setting drawn at random, tool and tenant
    /// overrides included: what a configuration change in a random trace installs.
    public static func randomConfiguration(
        tenants: [TenantID], tools: [ToolID], using rng: inout SeededGenerator
    ) -> BreakerConfiguration {
        func pick<T>(_ values: [T]) -> T { values.randomElement(using: &rng)! }
        func override(toolWide: Bool, base: SettingsOverride = SettingsOverride()) -> SettingsOverride {
            var o = base
            if Bool.random(using: &rng) { o.failureThreshold = pick([1, 2, 3, 5, 8]) }
            if Bool.random(using: &rng) { o.failureRateThreshold = pick([0.3, 0.5, 0.6, 1.0]) }
            if Bool.random(using: &rng) { o.minimumCalls = pick([1, 3, 4, 10]) }
            if Bool.random(using: &rng) { o.successThreshold = pick([1, 2, 3]) }
            if Bool.random(using: &rng) { o.windowMs = pick([3_000, 10_000, 20_000, 60_000]) }
            if Bool.random(using: &rng) { o.openTimeoutMs = pick([1_000, 5_000, 12_000]) }
            if Bool.random(using: &rng) { o.latencyThresholdMs = pick([300, 2_000, 4_000]) }
            if Bool.random(using: &rng) { o.callTimeoutMs = pick([500, 2_000, 6_000]) }
            if Bool.random(using: &rng) { o.halfOpenMaxInFlight = pick([1, 2, 4]) }
            if Bool.random(using: &rng) { o.openTimeoutMultiplier = pick([1.0, 1.5, 3.0]) }
            if Bool.random(using: &rng) { o.maxOpenTimeoutMs = pick([12_000, 30_000, 60_000]) }
            if toolWide && Bool.random(using: &rng) { o.globalOutageTenants = pick([1, 2, 3]) }
            if toolWide && Bool.random(using: &rng) { o.autoPropagateGlobalOutage = Bool.random(using: &rng) }
            return o
        }
        let defaults = override(toolWide: true, base: lively.defaults)
        var byTool: [ToolID: SettingsOverride] = [:]
        for tool in tools where Int.random(in: 0..<3, using: &rng) == 0 { byTool[tool] = override(toolWide: true) }
        var byTenant: [TenantID: [ToolID: SettingsOverride]] = [:]
        for tenant in tenants where Int.random(in: 0..<4, using: &rng) == 0 {
            byTenant[tenant] = [pick(tools): override(toolWide: false)]
        }
        // Every value drawn is in range and tool-wide settings stay out of tenant overrides.
        return try! BreakerConfiguration(defaults: defaults, tools: byTool, tenants: byTenant)
    }

    /// A configuration that makes circuits move often: small thresholds and timeouts.
    public static let lively: BreakerConfiguration = try! BreakerConfiguration(
        defaults: SettingsOverride(
            failureThreshold: 3, failureRateThreshold: 0.6, minimumCalls: 4, successThreshold: 2, windowMs: 20_000,
            openTimeoutMs: 5_000, latencyThresholdMs: 2_000, halfOpenMaxInFlight: 2, openTimeoutMultiplier: 1.5,
            maxOpenTimeoutMs: 30_000, globalOutageTenants: 2, autoPropagateGlobalOutage: true))
}
