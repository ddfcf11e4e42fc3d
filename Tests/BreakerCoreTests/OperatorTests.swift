import BreakerCore
import Testing

@Suite struct OperatorTests {
    let acme = Harness.key("acme", "web_search")
    let globex = Harness.key("globex", "web_search")

    @Test func forceOpenForOneTenantOpensOnlyThatKey() throws {
        var h = Harness()
        h.call(acme, at: 0)
        h.call(globex, at: 0)
        h.forceOpen(
            tool: acme.tool, tenant: acme.tenant, hold: false, actor: "oncall", reason: "quota", at: Harness.t(10))
        #expect(h.state(acme)?.state == .open && h.state(globex)?.state == .closed)
        guard case .operatorAction(let op) = h.events[h.events.count - 2] else {
            Issue.record("the operator record comes before the transition it causes")
            return
        }
        #expect(op.op == .forceOpen && op.actor == "oncall")
        #expect(h.transitions.last?.cause == .forced && h.transitions.last?.actor == "oncall" && h.transitions.last?.reason == "quota")
    }

    @Test func forceOpenWithHoldRejectsUntilReleased() throws {
        var h = Harness(SettingsOverride(openTimeoutMs: 1000))
        h.call(acme, at: 0)
        h.forceOpen(
            tool: acme.tool, tenant: nil, hold: true, actor: "oncall", reason: "vendor", at: Harness.t(10))
        let r = try #require(h.admit(acme, at: 1_000_000).rejection)
        #expect(r.reason == .forcedOpen && r.retryAfterMs == 1000)
        h.release(tool: acme.tool, tenant: nil, actor: "oncall", reason: "ok", at: Harness.t(1_000_001))
        #expect(h.state(acme)?.state == .halfOpen && h.transitions.last?.cause == .released)
    }

    @Test func aHoldForAllTenantsCoversKeysSeenLater() throws {
        var h = Harness()
        h.forceOpen(
            tool: acme.tool, tenant: nil, hold: true, actor: "oncall", reason: "vendor", at: Harness.t(0))
        #expect(h.admit(globex, at: 5000).rejection?.reason == .forcedOpen)
        let t = try #require(h.transitions.last)
        #expect(t.from == .closed && t.to == .forcedOpen && t.cause == .forcedHold && t.time == Harness.t(5000) && t.actor == "oncall")
    }

    @Test func withoutHoldALaterKeyStartsOpenOnlyWithinTheOpenTimeout() throws {
        var h = Harness(SettingsOverride(openTimeoutMs: 10_000))
        h.forceOpen(
            tool: acme.tool, tenant: nil, hold: false, actor: "oncall", reason: "vendor", at: Harness.t(0))
        let r = try #require(h.admit(globex, at: 4000).rejection)
        #expect(r.reason == .circuitOpen && r.retryAfterMs == 6000, "openedAt is the signal's time")
        #expect(h.state(globex)?.openedAt == Harness.t(0))
        let late = Harness.key("initech", "web_search")
        #expect(h.call(late, at: 10_000).isAdmitted)
        #expect(h.state(late)?.state == .closed)
    }

    @Test func aReleaseForAllTenantsEndsTheToolWideSignal() throws {
        var h = Harness()
        h.forceOpen(tool: acme.tool, tenant: nil, hold: true, actor: "a", reason: "r", at: Harness.t(0))
        h.release(tool: acme.tool, tenant: nil, actor: "a", reason: "r", at: Harness.t(1))
        #expect(h.machine.signal(for: acme.tool) == nil)
        #expect(h.admit(globex, at: 2).isAdmitted)
    }

    @Test func resetClosesAKeyAndEmptiesItsWindow() throws {
        var h = Harness(SettingsOverride(failureThreshold: 2))
        h.call(acme, at: 0, .fail)
        h.call(acme, at: 1, .fail)
        h.reset(tenant: acme.tenant, tool: acme.tool, actor: "am", reason: "quota raised", at: Harness.t(500))
        #expect(h.state(acme)?.state == .closed && h.state(acme)?.window.count == 0)
        #expect(h.transitions.last?.cause == .reset)
    }

    @Test func aKeyAlreadyInTheTargetStateIsLeftAloneWithOnlyTheOperatorRecord() throws {
        var h = Harness()
        h.call(acme, at: 0)
        let before = h.events.count
        h.reset(tenant: acme.tenant, tool: acme.tool, actor: "am", reason: "noop", at: Harness.t(10))
        #expect(h.events.count == before + 1)
        guard case .operatorAction = h.events.last else {
            Issue.record("expected only the operator record")
            return
        }
    }

    @Test func anActionNamingAnUnseenTenantCreatesTheKey() throws {
        var h = Harness()
        h.forceOpen(tool: acme.tool, tenant: acme.tenant, hold: false, actor: "a", reason: "r", at: Harness.t(0))
        #expect(h.state(acme)?.state == .open)
    }

    @Test func aGlobalOutageIsRecordedOncePerEpisode() throws {
        var h = Harness(SettingsOverride(failureThreshold: 1, openTimeoutMs: 1000, globalOutageTenants: 2))
        let tenants = ["a", "b", "c"].map { Harness.key($0, "web_search") }
        h.call(tenants[0], at: 0, .fail, latency: 0)
        h.call(tenants[1], at: 10, .fail, latency: 0)
        h.call(tenants[2], at: 20, .fail, latency: 0)
        let outages = h.events.compactMap { if case .globalOutage(let g) = $0 { return g } else { return nil } }
        #expect(outages.count == 1 && outages.first?.tenants == 2 && outages.first?.time == Harness.t(10))
        // Probes move a and b to half-open: the count falls below 2, the episode ends.
        let probeMaybe = h.permit(tenants[0], at: 2000)
        let probe = try #require(probeMaybe)
        _ = h.permit(tenants[1], at: 2000)
        #expect(!h.machine.outageInProgress(for: tenants[0].tool))
        h.complete(probe, .failure(errorType: try! ErrorType("E"), latencyUs: 0), at: 2001)  // a reopens: a and c open = 2
        let again = h.events.compactMap { if case .globalOutage(let g) = $0 { return g } else { return nil } }
        #expect(again.count == 2, "a new episode")
    }

    @Test func operatorOpensDoNotStartAGlobalOutage() throws {
        var h = Harness(SettingsOverride(globalOutageTenants: 2))
        for t in ["a", "b", "c"] { h.call(Harness.key(t, "web_search"), at: 0) }
        h.forceOpen(tool: acme.tool, tenant: nil, hold: false, actor: "a", reason: "r", at: Harness.t(200))
        #expect(!h.events.contains { if case .globalOutage = $0 { return true } else { return false } })
    }

    @Test func autoPropagationForceOpensTheToolForEveryTenantAsActorAuto() throws {
        var h = Harness(SettingsOverride(failureThreshold: 1, globalOutageTenants: 2, autoPropagateGlobalOutage: true))
        let c = Harness.key("c", "web_search")
        h.call(c, at: 0)
        h.call(Harness.key("a", "web_search"), at: 10, .fail, latency: 0)
        h.call(Harness.key("b", "web_search"), at: 20, .fail, latency: 0)
        #expect(h.state(c)?.state == .open)
        let t = try #require(h.transitions.last)
        #expect(t.cause == .forced && t.actor == "auto")
        let ops = h.events.compactMap { if case .operatorAction(let o) = $0 { return o } else { return nil } }
        #expect(ops.count == 1 && ops[0].actor == "auto" && ops[0].tenant == nil)
    }

    @Test func autoPropagationsReasonNamesTheTenantsOpen() throws {
        var h = Harness(SettingsOverride(failureThreshold: 1, globalOutageTenants: 2, autoPropagateGlobalOutage: true))
        h.call(Harness.key("a", "web_search"), at: 10, .fail, latency: 0)
        h.call(Harness.key("b", "web_search"), at: 20, .fail, latency: 0)
        let ops = h.events.compactMap { if case .operatorAction(let o) = $0 { return o } else { return nil } }
        #expect(ops.map(\.reason) == ["2 tenants open"])
        #expect(h.transitions.filter { $0.actor == "auto" }.allSatisfy { $0.reason == "2 tenants open" })
    }

    @Test func autoPropagationNeverReplacesAnOperatorsHold() throws {
        var h = Harness(
            SettingsOverride(failureThreshold: 1, openTimeoutMs: 1000, globalOutageTenants: 3, autoPropagateGlobalOutage: true))
        let keys = ["a", "b", "c", "d"].map { Harness.key($0, "web_search") }
        for (i, k) in keys.enumerated() { h.call(k, at: Int64(i)) }
        let tool = keys[0].tool
        h.forceOpen(tool: tool, tenant: nil, hold: true, actor: "oncall", reason: "vendor", at: Harness.t(100))
        h.release(tool: tool, tenant: keys[0].tenant, actor: "oncall", reason: "try a", at: Harness.t(200))
        #expect(h.state(keys[0])?.state == .halfOpen)
        let before = h.events.count
        h.call(keys[0], at: 300, .fail, latency: 0)  // the probe fails: a reopens, 4 tenants open
        let after = Array(h.events[before...])
        #expect(after.contains { if case .globalOutage(let g) = $0 { return g.tenants == 4 } else { return false } })
        #expect(!after.contains { if case .operatorAction = $0 { return true } else { return false } }, "\(after)")
        #expect(h.machine.signal(for: tool)?.hold == true, "the hold stays in force")
        for k in keys.dropFirst() { #expect(h.state(k)?.state == .forcedOpen) }
        let late = Harness.key("z", "web_search")
        #expect(h.admit(late, at: 5000).rejection?.reason == .forcedOpen, "a tenant first seen under the hold starts held")
        #expect(h.state(late)?.state == .forcedOpen)
    }

    @Test func aSideEffectToolWithAHealthCheckNeverUsesARealCallAsAProbe() throws {
        var h = Harness(SettingsOverride(failureThreshold: 1, openTimeoutMs: 1000))
        h.machine.register(tool: acme.tool, traits: ToolTraits(sideEffects: true, hasHealthCheck: true))
        h.call(acme, at: 0, .fail, latency: 0)
        #expect(h.admit(acme, at: 5000).rejection?.reason == .awaitingHealthProbe)
        #expect(h.machine.keysDueForHealthProbe(at: Harness.t(5000)).map { h.machine.key($0) } == [acme])
        let probeMaybe = h.beginHealthProbe(acme, at: Harness.t(5000))
        let probe = try #require(probeMaybe)
        #expect(probe.probe && probe.turn == nil)
    }

    @Test func aSideEffectToolWithoutAHealthCheckAdmitsOneRealProbeAtATime() throws {
        var h = Harness(SettingsOverride(failureThreshold: 1, openTimeoutMs: 1000, halfOpenMaxInFlight: 5))
        h.machine.register(tool: acme.tool, traits: ToolTraits(sideEffects: true, hasHealthCheck: false))
        h.call(acme, at: 0, .fail, latency: 0)
        #expect(h.admit(acme, at: 1000).isAdmitted)
        #expect(h.admit(acme, at: 1001).rejection?.reason == .halfOpenProbeInFlight)
    }
}
