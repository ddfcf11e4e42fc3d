public import BreakerCore
public import CoreMetrics

/// The metric handles of one key, made once and reused (dimensions `tenant_id`, `tool_name`).
public struct KeyMetrics: Sendable {
    /// `agent_circuit_breaker_open_total`: entries into OPEN or FORCED_OPEN.
    public let opened: Counter
    /// `agent_circuit_breaker_recovery_total`: entries into CLOSED from any other state.
    public let recovered: Counter
    /// `agent_tool_call_blocked_total`: rejected admissions.
    public let blocked: Counter
    /// `agent_circuit_breaker_state`: 0 closed, 1 half-open, 2 open, 3 forced open.
    public let state: Gauge
    /// `agent_tool_call_latency`: latency of every completed call, ns.
    public let latency: Timer

    public init(key: BreakerKey, factory: any MetricsFactory) {
        let dimensions = [("tenant_id", key.tenant.rawValue), ("tool_name", key.tool.rawValue)]
        opened = Counter(label: "agent_circuit_breaker_open_total", dimensions: dimensions, factory: factory)
        recovered = Counter(label: "agent_circuit_breaker_recovery_total", dimensions: dimensions, factory: factory)
        blocked = Counter(label: "agent_tool_call_blocked_total", dimensions: dimensions, factory: factory)
        state = Gauge(label: "agent_circuit_breaker_state", dimensions: dimensions, factory: factory)
        latency = Timer(label: "agent_tool_call_latency", dimensions: dimensions, factory: factory)
    }

    /// Removes the handles from the metrics backend (an idle key: its series leave the scrape).
    public func destroy() {
        opened.destroy()
        recovered.destroy()
        blocked.destroy()
        state.destroy()
        latency.destroy()
    }
}
