/// Everything the breaker knows about one key (SPEC §3).
public struct KeyState: Sendable, Hashable {
    /// The circuit's state.
    public var state: CircuitState = .closed
    /// Starts at 0, +1 on every transition.
    public var generation: UInt64 = 0
    /// When the key last entered OPEN (or FORCED_OPEN); `nil` before the first open.
    public var openedAt: Timestamp? = nil
    /// The open timeout now in force, ms (grows after failed probes).
    public var currentOpenTimeoutMs: Int64
    /// Probe successes in this HALF_OPEN episode.
    public var probeSuccesses: Int = 0
    /// Probes admitted and not yet completed. Not part of the log: 0 after a rebuild.
    public var probesInFlight: Int = 0
    /// Outcomes since the key last entered CLOSED.
    public var window = SlidingWindow()

    public init(openTimeoutMs: Int64) {
        self.currentOpenTimeoutMs = openTimeoutMs
    }

    /// This state as a rebuild gives it: with no probe in flight.
    public var durable: KeyState {
        var copy = self
        copy.probesInFlight = 0
        return copy
    }
}

/// A key's state without its window's entries: what status pages and the agent surface read.
public struct KeyStatus: Sendable, Hashable {
    /// The circuit's state.
    public var state: CircuitState
    /// Starts at 0, +1 on every transition.
    public var generation: UInt64
    /// When the key last entered OPEN (or FORCED_OPEN); `nil` before the first open.
    public var openedAt: Timestamp?
    /// The open timeout now in force, ms.
    public var currentOpenTimeoutMs: Int64
    /// Probe successes in this HALF_OPEN episode.
    public var probeSuccesses: Int
    /// Probes admitted and not yet completed.
    public var probesInFlight: Int
    /// Calls in the window.
    public var windowCalls: Int
    /// Failures (failures and timeouts) in the window.
    public var windowFailures: Int
}
