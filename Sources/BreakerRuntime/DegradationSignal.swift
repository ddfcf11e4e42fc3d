public import BreakerCore

/// The structured tool result an agent gets instead of an exception or a hang (SPEC §5).
///
/// Its JSON has exactly the fields `status`, `tool_name`, `reason`, `message` and
/// `retry_after_seconds`, so it can be handed to the model as the tool's result.
public struct DegradationSignal: Sendable, Hashable, Encodable {
    /// Always `tool_unavailable`.
    public let status: String
    /// The tool that is unavailable.
    public let toolName: String
    /// `circuit_open`, `half_open_probe_in_flight`, `forced_open`, `awaiting_health_probe`,
    /// `tool_call_timeout` or `tool_call_exception:<ErrorTypeName>`.
    public let reason: String
    /// Plain words for the agent: the tool is temporarily unavailable; re-plan or tell the user.
    public let message: String
    /// Seconds until a retry may succeed: rounded up, at least 1 for a rejection; 0 after a
    /// failure or timeout while the circuit is still CLOSED.
    public let retryAfterSeconds: Int64

    enum CodingKeys: String, CodingKey {
        case status
        case toolName = "tool_name"
        case reason
        case message
        case retryAfterSeconds = "retry_after_seconds"
    }

    /// A signal for `tool` with `reason` (a rejection, a timeout or a failure); `retryAfterMs` is
    /// rounded up to whole seconds.
    public init(tool: ToolID, reason: CallResult, retryAfterMs: Int64, minimumOneSecond: Bool) {
        self.status = "tool_unavailable"
        self.toolName = tool.rawValue
        self.reason = reason.reason ?? "tool_unavailable"
        let seconds = retryAfterMs <= 0 ? 0 : (retryAfterMs + 999) / 1000
        self.retryAfterSeconds = minimumOneSecond ? max(1, seconds) : seconds
        self.message = Self.message(tool: tool.rawValue, reason: reason, retryAfterSeconds: self.retryAfterSeconds)
    }

    /// The signal for a rejected admission of `tool`.
    public init(tool: ToolID, rejection: Rejection) {
        self.init(tool: tool, reason: .rejected(rejection.reason), retryAfterMs: rejection.retryAfterMs, minimumOneSecond: true)
    }

    static func message(tool: String, reason: CallResult, retryAfterSeconds: Int64) -> String {
        let why: String
        switch reason {
        case .rejected(.circuitOpen): why = "it has been failing or responding too slowly"
        case .rejected(.halfOpenProbeInFlight): why = "it is recovering and is being tested with a limited number of calls"
        case .rejected(.forcedOpen): why = "an operator has taken it offline"
        case .rejected(.awaitingHealthProbe): why = "it is recovering and is being checked by a health probe"
        case .timeout: why = "this call took too long and was abandoned"
        default: why = "this call failed"
        }
        let when = retryAfterSeconds > 0 ? " It may be available again in about \(retryAfterSeconds) s." : ""
        return
            "The tool '\(tool)' is temporarily unavailable because \(why).\(when) Re-plan your approach without this tool, or tell the user that this capability is limited right now."
    }
}
