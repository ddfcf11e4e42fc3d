import BreakerCore
import Testing

/// SPEC §15: a key in shadow (`enforce: false`) runs the same machine, but a call it would reject
/// is admitted as a shadow call, recorded with the reason, changing nothing in the key.
struct ShadowModeTests {
    /// Opens after two failures, probes after 1 s, one probe at a time, closes on one success.
    static let settings = SettingsOverride(failureThreshold: 2, successThreshold: 1, openTimeoutMs: 1_000, enforce: false)

    @Test func anOpenKeyInShadowRunsTheCallItWouldRejectAndItsFailureChangesNothing() {
        var h = Harness(Self.settings)
        let key = Harness.key()
        h.call(key, at: 0, .fail)
        h.call(key, at: 100, .fail)
        #expect(h.state(key)?.state == .open)

        guard let shadow = h.permit(key, at: 200) else {
            Issue.record("a key in shadow rejects nothing")
            return
        }
        #expect(shadow.shadow == .circuitOpen && !shadow.probe)
        #expect(h.machine.prospect(of: key, at: Harness.t(200)) == .admitted(probe: false), "never among the unavailable tools")
        let before = h.state(key)
        _ = h.complete(shadow, .failure(errorType: Harness.connectionError, latencyUs: 50_000), at: 250)
        #expect(h.state(key) == before, "a shadow outcome moves nothing: not the window, not the state")
        let record = h.calls.last!
        #expect(record.shadow == .circuitOpen && record.result == .failure(Harness.connectionError) && !record.stale)
        #expect(h.calls.allSatisfy { $0.result.kind != .rejected }, "nothing is recorded as rejected")

        // The open timeout (from 200, the second failure's end) elapses as it would: the next call
        // is the probe, and its success closes.
        h.call(key, at: 1_200)
        #expect(h.transitions.map(\.cause) == [.failureThreshold, .openTimeoutElapsed, .probeSucceeded])
        #expect(h.machine.hasSameDurableState(as: h.replayed))
        #expect(h.verifierProblems == [])
    }

    @Test func aShadowCallWhileTheProbeIsInFlightIsNotAProbe() {
        var h = Harness(Self.settings)
        let key = Harness.key()
        h.call(key, at: 0, .fail)
        h.call(key, at: 100, .fail)
        guard let probe = h.permit(key, at: 1_200), let shadow = h.permit(key, at: 1_300) else {
            Issue.record("both calls run")
            return
        }
        #expect(probe.probe && probe.shadow == nil)
        #expect(shadow.shadow == .halfOpenProbeInFlight && !shadow.probe)
        _ = h.complete(shadow, .failure(errorType: Harness.connectionError, latencyUs: 1_000), at: 1_350)
        #expect(h.state(key)?.state == .halfOpen, "a shadow failure is no failed probe")
        guard let second = h.permit(key, at: 1_360) else {
            Issue.record("a key in shadow rejects nothing")
            return
        }
        _ = h.complete(second, .success(latencyUs: 1_000), at: 1_370)
        #expect(h.state(key)?.state == .halfOpen && h.state(key)?.probeSuccesses == 0, "a shadow success is no probe success")
        #expect(h.state(key)?.probesInFlight == 1, "the probe's slot is still taken")
        _ = h.complete(probe, .success(latencyUs: 1_000), at: 1_400)
        #expect(h.state(key)?.state == .closed)
        #expect(h.verifierProblems == [])
    }

    @Test func aForcedOpenToolInShadowRunsItsCallsRecordingForcedOpen() {
        var h = Harness(Self.settings)
        let key = Harness.key()
        h.perform(.forceOpenHold, key.tool, tenant: nil, at: 0)
        guard let shadow = h.permit(key, at: 100) else {
            Issue.record("a key in shadow rejects nothing")
            return
        }
        #expect(shadow.shadow == .forcedOpen, "first seen under the hold, the key starts FORCED_OPEN")
        _ = h.complete(shadow, .success(latencyUs: 1_000), at: 200)
        #expect(h.state(key)?.state == .forcedOpen)
        #expect(h.verifierProblems == [])
    }

    @Test func enforceResolvesPerKeyTheTenantBetweenTheToolAndTheKey() throws {
        let configuration = try BreakerConfiguration(
            json: """
                {"defaults": {"enforce": false}, "tools": {"crm": {"enforce": true}},
                 "tenants": {"acme": {"enforce": true, "tools": {"mail": {"enforce": false}}}, "globex": {"enforce": false}}}
                """)
        #expect(!configuration.settings(tenant: "initech", tool: "search").enforce, "defaults")
        #expect(configuration.settings(tenant: "initech", tool: "crm").enforce, "the tool over the defaults")
        #expect(configuration.settings(tenant: "acme", tool: "search").enforce, "the tenant over the defaults")
        #expect(!configuration.settings(tenant: "globex", tool: "crm").enforce, "the tenant over the tool")
        #expect(!configuration.settings(tenant: "acme", tool: "mail").enforce, "the key over the tenant")
        #expect(try BreakerConfiguration(json: configuration.jsonText) == configuration, "written and read back")
    }

    @Test(arguments: [
        (#"{"defaults": {"enforce": "no"}}"#, "defaults.enforce must be true or false"),
        (#"{"tenants": {"acme": {"enforce": 0}}}"#, "tenants.acme.enforce must be true or false"),
        (#"{"tenants": {"acme": {"shadow": true}}}"#, #"unknown key "tenants.acme.shadow""#),
    ])
    func aBadEnforceIsRefusedNamingTheKey(json: String, says: String) {
        #expect(throws: BreakerError.self) { try BreakerConfiguration(json: json) }
        do {
            _ = try BreakerConfiguration(json: json)
        } catch {
            #expect(error.message.contains(says), "\(error.message)")
        }
    }
}
