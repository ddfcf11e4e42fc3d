import BreakerCore
import BreakerRuntime
import BreakerServe
import BreakerTestSupport
import Metrics
import Testing

/// `serve`'s metrics registry: Prometheus text exposition (format 0.0.4), series made and
/// destroyed one by one as keys come and go idle.
@Suite struct MetricsRegistryTests {
    static let dimensions = [("tenant_id", #"ac"me\corp"#), ("tool_name", "web_search")]
    static let labels = #"tenant_id="ac\"me\\corp",tool_name="web_search""#

    @Test func aScrapeIsPrometheusTextWithEscapedLabelValues() {
        let registry = MetricsRegistry()
        Counter(label: "agent_tool_call_blocked_total", dimensions: Self.dimensions, factory: registry).increment(by: 3)
        Gauge(label: "agent_circuit_breaker_state", dimensions: Self.dimensions, factory: registry).record(2)
        let timer = Timer(label: "agent_tool_call_latency", dimensions: Self.dimensions, factory: registry)
        timer.recordNanoseconds(500_000_000)
        timer.recordNanoseconds(2_000_000_000)
        timer.recordNanoseconds(60_000_000_000)
        Counter(label: "agent_circuit_breaker_log_errors_total", factory: registry).increment()
        let l = Self.labels
        let expected = """
            # HELP agent_circuit_breaker_log_errors_total Failed attempts to write the event log.
            # TYPE agent_circuit_breaker_log_errors_total counter
            agent_circuit_breaker_log_errors_total 1
            # HELP agent_circuit_breaker_state State of a key that is not CLOSED: 1 half-open, 2 open, 3 forced open.
            # TYPE agent_circuit_breaker_state gauge
            agent_circuit_breaker_state{\(l)} 2.0
            # HELP agent_tool_call_blocked_total Admissions of the tool's keys that were rejected.
            # TYPE agent_tool_call_blocked_total counter
            agent_tool_call_blocked_total{\(l)} 3
            # HELP agent_tool_call_latency TenantBreaker metric agent_tool_call_latency.
            # TYPE agent_tool_call_latency histogram
            agent_tool_call_latency_bucket{\(l),le="0.005"} 0
            agent_tool_call_latency_bucket{\(l),le="0.01"} 0
            agent_tool_call_latency_bucket{\(l),le="0.025"} 0
            agent_tool_call_latency_bucket{\(l),le="0.05"} 0
            agent_tool_call_latency_bucket{\(l),le="0.1"} 0
            agent_tool_call_latency_bucket{\(l),le="0.25"} 0
            agent_tool_call_latency_bucket{\(l),le="0.5"} 1
            agent_tool_call_latency_bucket{\(l),le="1.0"} 1
            agent_tool_call_latency_bucket{\(l),le="2.5"} 2
            agent_tool_call_latency_bucket{\(l),le="5.0"} 2
            agent_tool_call_latency_bucket{\(l),le="10.0"} 2
            agent_tool_call_latency_bucket{\(l),le="+Inf"} 3
            agent_tool_call_latency_sum{\(l)} 62.5
            agent_tool_call_latency_count{\(l)} 3

            """
        #expect(String(decoding: registry.emitted(), as: UTF8.self) == expected)
    }

    @Test func aDestroyedSeriesLeavesTheScrapeAndComesBackFromZero() {
        let registry = MetricsRegistry()
        let first = Counter(label: "agent_circuit_breaker_open_total", dimensions: Self.dimensions, factory: registry)
        first.increment(by: 5)
        let other = Counter(
            label: "agent_circuit_breaker_open_total", dimensions: [("tenant_id", "b"), ("tool_name", "x")], factory: registry)
        other.increment()
        first.destroy()
        #expect(registry.seriesCount == 1)
        #expect(!String(decoding: registry.emitted(), as: UTF8.self).contains("corp"))
        let again = Counter(label: "agent_circuit_breaker_open_total", dimensions: Self.dimensions, factory: registry)
        again.increment()
        #expect(String(decoding: registry.emitted(), as: UTF8.self).contains("agent_circuit_breaker_open_total{\(Self.labels)} 1\n"))
        // A handle destroyed twice (or late) does not take the new series with it.
        first.destroy()
        #expect(registry.seriesCount == 2)
        other.destroy()
        again.destroy()
        #expect(registry.seriesCount == 0 && registry.emitted().isEmpty, "a name with no series leaves the scrape")
    }

    /// SPEC §1: names are bytes. Swift's `String` equality would make `café` in NFC and in NFD one
    /// series; they are two tenants, so two series.
    @Test func labelValuesAreComparedAsBytes() {
        let registry = MetricsRegistry()
        Counter(label: "c_total", dimensions: [("tenant_id", "caf\u{E9}")], factory: registry).increment(by: 1)
        Counter(label: "c_total", dimensions: [("tenant_id", "cafe\u{301}")], factory: registry).increment(by: 2)
        #expect(registry.seriesCount == 2)
        #expect(
            String(decoding: registry.emitted(), as: UTF8.self)
                == "# HELP c_total TenantBreaker metric c_total.\n# TYPE c_total counter\nc_total{tenant_id=\"cafe\u{301}\"} 2\nc_total{tenant_id=\"caf\u{E9}\"} 1\n"
        )
    }

    @Test func aNameUsedForTwoKindsShowsOnlyTheFirst() {
        let registry = MetricsRegistry()
        Counter(label: "x", factory: registry).increment()
        Gauge(label: "x", factory: registry).record(7)
        #expect(String(decoding: registry.emitted(), as: UTF8.self) == "# HELP x TenantBreaker metric x.\n# TYPE x counter\nx 1\n")
    }

    @Test func aScrapeCarriesKeysNotClosedAndEveryToolButNoClosedKey() async throws {
        let clock = ManualWallClock()
        let registry = MetricsRegistry()
        let breaker = CircuitBreaker(
            configuration: try BreakerConfiguration(defaults: SettingsOverride(failureThreshold: 1)), wallClock: clock,
            monotonicClock: clock, logger: Fixtures.silentLogger, metricsFactory: registry)
        let tool = try ToolID("web_search")
        func call(_ tenant: String, fails: Bool = false) async throws {
            guard case .admitted(let call) = await breaker.begin(tenant: try TenantID(tenant), tool: tool, turn: try TurnID("t")) else {
                return
            }
            _ = await breaker.record(
                call.permit, fails ? .failure(errorType: try ErrorType("e"), latencyUs: 1_000) : .success(latencyUs: 1_000))
        }
        for i in 0..<100 { try await call("tenant-\(i)") }
        let quiet = String(decoding: registry.emitted(), as: UTF8.self)
        #expect(!quiet.contains("tenant_id="), "no closed key has a series")
        #expect(quiet.contains(#"agent_circuit_breaker_keys{tool_name="web_search",state="closed"} 100.0"#))
        #expect(quiet.contains(#"agent_tool_call_latency_seconds_count{tool_name="web_search"} 100"#))

        try await call("tenant-7", fails: true)
        try await call("tenant-7")
        let outage = String(decoding: registry.emitted(), as: UTF8.self)
        #expect(outage.contains(#"agent_circuit_breaker_state{tenant_id="tenant-7",tool_name="web_search"} 2.0"#))
        #expect(outage.contains(#"agent_circuit_breaker_blocked_total{tenant_id="tenant-7",tool_name="web_search"} 1"#))
        #expect(outage.contains(#"agent_circuit_breaker_keys{tool_name="web_search",state="open"} 1.0"#))
        #expect(!outage.contains("tenant-8"))

        try await breaker.reset(tenant: try TenantID("tenant-7"), tool: tool, actor: "a", reason: "r")
        let recovered = String(decoding: registry.emitted(), as: UTF8.self)
        #expect(!recovered.contains("tenant_id="), "a key that closes leaves the scrape")
        #expect(recovered.contains(#"agent_circuit_breaker_recovery_total{tool_name="web_search"} 1"#))
        #expect(recovered.contains(#"agent_circuit_breaker_keys{tool_name="web_search",state="open"} 0.0"#))
    }
}
