import BreakerCore
import BreakerTestSupport
import Testing

/// SPEC §2, changing the configuration of a store in use: nothing moves at the change; each
/// setting applies at the moment the contract names — a step earlier or later fails these.
@Suite struct ConfigurationChangeTests {
    let key = Harness.key()
    let web = try! ToolID("web_search")

    @Test func aChangeRecordsOneConfigRecordAndMovesNothingElse() throws {
        // Every rule would trip under the new configuration at once; none may fire at the change.
        var h = Harness(SettingsOverride(failureThreshold: 5, minimumCalls: 10, openTimeoutMs: 10_000, globalOutageTenants: 5))
        for (i, tenant) in ["a", "b", "c"].enumerated() {
            h.call(Harness.key(tenant), at: Int64(i), .fail, latency: 0)
        }
        h.call(key, at: 10, .fail, latency: 5_000)
        let before = h.machine.keys.map { h.machine.state(of: $0) }
        let factsBefore = h.facts.count
        h.configure(
            SettingsOverride(
                failureThreshold: 1, minimumCalls: 1, windowMs: 1, openTimeoutMs: 1, latencyThresholdMs: 1, globalOutageTenants: 1),
            at: 20)
        #expect(h.facts.count == factsBefore + 1)
        guard case .configuration(let record) = h.events.last else {
            Issue.record("the change is not a config record")
            return
        }
        #expect(record.actor == "sre" && record.reason == "retune" && record.configuration.defaults.failureThreshold == 1)
        #expect(h.machine.keys.map { h.machine.state(of: $0) } == before, "states, windows and timeouts are kept")
    }

    @Test func aLowerFailureThresholdOpensAtTheKeysNextOutcome() throws {
        var h = Harness(SettingsOverride(failureThreshold: 5))
        for i in 0..<3 { h.call(key, at: Int64(i) * 10, .fail, latency: 0) }
        h.configure(SettingsOverride(failureThreshold: 3), at: 100)
        #expect(h.state(key)?.state == .closed, "not at the change")
        h.call(key, at: 200, .ok, latency: 5)
        #expect(h.state(key)?.state == .open, "at the next outcome, a success included")
        #expect(h.transitions.last?.cause == .failureThreshold && h.transitions.last?.failures == 3)
        #expect(h.transitions.last?.time == Harness.t(205))
    }

    @Test func aShorterWindowDropsOldEntriesAtTheKeysNextOutcome() throws {
        var h = Harness(SettingsOverride(failureThreshold: 3, windowMs: 60_000))
        h.call(key, at: 0, .fail, latency: 0)
        h.call(key, at: 1_000, .fail, latency: 0)
        h.configure(SettingsOverride(failureThreshold: 3, windowMs: 5_000), at: 20_000)
        #expect(h.state(key)?.window.count == 2, "the window is not cut at the change")
        h.call(key, at: 20_001, .fail, latency: 0)
        // Under the old 60 s window these three failures would open the circuit.
        #expect(h.state(key)?.state == .closed)
        #expect(h.state(key)?.window.count == 1)
    }

    @Test func aLongerWindowKeepsEntriesTheOldOneWouldHaveDropped() throws {
        var h = Harness(SettingsOverride(failureThreshold: 3, windowMs: 5_000))
        h.call(key, at: 0, .fail, latency: 0)
        h.call(key, at: 3_000, .fail, latency: 0)
        h.configure(SettingsOverride(failureThreshold: 3, windowMs: 60_000), at: 4_000)
        h.call(key, at: 8_000, .fail, latency: 0)
        // The 5 s window would have dropped the failure at 0 by 8 000.
        #expect(h.state(key)?.state == .open)
        #expect(h.transitions.last?.failures == 3)
    }

    @Test func windowEntriesKeepTheSlowFlagTheyWereRecordedWith() throws {
        // Slow under 1 000 ms, then the threshold rises: the entry stays slow and the window opens.
        var h = Harness(SettingsOverride(minimumCalls: 3, latencyThresholdMs: 1_000, callTimeoutMs: 10_000))
        h.call(key, at: 0, .ok, latency: 1_500)
        h.call(key, at: 2_000, .ok, latency: 100)
        h.configure(SettingsOverride(minimumCalls: 3, latencyThresholdMs: 2_000, callTimeoutMs: 10_000), at: 3_000)
        h.call(key, at: 4_000, .ok, latency: 100)
        #expect(h.state(key)?.state == .open)
        #expect(h.transitions.last?.cause == .slowCalls)

        // Not slow under 2 000 ms, then the threshold falls: the entry stays not slow …
        var g = Harness(SettingsOverride(minimumCalls: 3, latencyThresholdMs: 2_000, callTimeoutMs: 10_000))
        g.call(key, at: 0, .ok, latency: 1_500)
        g.call(key, at: 2_000, .ok, latency: 100)
        g.configure(SettingsOverride(minimumCalls: 3, latencyThresholdMs: 1_000, callTimeoutMs: 10_000), at: 3_000)
        g.call(key, at: 4_000, .ok, latency: 100)
        #expect(g.state(key)?.state == .closed)
        // … and the next outcome is judged by the new threshold.
        g.call(key, at: 5_000, .ok, latency: 1_500)
        #expect(g.state(key)?.state == .open && g.transitions.last?.cause == .slowCalls)
    }

    @Test func aNewSuccessThresholdAppliesAtTheNextProbeOutcome() throws {
        var h = Harness(SettingsOverride(failureThreshold: 1, successThreshold: 3, openTimeoutMs: 1_000, halfOpenMaxInFlight: 1))
        h.call(key, at: 0, .fail, latency: 0)
        h.call(key, at: 1_000, .ok, latency: 10)
        h.call(key, at: 1_020, .ok, latency: 10)
        #expect(h.state(key)?.probeSuccesses == 2)
        h.configure(SettingsOverride(failureThreshold: 1, successThreshold: 2, openTimeoutMs: 1_000, halfOpenMaxInFlight: 1), at: 1_100)
        #expect(h.state(key)?.state == .halfOpen, "not at the change, though 2 successes now suffice")
        h.call(key, at: 1_200, .ok, latency: 10)
        #expect(h.state(key)?.state == .closed && h.transitions.last?.cause == .probeSucceeded)
    }

    @Test func halfOpenMaxInFlightAppliesAtTheNextAdmission() throws {
        var h = Harness(SettingsOverride(failureThreshold: 1, openTimeoutMs: 1_000, halfOpenMaxInFlight: 2))
        h.call(key, at: 0, .fail, latency: 0)
        let firstMaybe = h.permit(key, at: 1_000)
        let first = try #require(firstMaybe)
        let secondMaybe = h.permit(key, at: 1_001)
        let second = try #require(secondMaybe)
        h.configure(SettingsOverride(failureThreshold: 1, openTimeoutMs: 1_000, halfOpenMaxInFlight: 1), at: 1_002)
        #expect(h.state(key)?.probesInFlight == 2, "probes admitted before stay in flight")
        #expect(h.admit(key, at: 1_003).rejection?.reason == .halfOpenProbeInFlight)
        h.complete(first, .success(latencyUs: 10), at: 1_010)
        // One probe still in flight: the new limit of one admits no other.
        #expect(h.admit(key, at: 1_011).rejection?.reason == .halfOpenProbeInFlight)
        h.configure(SettingsOverride(failureThreshold: 1, openTimeoutMs: 1_000, halfOpenMaxInFlight: 3), at: 1_012)
        #expect(h.admit(key, at: 1_013).isAdmitted, "a higher limit admits at the very next admission")
        _ = second
    }

    @Test func anOpenCircuitKeepsItsOpenTimeoutUntilItsNextTransition() throws {
        var h = Harness(SettingsOverride(failureThreshold: 1, successThreshold: 1, openTimeoutMs: 30_000, halfOpenMaxInFlight: 1))
        h.call(key, at: 0, .fail, latency: 0)
        h.configure(SettingsOverride(failureThreshold: 1, successThreshold: 1, openTimeoutMs: 5_000, halfOpenMaxInFlight: 1), at: 1_000)
        #expect(h.state(key)?.currentOpenTimeoutMs == 30_000)
        let r = try #require(h.admit(key, at: 6_000).rejection)
        #expect(r.reason == .circuitOpen && r.retryAfterMs == 24_000, "the open circuit keeps 30 s")
        let probeMaybe = h.permit(key, at: 30_000)
        let probe = try #require(probeMaybe)
        h.complete(probe, .success(latencyUs: 0), at: 30_001)  // closes: the open timeout resets to the new 5 s
        #expect(h.state(key)?.state == .closed && h.state(key)?.currentOpenTimeoutMs == 5_000)
        h.call(key, at: 40_000, .fail, latency: 0)
        #expect(h.admit(key, at: 45_000).isAdmitted, "the next open lasts the new 5 s")
    }

    @Test func theBackOffSettingsApplyAtTheNextFailedProbe() throws {
        var h = Harness(SettingsOverride(failureThreshold: 1, openTimeoutMs: 10_000, openTimeoutMultiplier: 1.0, maxOpenTimeoutMs: 100_000))
        h.call(key, at: 0, .fail, latency: 0)
        h.configure(
            SettingsOverride(failureThreshold: 1, openTimeoutMs: 10_000, openTimeoutMultiplier: 3.0, maxOpenTimeoutMs: 25_000), at: 1_000)
        #expect(h.state(key)?.currentOpenTimeoutMs == 10_000)
        h.call(key, at: 10_000, .fail, latency: 0)  // the probe fails
        #expect(h.transitions.last?.cause == .probeFailed)
        #expect(h.state(key)?.currentOpenTimeoutMs == 25_000, "min(10 000 × 3, 25 000) under the new settings")
    }

    @Test func toolWideSettingsApplyAtTheNextTransition() throws {
        var h = Harness(SettingsOverride(failureThreshold: 1, globalOutageTenants: 4))
        h.call(Harness.key("a"), at: 0, .fail, latency: 0)
        h.call(Harness.key("b"), at: 10, .fail, latency: 0)
        h.configure(SettingsOverride(failureThreshold: 1, globalOutageTenants: 2, autoPropagateGlobalOutage: true), at: 20)
        let outages = { (h: Harness) in h.events.filter { if case .globalOutage = $0 { return true } else { return false } }.count }
        #expect(outages(h) == 0, "two tenants open reach the new 2 only at the next transition")
        h.call(Harness.key("c"), at: 30, .fail, latency: 0)
        #expect(outages(h) == 1, "the old 4 would not flag three tenants")
        #expect(h.events.contains { if case .operatorAction(let o) = $0 { o.actor == "auto" && o.tool == web } else { false } })
    }

    @Test func callsAdmittedBeforeTheChangeKeepTheirCallTimeout() throws {
        var h = Harness(SettingsOverride(callTimeoutMs: 1_000))
        let beforeMaybe = h.permit(key, at: 0)
        let before = try #require(beforeMaybe)
        h.configure(SettingsOverride(callTimeoutMs: 5_000), at: 10)
        let afterMaybe = h.permit(key, at: 20)
        let after = try #require(afterMaybe)
        #expect(before.callTimeoutMs == 1_000 && after.callTimeoutMs == 5_000)
        h.complete(before, .timeout, at: 1_000)
        #expect(h.calls.last?.latencyUs == 1_000_000, "a timeout is recorded at the call timeout it was admitted with")
    }

    @Test func aKeyFirstSeenAfterTheChangeStartsWithTheNewSettings() throws {
        var h = Harness(SettingsOverride(failureThreshold: 1, openTimeoutMs: 30_000))
        h.configure(SettingsOverride(failureThreshold: 1, openTimeoutMs: 2_000), at: 0)
        h.call(key, at: 10, .fail, latency: 0)
        #expect(h.state(key)?.currentOpenTimeoutMs == 2_000)
        #expect(h.admit(key, at: 2_010).isAdmitted)
    }

    @Test func replayingAChangeGivesTheLiveState() throws {
        var h = Harness(SettingsOverride(failureThreshold: 5, openTimeoutMs: 30_000))
        for i in 0..<4 { h.call(key, at: Int64(i), .fail, latency: 0) }
        h.configure(SettingsOverride(failureThreshold: 2, openTimeoutMs: 3_000), at: 100)
        h.call(key, at: 200, .ok, latency: 0)
        h.call(Harness.key("b"), at: 300, .fail, latency: 0)
        h.call(Harness.key("b"), at: 400, .fail, latency: 0)
        #expect(h.replayed.hasSameDurableState(as: h.machine))
        #expect(h.replayed.configuration == h.machine.configuration)
        #expect(h.machine.configuration.defaults.failureThreshold == 2)
    }
}
