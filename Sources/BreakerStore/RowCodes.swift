import BreakerCore

/// How facts are packed into integer columns (see migrations/001_event_log.sql).
enum RowCodes {
    static func outcomeCode(_ r: CallRecord) -> Int64 {
        switch r.outcome {
        case .success: return 0
        case .failure: return 1
        case .timeout: return 2
        case .cancelled: return 3
        case .rejected:
            switch RejectionReason(rawValue: r.reason ?? "") {
            case .circuitOpen?: return 4
            case .halfOpenProbeInFlight?: return 5
            case .forcedOpen?: return 6
            case .awaitingHealthProbe?: return 7
            case nil: return 4
            }
        }
    }

    static func packed(keyID: Int64, _ r: CallRecord) -> Int64 {
        keyID << 6 | outcomeCode(r) << 2 | (r.probe ? 2 : 0) | (r.stale ? 1 : 0)
    }

    /// (key id, outcome, rejection reason, probe, stale) from a packed column.
    static func unpack(_ p: Int64) -> (keyID: Int64, outcome: CallOutcomeKind, rejection: RejectionReason?, probe: Bool, stale: Bool) {
        let code = (p >> 2) & 7
        let outcome: CallOutcomeKind
        var rejection: RejectionReason? = nil
        switch code {
        case 0: outcome = .success
        case 1: outcome = .failure
        case 2: outcome = .timeout
        case 3: outcome = .cancelled
        default:
            outcome = .rejected
            rejection = [.circuitOpen, .halfOpenProbeInFlight, .forcedOpen, .awaitingHealthProbe][Int(code) - 4]
        }
        return (p >> 6, outcome, rejection, p & 2 != 0, p & 1 != 0)
    }

    /// The call record's reason, as the machine wrote it, from its outcome code.
    static func reason(outcome: CallOutcomeKind, rejection: RejectionReason?, errorName: String?) -> String? {
        switch outcome {
        case .success: return nil
        case .failure: return "tool_call_exception:" + (errorName ?? "ToolError")
        case .timeout: return "tool_call_timeout"
        case .cancelled: return "cancelled"
        case .rejected: return rejection?.rawValue
        }
    }

    static func stateCode(_ s: CircuitState) -> Int64 { Int64(CircuitState.allCases.firstIndex(of: s)!) }
    static func state(_ c: Int64) -> CircuitState? {
        c >= 0 && c < CircuitState.allCases.count ? CircuitState.allCases[Int(c)] : nil
    }
    static func causeCode(_ c: TransitionCause) -> Int64 { Int64(TransitionCause.allCases.firstIndex(of: c)!) }
    static func cause(_ c: Int64) -> TransitionCause? {
        c >= 0 && c < TransitionCause.allCases.count ? TransitionCause.allCases[Int(c)] : nil
    }

    /// Turn flag: the turn has a rejected call.
    static let turnBlocked: Int64 = 1
    /// Turn flag: the turn has a rejected, failed or timed-out call.
    static let turnDegraded: Int64 = 2

    static func turnFlags(_ outcome: CallOutcomeKind) -> Int64 {
        switch outcome {
        case .rejected: return turnBlocked | turnDegraded
        case .failure, .timeout: return turnDegraded
        case .success, .cancelled: return 0
        }
    }
}
