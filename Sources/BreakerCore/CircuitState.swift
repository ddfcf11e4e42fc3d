/// The state of one key's circuit (SPEC §3). Raw values are the log's lower-case names.
public enum CircuitState: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Calls flow; outcomes fill the window.
    case closed
    /// Calls are rejected until the open timeout elapses.
    case open
    /// Probes are admitted, up to the in-flight limit.
    case halfOpen = "half_open"
    /// Held open by an operator until released.
    case forcedOpen = "forced_open"

    public var description: String { rawValue }

    /// OPEN or FORCED_OPEN: counted for the global-outage signal.
    @inlinable public var isOpen: Bool { self == .open || self == .forcedOpen }
}

/// Why a transition happened (SPEC §5, §7).
public enum TransitionCause: String, Sendable, Hashable, CaseIterable {
    case failureThreshold = "failure_threshold"
    case failureRate = "failure_rate"
    case slowCalls = "slow_calls"
    case openTimeoutElapsed = "open_timeout_elapsed"
    case probeSucceeded = "probe_succeeded"
    case probeFailed = "probe_failed"
    case forced
    case forcedHold = "forced_hold"
    case released
    case reset

    /// Whether the window's contents caused it (its failures, calls and p95 are recorded).
    public var isWindowRule: Bool { self == .failureThreshold || self == .failureRate || self == .slowCalls }

    /// Whether an operator (or `auto`) caused it.
    public var isOperator: Bool { self == .forced || self == .forcedHold || self == .released || self == .reset }
}

/// Why an admission was rejected, or why a call degraded (SPEC §5 `reason`).
public enum RejectionReason: String, Sendable, Hashable, CaseIterable {
    case circuitOpen = "circuit_open"
    case halfOpenProbeInFlight = "half_open_probe_in_flight"
    case forcedOpen = "forced_open"
    case awaitingHealthProbe = "awaiting_health_probe"
}

/// The outcome of a call record (SPEC §8).
public enum CallOutcomeKind: String, Sendable, Hashable, CaseIterable {
    case success, failure, timeout, cancelled, rejected
}

/// An operator action's kind as the log writes it (SPEC §11).
public enum OperatorOp: String, Sendable, Hashable, CaseIterable {
    case forceOpen = "force_open"
    case forceOpenHold = "force_open_hold"
    case release
    case reset
}
