import BreakerCore
import BreakerRuntime
import BreakerTestSupport
import MetricsTestKit
import Testing

/// `limits.maxKeys` (SPEC §12 Limits): a new key beyond it is kept nowhere and recorded nowhere;
/// the library runs its call unguarded and counts it.
@Suite struct KeyLimitTests {
    let search = try! ToolID("web_search")

    func configuration(maxKeys: Int?) throws -> BreakerConfiguration {
        try BreakerConfiguration(json: #"{"limits": {"maxKeys": \#(maxKeys.map(String.init) ?? "null")}}"#)
    }

    @Test func aNewKeyBeyondTheLimitRunsUnguardedRecordsNothingAndIsCounted() async throws {
        let metrics = TestMetrics()
        let clock = ManualWallClock()
        let sink = InMemoryFactSink()
        let breaker = CircuitBreaker(
            configuration: try configuration(maxKeys: 2), wallClock: clock, monotonicClock: clock, sink: sink,
            logger: Fixtures.silentLogger, metricsFactory: metrics)
        for tenant in ["acme", "globex"] {
            #expect(await breaker.call(tenant: try TenantID(tenant), tool: search, turn: try TurnID("t")) { 1 }.value == 1)
        }
        let recorded = sink.events.count
        let ran = Locked(0)
        let result = await breaker.call(tenant: try TenantID("initech"), tool: search, turn: try TurnID("t")) {
            ran.withLock { $0 += 1 }
            return 7
        }
        #expect(result.value == 7 && ran.withLock { $0 } == 1, "the call beyond the limit ran, unguarded")
        #expect(sink.events.count == recorded, "and nothing was recorded for it")
        #expect(breaker.machine.keys.count == 2, "nor kept")
        #expect(try metrics.expectCounter("agent_circuit_breaker_untracked_calls_total", []).totalValue == 1)
        guard case .untracked = breaker.admit(tenant: try TenantID("initech"), tool: search, turn: nil) else {
            Issue.record("a new key beyond the limit is untracked")
            return
        }
        guard case .admitted = breaker.admit(tenant: try TenantID("acme"), tool: search, turn: nil) else {
            Issue.record("a key within the limit is still guarded")
            return
        }
    }

    @Test func nullMeansNoLimitAndTheDefaultIsAMillion() throws {
        #expect(try configuration(maxKeys: nil).limits.maxKeys == nil)
        #expect(BreakerConfiguration.standard.limits.maxKeys == 1_000_000)
        var machine = BreakerMachine(configuration: try configuration(maxKeys: nil))
        var facts: [Fact] = []
        for i in 0..<50 {
            let key = BreakerKey(tenant: try TenantID("t\(i)"), tool: search)
            guard case .admitted = machine.admit(key, turn: nil, at: Timestamp(milliseconds: 1), facts: &facts).result else {
                Issue.record("no limit: every key is admitted")
                return
            }
        }
    }

    @Test(arguments: [(#"{"limits": {"maxKeys": 0}}"#, "limits.maxKeys"), (#"{"limits": {"keys": 5}}"#, "limits.keys")])
    func aBadLimitNamesTheKey(json: String, key: String) {
        #expect(throws: BreakerError.self) { try BreakerConfiguration(json: json) }
        do {
            _ = try BreakerConfiguration(json: json)
        } catch {
            #expect(error.message.contains(key))
        }
    }

    @Test func theLimitRoundTripsThroughTheFileFormat() throws {
        let c = try configuration(maxKeys: 5)
        #expect(try BreakerConfiguration(json: c.jsonText) == c)
        #expect(try BreakerConfiguration(json: try configuration(maxKeys: nil).jsonText).limits.maxKeys == nil)
        #expect(c.changes(from: .standard) == ["limits.maxKeys: 1000000 → 5"])
    }
}
