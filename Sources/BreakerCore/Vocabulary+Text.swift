// The one mapping between the typed vocabulary and the text of SPEC §9 and §11 (JSON, CSV, the
// degradation signal). The store's integer codes are in BreakerStore's RowCodes.

extension CircuitState: CustomStringConvertible {
    /// `closed`, `open`, `half_open`, `forced_open`.
    public var name: String {
        switch self {
        case .closed: "closed"
        case .open: "open"
        case .halfOpen: "half_open"
        case .forcedOpen: "forced_open"
        }
    }

    public var description: String { name }

    /// The state named `name`, if any.
    public init?(name: String) {
        guard let s = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = s
    }
}

extension TransitionCause: CustomStringConvertible {
    /// `failure_threshold`, `forced_hold`, …
    public var name: String {
        switch self {
        case .failureThreshold: "failure_threshold"
        case .failureRate: "failure_rate"
        case .slowCalls: "slow_calls"
        case .openTimeoutElapsed: "open_timeout_elapsed"
        case .probeSucceeded: "probe_succeeded"
        case .probeFailed: "probe_failed"
        case .forced: "forced"
        case .forcedHold: "forced_hold"
        case .released: "released"
        case .reset: "reset"
        case .fleetQuorum: "fleet_quorum"
        }
    }

    public var description: String { name }

    /// The cause named `name`, if any.
    public init?(name: String) {
        guard let c = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = c
    }
}

extension RejectionReason: CustomStringConvertible {
    /// `circuit_open`, `half_open_probe_in_flight`, `forced_open`, `awaiting_health_probe`.
    public var name: String {
        switch self {
        case .circuitOpen: "circuit_open"
        case .halfOpenProbeInFlight: "half_open_probe_in_flight"
        case .forcedOpen: "forced_open"
        case .awaitingHealthProbe: "awaiting_health_probe"
        }
    }

    public var description: String { name }

    /// The reason named `name`, if any.
    public init?(name: String) {
        guard let r = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = r
    }
}

extension CallOutcomeKind: CustomStringConvertible {
    /// `success`, `failure`, `timeout`, `cancelled`, `rejected`.
    public var name: String {
        switch self {
        case .success: "success"
        case .failure: "failure"
        case .timeout: "timeout"
        case .cancelled: "cancelled"
        case .rejected: "rejected"
        }
    }

    public var description: String { name }
}

extension OperatorOp: CustomStringConvertible {
    /// `force_open`, `force_open_hold`, `release`, `reset`.
    public var name: String {
        switch self {
        case .forceOpen: "force_open"
        case .forceOpenHold: "force_open_hold"
        case .release: "release"
        case .reset: "reset"
        }
    }

    public var description: String { name }

    /// The action named `name`, if any.
    public init?(name: String) {
        guard let op = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = op
    }
}

extension CallResult {
    /// SPEC §5's `reason` for this result (`nil` for a success): `circuit_open`…,
    /// `tool_call_timeout`, `tool_call_exception:<ErrorTypeName>`, `cancelled`.
    public var reason: String? {
        switch self {
        case .success: nil
        case .failure(let type): "tool_call_exception:" + type.rawValue
        case .timeout: "tool_call_timeout"
        case .cancelled: "cancelled"
        case .rejected(let r): r.name
        }
    }
}

extension CallRecord {
    /// SPEC §5's `reason` of this record (`nil` for a success).
    public var reason: String? { result.reason }
}
