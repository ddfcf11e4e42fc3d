import BreakerCore
import BreakerRuntime

/// The demo's traffic: 24 tenants, 6 tools, 2 h 30 min from 09:00 UTC, about 65 000 calls,
/// with a web_search vendor outage held open by an operator, a slow vector_db (after which an
/// operator raises its latency threshold, so its next slow spell keeps it closed), and one
/// tenant's CRM quota running out (reset by its account manager).
enum DemoScenario {
    static let start = Timestamp(milliseconds: 1_795_856_400_000)  // 2026-11-28T09:00:00Z
    static let tenants = [
        "acme", "aperture", "blackmesa", "cyberdyne", "duff", "dunder", "globex", "gringotts", "hooli", "initech",
        "krusty", "massive", "monarch", "nakatomi", "oscorp", "pied-piper", "soylent", "stark", "tyrell", "umbrella",
        "vandelay", "wayne", "weyland", "wonka",
    ]
    /// (tool, normal latency range in ms)
    static let tools: [(String, ClosedRange<Int64>)] = [
        ("web_search", 150...450), ("code_exec", 400...1500), ("crm_api", 80...300), ("vector_db", 40...220),
        ("kv_lookup", 5...30), ("email_send", 200...600),
    ]
    static let durationMs: Int64 = 150 * 60_000

    static func minute(_ m: Int64) -> Int64 { start.milliseconds + m * 60_000 }

    static var configuration: BreakerConfiguration { configuration(vectorDBLatencyThresholdMs: 2_000) }

    /// The configuration after the vector_db incident: its p95 under re-indexing (2.4–4.5 s) is
    /// expected, so the operator raises its latency threshold to 5 s at 11:02.
    static var retuned: BreakerConfiguration { configuration(vectorDBLatencyThresholdMs: 5_000) }

    static func configuration(vectorDBLatencyThresholdMs: Int64) -> BreakerConfiguration {
        try! BreakerConfiguration(
            defaults: SettingsOverride(openTimeoutMs: 30_000, openTimeoutMultiplier: 2.0, maxOpenTimeoutMs: 240_000),
            tools: [
                try! ToolID("code_exec"): SettingsOverride(latencyThresholdMs: 5_000),
                try! ToolID("vector_db"): SettingsOverride(minimumCalls: 5, latencyThresholdMs: vectorDBLatencyThresholdMs),
                try! ToolID("crm_api"): SettingsOverride(failureRateThreshold: 0.5, minimumCalls: 6),
            ],
            // Every tenant is promised 90 % of turns not blocked over a day (SPEC §16).
            slo: ServiceLevelObjective(objective: 90, windowDays: 1))
    }

    static func trace(seed: UInt64 = 7) -> Trace {
        var rng = SeededGenerator(seed: seed)
        func uniform(_ r: ClosedRange<Int64>) -> Int64 { r.lowerBound + Int64(rng.next() % UInt64(r.count)) }
        func chance(_ p: Double) -> Bool { Double(rng.next() % 1_000_000) / 1_000_000 < p }
        var calls: [(at: Int64, order: Int, line: Trace.Line)] = []
        var order = 0
        for (ti, tenantName) in tenants.enumerated() {
            let tenant = try! TenantID(tenantName)
            var t = start.milliseconds + Int64(ti) * 700
            var turnNumber = 0
            while t < start.milliseconds + durationMs {
                turnNumber += 1
                let turn = try! TurnID("\(tenantName)-\(turnNumber)")
                var at = t
                for _ in 0..<(2 + Int(rng.next() % 3)) {
                    let (toolName, normal) = tools[Int(rng.next() % UInt64(tools.count))]
                    let tool = try! ToolID(toolName)
                    var latency = uniform(normal)
                    var result = Trace.Result.ok
                    if chance(0.004) { result = .error(type: try! ErrorType("TransientError")) }
                    // The web_search vendor goes down 10:00–10:25.
                    if toolName == "web_search" && at >= minute(60) && at < minute(85) {
                        result = chance(0.9) ? .error(type: try! ErrorType("ServiceUnavailable")) : .hang
                        latency = 40
                    }
                    // vector_db slows down (re-indexing) 10:40–11:00, and again 11:10–11:20, after
                    // its latency threshold was raised.
                    if toolName == "vector_db" && (at >= minute(100) && at < minute(120) || at >= minute(130) && at < minute(140)) {
                        latency = uniform(2_400...4_500)
                    }
                    // globex runs out of CRM quota 09:30–10:30.
                    if tenantName == "globex" && toolName == "crm_api" && at >= minute(30) && at < minute(90) {
                        result = .error(type: try! ErrorType("QuotaExceeded"))
                        latency = 60
                    }
                    calls.append(
                        (
                            at, order,
                            .call(
                                Trace.TraceCall(
                                    at: Timestamp(milliseconds: at), tenant: tenant, tool: tool, turn: turn, latencyMs: latency,
                                    result: result, line: 0))
                        ))
                    order += 1
                    at += uniform(300...2_500)
                }
                t += uniform(6_000...14_000)
            }
        }
        func op(_ m: Int64, _ o: OperatorOp, _ tool: String, _ tenant: String?, _ actor: String, _ reason: String) {
            let command = try! OperatorCommand(op: o, tenant: tenant.map { try! TenantID($0) })
            let action = OperatorAction(command, tool: try! ToolID(tool), actor: actor, reason: reason)
            calls.append(
                (
                    minute(m), order,
                    .operatorAction(Trace.TraceOperatorAction(at: Timestamp(milliseconds: minute(m)), action: action, line: 0))
                ))
            order += 1
        }
        op(3 + 60, .forceOpenHold, "web_search", nil, "oncall", "vendor status page: major outage")
        op(27 + 60, .release, "web_search", nil, "oncall", "vendor recovered")
        op(95, .reset, "crm_api", "globex", "am-jane", "quota raised by the CRM vendor")
        calls.append(
            (
                minute(122), order,
                .configure(
                    Trace.TraceConfigure(
                        at: Timestamp(milliseconds: minute(122)), configuration: retuned, actor: "sre-kim",
                        reason: "vector_db p95 of 2.4-4.5 s while re-indexing is expected", line: 0))
            ))
        order += 1
        calls.sort { $0.at == $1.at ? $0.order < $1.order : $0.at < $1.at }
        return Trace(lines: calls.map(\.line))
    }
}
