public import BreakerCore

/// How an admitted call ended, as the code that ran it saw it — before it is judged against
/// its deadline (``InFlightCall/recording(_:at:)``).
public enum CallEnding: Sendable, Hashable {
    case success
    /// The tool failed with an error of this type.
    case failure(ErrorType)
    /// The caller gave up on it (SPEC §5: recorded, and neither a success nor a failure).
    case cancelled
    /// Abandoned at its deadline.
    case timeout
}

/// One admitted call between its admission and its end (SPEC §4, §5, §8): admitted at an
/// instant of the breaker's monotonic clock, with the call timeout it was admitted under.
///
/// This is the one call protocol: ``CircuitBreaker/call(tenant:tool:turn:_:)``, `serve`'s permits
/// and `mcp-proxy` all begin a call with ``CircuitBreaker/begin(tenant:tool:turn:)`` and end it
/// with ``CircuitBreaker/end(_:_:)``; the arithmetic of latencies and deadlines is here alone.
public struct InFlightCall: Sendable, Hashable {
    /// The machine's permit for the call.
    public let permit: Permit
    /// When it was admitted, on the breaker's monotonic clock (``CircuitBreaker/monotonicNow()``).
    public let admitted: Duration

    public init(permit: Permit, admitted: Duration) {
        self.permit = permit
        self.admitted = admitted
    }

    /// The call timeout it was admitted with, ms.
    public var callTimeoutMs: Int64 { permit.callTimeoutMs }

    /// The monotonic instant at which it is abandoned as a timeout.
    public var deadline: Duration { admitted + .milliseconds(permit.callTimeoutMs) }

    /// What the machine records for a call that ended as `ending`, seen at monotonic instant
    /// `now`.
    public struct Recording: Sendable, Hashable {
        /// The outcome to record.
        public let outcome: CallOutcome
        /// When to record it: `nil` for now; admission + callTimeoutMs for a timeout (SPEC §5).
        public let time: Timestamp?
        /// The latency, µs: measured from admission, or the call timeout for a timeout.
        public let latencyUs: Int64

        /// Whether it is recorded as a timeout (also when it ended after its deadline).
        public var isTimeout: Bool { outcome == .timeout }
    }

    /// The recording of `ending` seen at `now`: an end at or past the deadline is a timeout,
    /// recorded at admission + callTimeoutMs, whatever the caller reported; any other end is
    /// recorded now with the latency measured from admission.
    public func recording(_ ending: CallEnding, at now: Duration) -> Recording {
        let (seconds, attoseconds) = (now - admitted).components
        let us = max(0, seconds * 1_000_000 + attoseconds / 1_000_000_000_000)
        let timeoutUs = permit.callTimeoutMs * 1000
        if ending == .timeout || us >= timeoutUs {
            return Recording(outcome: .timeout, time: permit.admittedAt.adding(milliseconds: permit.callTimeoutMs), latencyUs: timeoutUs)
        }
        let outcome: CallOutcome =
            switch ending {
            case .success: .success(latencyUs: us)
            case .failure(let type): .failure(errorType: type, latencyUs: us)
            case .cancelled, .timeout: .cancelled(latencyUs: us)
            }
        return Recording(outcome: outcome, time: nil, latencyUs: us)
    }
}

/// The answer to ``CircuitBreaker/begin(tenant:tool:turn:)``.
public enum CallAdmission: Sendable, Hashable {
    /// Run the call; end it with ``CircuitBreaker/end(_:_:)``.
    case admitted(InFlightCall)
    /// Do not run it; answer the agent with the rejection.
    case rejected(Rejection)
    /// A new key beyond `limits.maxKeys` (SPEC §12 Limits): nothing is kept or recorded; the
    /// call runs unguarded (a library counts it, a service answers `429`).
    case untracked
}

/// What ending an ``InFlightCall`` recorded and what the machine answered.
public struct CallEnd: Sendable, Hashable {
    /// What was recorded.
    public let recording: InFlightCall.Recording
    /// The machine's answer: the key's state after the call, whether it was stale.
    public let completion: Completion
}
