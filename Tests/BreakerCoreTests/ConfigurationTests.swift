import BreakerCore
import Foundation
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

    @Test func aToolsProfileReadsBackAndDecidesItsTraitsUnlessCodeRegistersOthers() throws {
        let c = try BreakerConfiguration(
            json: #"""
                {"tools": {"crm": {"sideEffects": true, "failureThreshold": 2,
                                   "healthCheck": {"url": "https://crm.internal:8443/health?deep=1", "expectStatus": [200, 204], "timeoutMs": 1500}},
                           "kv": {"healthCheck": {"url": "http://[::1]:9000/ping", "method": "HEAD"}}}}
                """#)
        let crm = try #require(c.toolProfiles[ToolID(unchecked: "crm")])
        #expect(crm.sideEffects && crm.healthCheck?.timeoutMs == 1500 && crm.healthCheck?.method == "GET")
        #expect(crm.healthCheck?.target == HTTPTarget("https://crm.internal:8443/health?deep=1"))
        #expect(crm.healthCheck?.target.port == 8443 && crm.healthCheck?.target.path == "/health?deep=1")
        #expect(c.toolProfiles[ToolID(unchecked: "kv")]?.healthCheck?.target.host == "::1")
        #expect(crm.healthCheck?.accepts(status: 204) == true && crm.healthCheck?.accepts(status: 301) == false)
        #expect(c.toolProfiles[ToolID(unchecked: "kv")]?.healthCheck?.accepts(status: 299) == true, "no expectStatus: any 2xx")
        #expect(c.settings(tenant: "acme", tool: "crm").failureThreshold == 2, "the settings beside the profile still apply")
        #expect(try BreakerConfiguration(json: c.jsonText) == c, "the file format keeps the profiles")
        let encoded = String(decoding: try JSONEncoder().encode(c), as: UTF8.self)
        #expect(try BreakerConfiguration(json: encoded) == c, "so does the Encodable form")
        let plain = try BreakerConfiguration(json: #"{"tools": {"crm": {"failureThreshold": 2}}}"#)
        #expect(c.changes(from: plain).contains("tools.crm.sideEffects: false → true"))
        #expect(c.changes(from: plain).contains { $0.hasPrefix("tools.kv.healthCheck: (none) → {\"url\": \"http://[::1]:9000/ping\"") })

        var machine = BreakerMachine(configuration: c)
        #expect(machine.traits(of: ToolID(unchecked: "crm")) == ToolTraits(sideEffects: true, hasHealthCheck: true))
        #expect(machine.traits(of: ToolID(unchecked: "web")) == ToolTraits())
        machine.register(tool: ToolID(unchecked: "kv"), traits: ToolTraits())
        machine.register(tool: ToolID(unchecked: "crm"), traits: nil)
        #expect(machine.traits(of: ToolID(unchecked: "crm")).sideEffects, "nil hands the tool back to the configuration")
        var facts: [Fact] = []
        machine.configure(
            ConfigurationRecord(time: Timestamp(milliseconds: 1), configuration: plain, actor: "a", reason: "r"), facts: &facts)
        #expect(machine.traits(of: ToolID(unchecked: "crm")) == ToolTraits(), "a configuration without the profile takes the traits back")
        machine.configure(ConfigurationRecord(time: Timestamp(milliseconds: 2), configuration: c, actor: "a", reason: "r"), facts: &facts)
        #expect(machine.traits(of: ToolID(unchecked: "crm")).sideEffects, "and a configuration with it gives them again")
        #expect(machine.traits(of: ToolID(unchecked: "kv")) == ToolTraits(), "what code registered stands over the configuration")
    }

    @Test(arguments: [
        (#"{"tools": {"crm": {"healthCheck": {"url": "ftp://crm/health"}}}}"#, "tools.crm.healthCheck.url"),
        (#"{"tools": {"crm": {"healthCheck": {"url": "http://crm:0/health"}}}}"#, "tools.crm.healthCheck.url"),
        (#"{"tools": {"crm": {"healthCheck": {"url": "http://user@crm/health"}}}}"#, "tools.crm.healthCheck.url"),
        (#"{"tools": {"crm": {"healthCheck": {"method": "GET"}}}}"#, "tools.crm.healthCheck.url"),
        (#"{"tools": {"crm": {"healthCheck": {"url": "http://crm/", "expectStatus": []}}}}"#, "tools.crm.healthCheck.expectStatus"),
        (#"{"tools": {"crm": {"healthCheck": {"url": "http://crm/", "timeoutMs": 0}}}}"#, "tools.crm.healthCheck.timeoutMs"),
        (#"{"tools": {"crm": {"healthCheck": {"url": "http://crm/", "follow": true}}}}"#, "tools.crm.healthCheck.follow"),
        (#"{"tools": {"crm": {"sideEffects": "yes"}}}"#, "tools.crm.sideEffects"),
        (#"{"defaults": {"sideEffects": true}}"#, "defaults.sideEffects"),
        (#"{"tenants": {"acme": {"tools": {"crm": {"healthCheck": {}}}}}}"#, "tenants.acme.tools.crm.healthCheck"),
    ])
    func aBadHealthCheckOrProfileNamesTheKey(json: String, key: String) {
        #expect {
            try BreakerConfiguration(json: json)
        } throws: { error in
            (error as? BreakerError)?.context["key"] == key
        }
    }
}
