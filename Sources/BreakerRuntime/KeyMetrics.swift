public import BreakerCore
public import CoreMetrics

/// The metric handles of one key while its circuit is not CLOSED (dimensions `tenant_id`,
/// `tool_name`): made when the key leaves CLOSED, destroyed when it closes again, so a scrape
/// carries a series per key only where the key has news, however many keys are active.
///
/// The backend's handlers themselves, not swift-metrics' `Counter`/`Gauge` wrappers: a wrapper
/// keeps its own copy of the label and the dimensions.
public struct KeyMetrics: Sendable {
    /// `agent_circuit_breaker_state`: 1 half-open, 2 open, 3 forced open.
    public let state: any RecorderHandler
    /// `agent_circuit_breaker_blocked_total`: the key's rejected admissions since it left CLOSED.
    public let blocked: any CounterHandler

    public init(key: BreakerKey, factory: any MetricsFactory) {
        let dimensions = [("tenant_id", key.tenant.rawValue), ("tool_name", key.tool.rawValue)]
        state = factory.makeRecorder(label: "agent_circuit_breaker_state", dimensions: dimensions, aggregate: false)
        blocked = factory.makeCounter(label: "agent_circuit_breaker_blocked_total", dimensions: dimensions)
    }

    /// Removes the handles from `factory`, the backend that made them (the key closed: its series
    /// leave the scrape).
    public func destroy(in factory: any MetricsFactory) {
        factory.destroyRecorder(state)
        factory.destroyCounter(blocked)
    }
}

/// The metric handles of one tool, over all its keys (dimension `tool_name`): made with the tool's
/// first key and kept, so dashboards and alert rules have series that never leave the scrape.
public struct ToolMetrics: Sendable {
    /// `agent_circuit_breaker_open_total`: entries of the tool's keys into OPEN or FORCED_OPEN.
    public let opened: any CounterHandler
    /// `agent_circuit_breaker_recovery_total`: entries of the tool's keys into CLOSED.
    public let recovered: any CounterHandler
    /// `agent_tool_call_blocked_total`: rejected admissions of the tool's keys.
    public let blocked: any CounterHandler
    /// `agent_tool_call_would_block_total`: shadow calls of the tool's keys, the calls a key in
    /// shadow ran that it would have rejected (SPEC §15).
    public let wouldBlock: any CounterHandler
    /// `agent_tool_call_latency_seconds`: latency of every completed call of the tool.
    public let latency: any TimerHandler
    /// `agent_circuit_breaker_keys{state=…}`: the tool's keys in each state, by `CircuitState.rawValue`.
    public let keys: [any RecorderHandler]

    public init(tool: ToolID, factory: any MetricsFactory) {
        let dimensions = [("tool_name", tool.rawValue)]
        opened = factory.makeCounter(label: "agent_circuit_breaker_open_total", dimensions: dimensions)
        recovered = factory.makeCounter(label: "agent_circuit_breaker_recovery_total", dimensions: dimensions)
        blocked = factory.makeCounter(label: "agent_tool_call_blocked_total", dimensions: dimensions)
        wouldBlock = factory.makeCounter(label: "agent_tool_call_would_block_total", dimensions: dimensions)
        latency = factory.makeTimer(label: "agent_tool_call_latency_seconds", dimensions: dimensions)
        keys = CircuitState.allCases.map { state in
            factory.makeRecorder(
                label: "agent_circuit_breaker_keys", dimensions: dimensions + [("state", state.name)], aggregate: false)
        }
    }
}

/// A tool's handles and its keys by state (kept under the breaker's lock).
struct ToolSeries {
    let handles: ToolMetrics
    var keys = [Int](repeating: 0, count: CircuitState.allCases.count)

    init(handles: ToolMetrics) {
        self.handles = handles
        for gauge in handles.keys { gauge.record(Int64(0)) }
    }

    /// Moves one key from `from` (nil: a new key) to `to` and records both gauges.
    mutating func move(from: CircuitState?, to: CircuitState) {
        if let from {
            keys[Int(from.rawValue)] -= 1
            handles.keys[Int(from.rawValue)].record(Int64(keys[Int(from.rawValue)]))
        }
        keys[Int(to.rawValue)] += 1
        handles.keys[Int(to.rawValue)].record(Int64(keys[Int(to.rawValue)]))
    }
}
