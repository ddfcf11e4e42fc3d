/// What ``CircuitBreaker/call(tenant:tool:turn:_:)`` returns. The rejection path does not throw.
public enum ToolCallResult<Value: Sendable>: Sendable {
    /// The tool answered in time.
    case success(Value)
    /// The call was rejected, or it timed out: hand the signal to the agent.
    case unavailable(DegradationSignal)
    /// The tool threw `error`: hand the signal to the agent; the error is kept for the caller.
    case failed(DegradationSignal, any Error)
    /// The caller cancelled the call (the agent's turn was aborted).
    case cancelled

    /// The tool's value, if it answered.
    public var value: Value? {
        if case .success(let v) = self { return v }
        return nil
    }

    /// The degradation signal, if the call was rejected, failed or timed out.
    public var signal: DegradationSignal? {
        switch self {
        case .unavailable(let s), .failed(let s, _): return s
        case .success, .cancelled: return nil
        }
    }
}
