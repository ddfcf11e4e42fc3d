public import BreakerCore
public import CoreMetrics

/// The metric handles of one key, made once and reused (dimensions `tenant_id`, `tool_name`).
///
/// The backend's handlers themselves, not swift-metrics' `Counter`/`Gauge`/`Timer` wrappers: a
/// wrapper keeps its own copy of the label and the dimensions, five of them per key. 80 bytes.
public struct KeyMetrics: Sendable {
    /// `agent_circuit_breaker_open_total`: entries into OPEN or FORCED_OPEN.
    public let opened: any CounterHandler
    /// `agent_circuit_breaker_recovery_total`: entries into CLOSED from any other state.
    public let recovered: any CounterHandler
    /// `agent_tool_call_blocked_total`: rejected admissions.
    public let blocked: any CounterHandler
    /// `agent_circuit_breaker_state`: 0 closed, 1 half-open, 2 open, 3 forced open.
    public let state: any RecorderHandler
    /// `agent_tool_call_latency`: latency of every completed call, ns.
    public let latency: any TimerHandler

    public init(key: BreakerKey, factory: any MetricsFactory) {
        let dimensions = [("tenant_id", key.tenant.rawValue), ("tool_name", key.tool.rawValue)]
        opened = factory.makeCounter(label: "agent_circuit_breaker_open_total", dimensions: dimensions)
        recovered = factory.makeCounter(label: "agent_circuit_breaker_recovery_total", dimensions: dimensions)
        blocked = factory.makeCounter(label: "agent_tool_call_blocked_total", dimensions: dimensions)
        state = factory.makeRecorder(label: "agent_circuit_breaker_state", dimensions: dimensions, aggregate: false)
        latency = factory.makeTimer(label: "agent_tool_call_latency", dimensions: dimensions)
    }

    /// Removes the handles from `factory`, the backend that made them (an idle key: its series
    /// leave the scrape).
    public func destroy(in factory: any MetricsFactory) {
        factory.destroyCounter(opened)
        factory.destroyCounter(recovered)
        factory.destroyCounter(blocked)
        factory.destroyRecorder(state)
        factory.destroyTimer(latency)
    }
}
