import BreakerCore
import Testing

@Suite struct ValueTests {
    @Test(
        arguments: [
            ("2026-11-28T10:00:00Z", 1_795_860_000_000),
            ("2026-11-28T10:00:00.250Z", 1_795_860_000_250),
            ("2026-11-28T10:00:00.5Z", 1_795_860_000_500),
            ("2024-02-29T23:59:59.999Z", 1_709_251_199_999),
            ("1970-01-01T00:00:00Z", 0),
        ] as [(String, Int64)])
    func parsesISO8601UTC(text: String, ms: Int64) {
        #expect(Timestamp(iso8601: text)?.milliseconds == ms)
    }

    @Test(arguments: [
        "2026-11-28T10:00:00", "2026-11-28T10:00:00+01:00", "2026-11-28T10:00:00.2500Z", "2026-02-30T00:00:00Z",
        "2026-11-28 10:00:00Z", "2026-11-28T24:00:00Z", "",
    ])
    func rejectsOtherTimeFormats(text: String) {
        #expect(Timestamp(iso8601: text) == nil)
    }

    @Test func formatsWithMilliseconds() {
        #expect(Timestamp(milliseconds: 1_795_860_013_040).iso8601 == "2026-11-28T10:00:13.040Z")
        #expect(Timestamp(milliseconds: 1_795_860_013_040).hourStart.iso8601Seconds == "2026-11-28T10:00:00Z")
    }

    @Test(arguments: ["a", "acme", "say \"hi\"", "=cmd|calc", "-minus", "ünïcode", String(repeating: "x", count: 128)])
    func acceptsValidNames(name: String) throws {
        _ = try TenantID(name)
    }

    @Test(arguments: [
        "", String(repeating: "x", count: 129), "tab\there", "nl\n", "del\u{7F}", "nul\u{0}", String(repeating: "é", count: 65),
    ])
    func rejectsInvalidNames(name: String) {
        #expect(throws: BreakerError.self) { try TenantID(name) }
    }

    @Test func aBadNameErrorNamesTheFieldAndTheLimit() {
        do {
            _ = try ToolID(String(repeating: "x", count: 200))
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .invalidName)
            #expect(error.message.contains("tool") && error.message.contains("128"))
        }
    }

    @Test func resolutionOrderIsTenantToolThenToolThenDefaults() throws {
        let c = try BreakerConfiguration(
            json: """
                {"defaults": {"failureThreshold": 7, "latencyThresholdMs": 2000},
                 "tools": {"crm_api": {"failureThreshold": 4, "latencyThresholdMs": 5000}},
                 "tenants": {"acme": {"tools": {"crm_api": {"failureThreshold": 2, "callTimeoutMs": 1500}}}}}
                """)
        #expect(c.settings(tenant: "x", tool: "web").failureThreshold == 7)
        #expect(c.settings(tenant: "x", tool: "web").callTimeoutMs == 2000, "callTimeoutMs defaults to latencyThresholdMs")
        #expect(c.settings(tenant: "x", tool: "crm_api").failureThreshold == 4)
        #expect(c.settings(tenant: "x", tool: "crm_api").callTimeoutMs == 5000)
        #expect(c.settings(tenant: "acme", tool: "crm_api").failureThreshold == 2)
        #expect(c.settings(tenant: "acme", tool: "crm_api").callTimeoutMs == 1500)
        #expect(c.settings(tenant: "acme", tool: "crm_api").latencyThresholdMs == 5000)
        #expect(try BreakerConfiguration(json: c.jsonText) == c)
    }

    @Test(
        arguments: [
            (#"{"defaults": {"failureTreshold": 3}}"#, "defaults.failureTreshold"),
            (#"{"defaults": {"failureThreshold": "3"}}"#, "defaults.failureThreshold"),
            (#"{"defaults": {"failureThreshold": 0}}"#, "defaults.failureThreshold"),
            (#"{"defaults": {"windowMs": 1.5}}"#, "defaults.windowMs"),
            (#"{"tools": {"x": {"failureRateThreshold": 1.5}}}"#, "tools.x.failureRateThreshold"),
            (#"{"tools": {"x": {"openTimeoutMultiplier": 0.5}}}"#, "tools.x.openTimeoutMultiplier"),
            (#"{"tenants": {"acme": {"tools": {"x": {"globalOutageTenants": 2}}}}}"#, "globalOutageTenants"),
            (#"{"tenants": {"acme": {"web": {}}}}"#, "tenants.acme.web"),
            (#"{"defualts": {}}"#, "defualts"),
            (#"{"runtime": {"probeIntervalMs": -1}}"#, "runtime.probeIntervalMs"),
            (#"{"defaults": {"autoPropagateGlobalOutage": 1}}"#, "defaults.autoPropagateGlobalOutage"),
            (#"{"defaults": {"failureThreshold": 3}"#, "JSON"),
        ] as [(String, String)])
    func aBadConfigurationNamesTheKey(json: String, key: String) {
        do {
            _ = try BreakerConfiguration(json: json)
            Issue.record("expected an error for \(json)")
        } catch {
            #expect(error.code == .invalidConfiguration)
            #expect(error.message.contains(key), "\(error.message)")
        }
    }

    @Test func jsonKeepsIntegersApartFromFractions() throws {
        #expect(try JSONValue.parse("1") == .integer(1))
        #expect(try JSONValue.parse("1.0") == .number(1.0))
        #expect(try JSONValue.parse(#""a\u00e9\ud83d\ude00""#) == .string("aé😀"))
        #expect(throws: BreakerError.self) { try JSONValue.parse(#"{"a": 1, "a": 2}"#) }
        #expect(throws: BreakerError.self) { try JSONValue.parse("[1,]") }
    }
}
