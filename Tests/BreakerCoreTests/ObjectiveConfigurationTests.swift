import BreakerCore
import Testing

/// SPEC §16's objectives in the configuration: top-level `slo` for every tenant, `tenants.T.slo`
/// for one, validated naming the key.
struct ObjectiveConfigurationTests {
    @Test func aTenantsOwnObjectiveReplacesTheTopLevelOneAndBothReadBack() throws {
        let configuration = try BreakerConfiguration(
            json: """
                {"slo": {"objective": 99.5}, "tenants": {"acme": {"slo": {"objective": 99.9, "windowDays": 7, "bad": "degraded", "minTurns": 0}}}}
                """)
        #expect(configuration.objective(for: try TenantID("globex")) == ServiceLevelObjective(objective: 99.5))
        #expect(
            configuration.objective(for: try TenantID("acme"))
                == ServiceLevelObjective(objective: 99.9, windowDays: 7, bad: .degraded, minTurns: 0))
        #expect(try BreakerConfiguration(json: configuration.jsonText) == configuration)
        #expect(try BreakerConfiguration.standard.objective(for: TenantID("acme")) == nil, "no slo, no budget")
        #expect(
            configuration.changes(from: .standard) == [
                #"slo: (none) → {"objective": 99.5, "windowDays": 30, "bad": "blocked", "minTurns": 10}"#,
                #"tenants.acme.slo: (none) → {"objective": 99.9, "windowDays": 7, "bad": "degraded", "minTurns": 0}"#,
            ])
    }

    @Test(arguments: [
        (#"{"slo": {"objective": 100}}"#, "slo.objective = 100.0 is out of range"),
        (#"{"slo": {"objective": 50}}"#, "slo.objective = 50.0 is out of range"),
        (#"{"slo": {"windowDays": 30}}"#, "slo.objective is missing"),
        (#"{"slo": {"objective": 99, "windowDays": 91}}"#, "slo.windowDays = 91 is out of range"),
        (#"{"slo": {"objective": 99, "windowDays": 0}}"#, "slo.windowDays = 0 is out of range"),
        (#"{"tenants": {"acme": {"slo": {"objective": 99, "bad": "failed"}}}}"#, #"tenants.acme.slo.bad must be "blocked" or "degraded""#),
        (#"{"slo": {"objective": 99, "target": 1}}"#, #"unknown key "slo.target""#),
        (#"{"slo": {"objective": 99, "minTurns": -1}}"#, "slo.minTurns = -1 is out of range"),
    ])
    func aBadObjectiveIsRefusedNamingTheKey(json: String, says: String) {
        do {
            _ = try BreakerConfiguration(json: json)
            Issue.record("accepted \(json)")
        } catch {
            #expect(error.message.contains(says), "\(error.message)")
        }
    }
}
