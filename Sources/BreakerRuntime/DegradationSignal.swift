public import BreakerCore

/// The structured tool result an agent gets instead of an exception or a hang (SPEC §5).
///
/// It holds the tool, why it is unavailable and when to retry, typed. Its JSON has exactly the
/// fields `status`, `tool_name`, `reason`, `message` and `retry_after_seconds`, so it can be
/// handed to the model as the tool's result; decoding reads that JSON back (the MCP proxy gets
/// it from a `serve`).
public struct DegradationSignal: Sendable, Hashable, Codable {
    /// Why a call of the tool did not give the agent an answer.
    public enum Cause: Sendable, Hashable {
        /// The call was not admitted.
        case rejected(RejectionReason)
        /// The call ran for callTimeoutMs and was abandoned.
        case timeout
        /// The tool threw an error of this type.
        case failure(ErrorType)

        /// The call result of this cause.
        public var result: CallResult {
            switch self {
            case .rejected(let r): .rejected(r)
            case .timeout: .timeout
            case .failure(let type): .failure(type)
            }
        }

        /// The cause SPEC §5's `reason` names, or `nil` for a text that names none.
        public init?(reason: String) {
            let exception = "tool_call_exception:"
            if reason == "tool_call_timeout" {
                self = .timeout
            } else if let r = RejectionReason(name: reason) {
                self = .rejected(r)
            } else if reason.hasPrefix(exception), let type = try? ErrorType(String(reason.dropFirst(exception.count))) {
                self = .failure(type)
            } else {
                return nil
            }
        }
    }

    /// The tool that is unavailable.
    public let tool: ToolID
    /// Why.
    public let cause: Cause
    /// Seconds until a retry may succeed: rounded up, at least 1 for a rejection; 0 after a
    /// failure or timeout while the circuit is still CLOSED.
    public let retryAfterSeconds: Int64

    /// Always `tool_unavailable`.
    public var status: String { "tool_unavailable" }
    /// SPEC §5's `reason`: `circuit_open`, `half_open_probe_in_flight`, `forced_open`,
    /// `awaiting_health_probe`, `tool_call_timeout` or `tool_call_exception:<ErrorTypeName>`.
    public var reason: String { cause.result.reason ?? status }
    /// Plain words for the agent: the tool is temporarily unavailable; re-plan or tell the user.
    public var message: String { Self.message(tool: tool.rawValue, cause: cause, retryAfterSeconds: retryAfterSeconds) }

    enum CodingKeys: String, CodingKey {
        case status
        case toolName = "tool_name"
        case reason
        case message
        case retryAfterSeconds = "retry_after_seconds"
    }

    /// A signal for `tool` with `cause`; `retryAfterMs` is rounded up to whole seconds.
    public init(tool: ToolID, reason cause: Cause, retryAfterMs: Int64, minimumOneSecond: Bool) {
        self.tool = tool
        self.cause = cause
        let seconds = retryAfterMs <= 0 ? 0 : (retryAfterMs + 999) / 1000
        self.retryAfterSeconds = minimumOneSecond ? max(1, seconds) : seconds
    }

    /// The signal for a rejected admission of `tool`.
    public init(tool: ToolID, rejection: Rejection) {
        self.init(tool: tool, reason: .rejected(rejection.reason), retryAfterMs: rejection.retryAfterMs, minimumOneSecond: true)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(status, forKey: .status)
        try c.encode(tool.rawValue, forKey: .toolName)
        try c.encode(reason, forKey: .reason)
        try c.encode(message, forKey: .message)
        try c.encode(retryAfterSeconds, forKey: .retryAfterSeconds)
    }

    /// Reads a signal's JSON; the tool name and the reason must be ones SPEC §5 can write.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let name = try c.decode(String.self, forKey: .toolName)
        let reason = try c.decode(String.self, forKey: .reason)
        do {
            self.tool = try ToolID(name)
        } catch {
            throw DecodingError.dataCorruptedError(forKey: .toolName, in: c, debugDescription: error.message)
        }
        guard let cause = Cause(reason: reason) else {
            throw DecodingError.dataCorruptedError(forKey: .reason, in: c, debugDescription: "\(reason) is not a reason of SPEC §5")
        }
        self.cause = cause
        self.retryAfterSeconds = try c.decode(Int64.self, forKey: .retryAfterSeconds)
    }

    static func message(tool: String, cause: Cause, retryAfterSeconds: Int64) -> String {
        let why: String
        switch cause {
        case .rejected(.circuitOpen): why = "it has been failing or responding too slowly"
        case .rejected(.halfOpenProbeInFlight): why = "it is recovering and is being tested with a limited number of calls"
        case .rejected(.forcedOpen): why = "an operator has taken it offline"
        case .rejected(.awaitingHealthProbe): why = "it is recovering and is being checked by a health probe"
        case .timeout: why = "this call took too long and was abandoned"
        case .failure: why = "this call failed"
        }
        let when = retryAfterSeconds > 0 ? " It may be available again in about \(retryAfterSeconds) s." : ""
        return
            "The tool '\(tool)' is temporarily unavailable because \(why).\(when) Re-plan your approach without this tool, or tell the user that this capability is limited right now."
    }
}
