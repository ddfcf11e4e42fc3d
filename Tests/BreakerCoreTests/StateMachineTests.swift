import BreakerCore
import Testing

@Suite struct StateMachineTests {
    let key = Harness.key()

    @Test func aKeySeenForTheFirstTimeStartsClosedAtGenerationZero() throws {
        var h = Harness()
        #expect(h.call(key, at: 0).isAdmitted)
        #expect(h.state(key)?.state == .closed)
        #expect(h.state(key)?.generation == 0)
    }

    @Test func anAdmissionAloneRecordsNothingAndMakesNoKeyYet() throws {
        var h = Harness()
        #expect(h.admit(key, at: 0).isAdmitted)
        #expect(h.facts.isEmpty)
        #expect(h.state(key) == nil, "a key is seen once a record names it, as a replay of the log sees it")
    }

    @Test func opensWhenFailuresReachTheThreshold() throws {
        var h = Harness(SettingsOverride(failureThreshold: 3))
        for i in 0..<2 { h.call(key, at: Int64(i) * 1000, .fail) }
        #expect(h.state(key)?.state == .closed)
        h.call(key, at: 3000, .fail)
        let t = try #require(h.transitions.last)
        #expect(t.to == .open && t.cause == .failureThreshold && t.failures == 3 && t.calls == 3 && t.generation == 1)
        #expect(h.state(key)?.openedAt == Harness.t(3100))
    }

    @Test func opensOnTheFailureRateOnlyOnceMinimumCallsAreReached() throws {
        var h = Harness(SettingsOverride(failureThreshold: 100, failureRateThreshold: 0.5, minimumCalls: 4))
        h.call(key, at: 0, .fail)
        h.call(key, at: 1000, .fail)
        h.call(key, at: 2000, .ok)
        #expect(h.state(key)?.state == .closed, "3 calls < minimumCalls 4")
        h.call(key, at: 3000, .ok)
        #expect(h.transitions.last?.cause == .failureRate)
        #expect(h.transitions.last?.failures == 2 && h.transitions.last?.calls == 4)
    }

    @Test func opensOnSlowCallsWhenP95IsAboveTheThreshold() throws {
        var h = Harness(SettingsOverride(latencyThresholdMs: 1000))
        h.call(key, at: 0, .ok, latency: 1500)
        h.call(key, at: 2000, .ok, latency: 1200)
        #expect(h.state(key)?.state == .closed, "fewer than minimumCalls (3)")
        h.call(key, at: 4000, .ok, latency: 100)
        // n = 3: p95 index 2 → the slowest (1500 ms) is slow.
        let t = try #require(h.transitions.last)
        #expect(t.cause == .slowCalls && t.calls == 3 && t.failures == 0 && t.p95Us == 1_500_000)
    }

    @Test func aLatencyEqualToTheThresholdIsNotSlow() throws {
        var h = Harness(SettingsOverride(latencyThresholdMs: 1000))
        for i in 0..<5 { h.call(key, at: Int64(i) * 2000, .ok, latency: 1000) }
        #expect(h.state(key)?.state == .closed)
    }

    @Test func theFailureThresholdRuleWinsOverTheOthers() throws {
        var h = Harness(SettingsOverride(failureThreshold: 3, failureRateThreshold: 0.5, latencyThresholdMs: 1000))
        h.call(key, at: 0, .timeout)
        h.call(key, at: 5000, .timeout)
        h.call(key, at: 10000, .timeout)
        #expect(h.transitions.last?.cause == .failureThreshold)
        #expect(h.transitions.last?.p95Us == 1_000_000, "a timeout's latency is callTimeoutMs")
    }

    @Test func theWindowKeepsAnEntryExactlyWindowMsOldAndDropsOlderOnes() throws {
        var h = Harness(SettingsOverride(failureThreshold: 3, windowMs: 10_000))
        h.call(key, at: 0, .fail, latency: 0)
        h.call(key, at: 5000, .fail, latency: 0)
        h.call(key, at: 10_000, .ok, latency: 0)  // t − windowMs = 0: the first failure stays
        #expect(h.state(key)?.window.count == 3)
        h.call(key, at: 10_001, .fail, latency: 0)  // the entry at 0 is now older than 1 ms: dropped
        #expect(h.state(key)?.window.failures == 2)
        #expect(h.state(key)?.state == .closed)
    }

    @Test func anOpenCircuitRejectsWithTheTimeUntilAProbe() throws {
        var h = Harness(SettingsOverride(failureThreshold: 1, openTimeoutMs: 30_000))
        h.call(key, at: 0, .fail, latency: 0)
        let r = try #require(h.admit(key, at: 10_000).rejection)
        #expect(r.reason == .circuitOpen && r.retryAfterMs == 20_000)
        #expect(h.calls.last?.outcome == .rejected && h.calls.last?.reason == "circuit_open" && h.calls.last?.latencyUs == nil)
    }

    @Test func afterTheOpenTimeoutACallIsAdmittedAsAProbe() throws {
        var h = Harness(SettingsOverride(failureThreshold: 1, openTimeoutMs: 30_000))
        h.call(key, at: 0, .fail, latency: 0)
        let pMaybe = h.permit(key, at: 30_000)
        let p = try #require(pMaybe)
        #expect(p.probe)
        #expect(h.transitions.last?.cause == .openTimeoutElapsed && h.transitions.last?.to == .halfOpen)
        #expect(h.state(key)?.probesInFlight == 1)
    }

    /// Fix 1: the sketch let every call through while half-open.
    @Test func halfOpenAdmitsNoMoreProbesThanTheLimit() throws {
        var h = Harness(SettingsOverride(failureThreshold: 1, openTimeoutMs: 1000, halfOpenMaxInFlight: 2))
        h.call(key, at: 0, .fail, latency: 0)
        #expect(h.admit(key, at: 1000).isAdmitted)
        #expect(h.admit(key, at: 1001).isAdmitted)
        let r = try #require(h.admit(key, at: 1002).rejection)
        #expect(r.reason == .halfOpenProbeInFlight && r.retryAfterMs == 3000)
    }

    /// Fix 2: a success that started before the circuit opened must not count as a probe.
    @Test func aStaleOutcomeIsRecordedButChangesNothing() throws {
        var h = Harness(SettingsOverride(failureThreshold: 1, openTimeoutMs: 1000))
        let earlyMaybe = h.permit(key, at: 0)
        let early = try #require(earlyMaybe)
        h.call(key, at: 10, .fail, latency: 0)  // opens
        _ = h.permit(key, at: 1010)  // half-open, one probe in flight
        let before = h.state(key)
        h.complete(early, .success(latencyUs: 5), at: 1020)
        #expect(h.calls.last?.stale == true)
        #expect(h.state(key) == before)
    }

    /// Fix 3: the sketch kept the failures that opened the circuit, so it reopened at once.
    @Test func closingEmptiesTheWindowSoTheNextFailureDoesNotReopen() throws {
        var h = Harness(SettingsOverride(failureThreshold: 3, successThreshold: 1, openTimeoutMs: 1000))
        for i in 0..<3 { h.call(key, at: Int64(i), .fail, latency: 0) }
        let probeMaybe = h.permit(key, at: 2000)
        let probe = try #require(probeMaybe)
        h.complete(probe, .success(latencyUs: 1000), at: 2001)
        #expect(h.state(key)?.state == .closed && h.state(key)?.window.count == 0)
        h.call(key, at: 2002, .fail, latency: 0)
        #expect(h.state(key)?.state == .closed)
    }

    @Test func enoughProbeSuccessesCloseTheCircuit() throws {
        var h = Harness(SettingsOverride(failureThreshold: 1, successThreshold: 2, openTimeoutMs: 1000, halfOpenMaxInFlight: 1))
        h.call(key, at: 0, .fail, latency: 0)
        h.call(key, at: 1000, .ok, latency: 10)
        #expect(h.state(key)?.state == .halfOpen && h.state(key)?.probeSuccesses == 1)
        h.call(key, at: 1020, .ok, latency: 10)
        #expect(h.transitions.last?.cause == .probeSucceeded && h.state(key)?.state == .closed)
        #expect(h.state(key)?.probeSuccesses == 0)
    }

    @Test func reopensWhenAProbeFailsAndBacksOffUpToTheCap() throws {
        var h = Harness(
            SettingsOverride(failureThreshold: 1, openTimeoutMs: 1000, openTimeoutMultiplier: 2.5, maxOpenTimeoutMs: 5000))
        h.call(key, at: 0, .fail, latency: 0)
        var now: Int64 = 0
        var timeouts: [Int64] = []
        for _ in 0..<4 {
            now += h.state(key)!.currentOpenTimeoutMs
            h.call(key, at: now, .fail, latency: 0)
            #expect(h.transitions.last?.cause == .probeFailed)
            timeouts.append(h.state(key)!.currentOpenTimeoutMs)
        }
        #expect(timeouts == [2500, 5000, 5000, 5000])
        // Closing restores the configured timeout.
        now += 5000
        h.call(key, at: now, .ok, latency: 0)
        h.call(key, at: now + 1, .ok, latency: 0)
        #expect(h.state(key)?.state == .closed && h.state(key)?.currentOpenTimeoutMs == 1000)
    }

    @Test func theGrownTimeoutIsTruncatedToWholeMilliseconds() throws {
        var s = BreakerSettings()
        s.openTimeoutMultiplier = 1.5
        s.maxOpenTimeoutMs = 1_000_000
        #expect(s.grownOpenTimeout(1001) == 1501)
    }

    @Test func aTimeoutIsAFailureAndSlow() throws {
        var h = Harness(SettingsOverride(failureThreshold: 10, latencyThresholdMs: 1000))
        h.call(key, at: 0, .timeout)
        let entry = try #require(h.state(key)?.window.entries.first)
        #expect(entry.failed && entry.slow && entry.timedOut && entry.latencyUs == 1_000_000)
        #expect(h.calls.last?.time == Harness.t(1000), "t = admitted + callTimeoutMs")
    }

    @Test func aCancelledCallIsRecordedButNeverEntersTheWindow() throws {
        var h = Harness()
        let pMaybe = h.permit(key, at: 0)
        let p = try #require(pMaybe)
        h.complete(p, .cancelled(latencyUs: 10), at: 5)
        #expect(h.calls.last?.outcome == .cancelled)
        #expect(h.state(key)?.window.count == 0)
    }

    @Test func aCancelledProbeFreesItsSlot() throws {
        var h = Harness(SettingsOverride(failureThreshold: 1, openTimeoutMs: 1000))
        h.call(key, at: 0, .fail, latency: 0)
        let pMaybe = h.permit(key, at: 1000)
        let p = try #require(pMaybe)
        #expect(h.admit(key, at: 1001).rejection?.reason == .halfOpenProbeInFlight)
        h.complete(p, .cancelled(latencyUs: 1), at: 1002)
        #expect(h.state(key)?.probesInFlight == 0)
        #expect(h.admit(key, at: 1003).isAdmitted)
    }

    @Test func failuresOfOneTenantNeverChangeAnotherTenantsState() throws {
        var h = Harness(SettingsOverride(failureThreshold: 2))
        let a = Harness.key("tenant-a", "web_search")
        let b = Harness.key("tenant-b", "web_search")
        h.call(b, at: 0, .ok)
        let before = h.state(b)
        for i in 0..<10 { h.call(a, at: Int64(i) * 10, .fail, latency: 1) }
        #expect(h.state(a)?.state == .open)
        #expect(h.state(b) == before)
        #expect(h.admit(b, at: 200).isAdmitted)
    }

    @Test func everyTransitionEndsTheGenerationAndResetsProbesInFlight() throws {
        var h = Harness(SettingsOverride(failureThreshold: 1, openTimeoutMs: 1000, halfOpenMaxInFlight: 3))
        h.call(key, at: 0, .fail, latency: 0)
        _ = h.permit(key, at: 1000)
        _ = h.permit(key, at: 1001)
        #expect(h.state(key)?.probesInFlight == 2)
        h.forceOpen(tool: key.tool, tenant: key.tenant, hold: true, actor: "a", reason: "r", at: Harness.t(1002))
        #expect(h.state(key)?.probesInFlight == 0)
        #expect(h.transitions.map(\.generation) == [1, 2, 3])
    }
}
