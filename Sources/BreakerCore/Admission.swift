/// The answer to ``BreakerMachine/admit(_:turn:at:events:)``.
public enum Admission: Sendable, Hashable {
    /// Run the call; complete it with its ``Permit``.
    case admitted(Permit)
    /// Do not run it; answer the agent with the rejection.
    case rejected(Rejection)
}

/// An admitted call: what its completion needs to find and judge it.
///
/// It names its key by slot (``BreakerMachine/key(ofSlot:)``) rather than by name, so that
/// admitting a call copies no names but the turn's.
public struct Permit: Sendable, Hashable {
    /// The key's slot in the machine (stable for the machine's life).
    public let slot: Int
    public let turn: TurnID?
    /// The key's generation at admission.
    public let generation: UInt64
    /// Admitted as a HALF_OPEN probe.
    public let probe: Bool
    /// Admission time.
    public let admittedAt: Timestamp
    /// The key's call timeout, ms: the call is abandoned as a timeout after this.
    public let callTimeoutMs: Int64
}

/// A rejected admission.
public struct Rejection: Sendable, Hashable {
    public let key: BreakerKey
    public let reason: RejectionReason
    /// When to retry, ms from the rejection (SPEC §4).
    public let retryAfterMs: Int64
}

/// How a call ended, as the runtime observed it (SPEC §5).
public enum CallOutcome: Sendable, Hashable {
    /// The tool answered; latency in µs.
    case success(latencyUs: Int64)
    /// The tool threw an error of type `errorType`; latency in µs.
    case failure(errorType: String, latencyUs: Int64)
    /// The call ran for callTimeoutMs and was abandoned.
    case timeout
    /// The caller cancelled it; latency in µs until the cancellation.
    case cancelled(latencyUs: Int64)
}

/// What a completion did.
public struct Completion: Sendable, Hashable {
    /// The key's state after the outcome.
    public let state: CircuitState
    /// The outcome arrived after the key's generation moved on.
    public let stale: Bool
    /// 0 while CLOSED; otherwise ms until a probe may be admitted.
    public let retryAfterMs: Int64
}

/// What a tool is like, for SPEC §6.
public struct ToolTraits: Sendable, Hashable {
    /// Calls change the world: never use a real call as a probe when a health check exists,
    /// and at most one real probe at a time otherwise.
    public var sideEffects: Bool
    /// A synthetic health check is registered for the tool.
    public var hasHealthCheck: Bool

    public init(sideEffects: Bool = false, hasHealthCheck: Bool = false) {
        self.sideEffects = sideEffects
        self.hasHealthCheck = hasHealthCheck
    }
}
