import BreakerCore
import Testing

@Suite struct ConfigurationTests {
    @Test func aNullRateInAnOverrideRemovesTheRateRuleItInherits() throws {
        let c = try BreakerConfiguration(
            json: """
                {"defaults": {"failureRateThreshold": 0.5},
                 "tools": {"crm": {"failureRateThreshold": null}, "kv": {"failureRateThreshold": 0.3}},
                 "tenants": {"acme": {"tools": {"kv": {"failureRateThreshold": null}, "crm": {"failureRateThreshold": 0.9}}}}}
                """)
        #expect(c.settings(tenant: "x", tool: "web").failureRateThreshold == 0.5)
        #expect(c.settings(tenant: "x", tool: "crm").failureRateThreshold == nil, "the tool's null removes the default's rule")
        #expect(c.settings(tenant: "x", tool: "kv").failureRateThreshold == 0.3)
        #expect(c.settings(tenant: "acme", tool: "kv").failureRateThreshold == nil, "the tenant's null removes the tool's rule")
        #expect(c.settings(tenant: "acme", tool: "crm").failureRateThreshold == 0.9, "a narrower scope may set it again")
        #expect(try BreakerConfiguration(json: c.jsonText) == c, "the file format keeps the null")
        #expect(c.jsonText.contains("\"failureRateThreshold\": null"))
    }

    @Test func aKeyWhoseRateRuleWasRemovedDoesNotOpenOnTheRate() throws {
        let c = try BreakerConfiguration(
            json: #"{"defaults": {"failureRateThreshold": 0.5, "minimumCalls": 2}, "tools": {"crm": {"failureRateThreshold": null}}}"#)
        var h = Harness.machine(c)
        let crm = Harness.key("acme", "crm")
        let web = Harness.key("acme", "web")
        for (i, key) in [crm, web].enumerated() {
            h.call(key, at: Int64(i) * 100, .ok)
            h.call(key, at: Int64(i) * 100 + 10, .fail)
        }
        #expect(h.state(web)?.state == .open, "1 of 2 failed: the inherited rate rule opens web")
        #expect(h.state(crm)?.state == .closed, "crm has no rate rule")
    }

    @Test(arguments: ["windowMs", "failureThreshold", "autoPropagateGlobalOutage"])
    func nullForAnyOtherSettingNamesTheKey(key: String) {
        #expect {
            try BreakerConfiguration(json: "{\"tools\": {\"crm\": {\"\(key)\": null}}}")
        } throws: { error in
            (error as? BreakerError)?.message.contains("tools.crm.\(key)") == true
        }
    }

    @Test func fleetQuorumResolvesLikeAnyKeySettingAndTheFleetSettingsReadBack() throws {
        let c = try BreakerConfiguration(
            json: #"""
                {"defaults": {"fleetQuorum": 3}, "tools": {"crm": {"fleetQuorum": 1}},
                 "tenants": {"acme": {"tools": {"crm": {"fleetQuorum": 5}}}}, "fleet": {"leaseMs": 4000, "pollMs": 250}}
                """#)
        #expect(BreakerConfiguration.standard.settings(tenant: "x", tool: "web").fleetQuorum == 2, "SPEC §14's default")
        #expect(c.settings(tenant: "x", tool: "web").fleetQuorum == 3)
        #expect(c.settings(tenant: "x", tool: "crm").fleetQuorum == 1)
        #expect(c.settings(tenant: "acme", tool: "crm").fleetQuorum == 5)
        #expect(c.fleet.leaseMs == 4000 && c.fleet.pollMs == 250 && c.fleet.heartbeatMs == 1000)
        #expect(try BreakerConfiguration(json: c.jsonText) == c, "the file format keeps them")
        #expect(!BreakerConfiguration.standard.jsonText.contains("fleet"), "default fleet settings are not written")
        let retuned = try BreakerConfiguration(json: #"{"defaults": {"fleetQuorum": 3}, "fleet": {"leaseMs": 5000}}"#)
        #expect(retuned.changes(from: c).contains("fleet.leaseMs: 4000 → 5000"))
    }

    @Test(arguments: [
        (#"{"defaults": {"fleetQuorum": 0}}"#, "defaults.fleetQuorum"),
        (#"{"tools": {"crm": {"fleetQuorum": 1001}}}"#, "tools.crm.fleetQuorum"),
        (#"{"fleet": {"leaseMs": 0}}"#, "fleet.leaseMs"),
        (#"{"fleet": {"heartbeatMs": 20000}}"#, "fleet.leaseMs"),
        (#"{"fleet": {"lease": 1}}"#, "fleet.lease"),
    ])
    func anOutOfRangeFleetSettingNamesTheKey(json: String, key: String) {
        #expect {
            try BreakerConfiguration(json: json)
        } throws: { error in
            (error as? BreakerError)?.context["key"] == key
        }
    }
}
