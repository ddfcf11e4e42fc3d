import BreakerCore

/// The one mapping between the typed vocabulary and the store's integer columns
/// (see migrations/001_event_log.sql). Codes never change: they are in every store.
enum RowCodes {
    /// The outcome code of a call row: 0 success, 1 failure, 2 timeout, 3 cancelled,
    /// 4–7 rejected (circuit_open, half_open_probe_in_flight, forced_open, awaiting_health_probe).
    @inline(__always)
    static func outcomeCode(_ result: CallResult) -> Int64 {
        switch result {
        case .success: 0
        case .failure: 1
        case .timeout: 2
        case .cancelled: 3
        case .rejected(let r): 4 + Int64(r.rawValue)
        }
    }

    /// A shadow call has the stale bit: like a stale outcome it changes nothing in its key, and a
    /// replay passes over it without reading anything else (its `shadow_calls` row says the rest).
    @inline(__always)
    static func packed(keyID: Int64, _ f: CallFact) -> Int64 {
        keyID << 6 | outcomeCode(f.result) << 2 | (f.probe ? 2 : 0) | (f.stale || f.shadow != nil ? 1 : 0)
    }

    /// SQL for a `calls` row's shadow column: `reason << 1 | stale` of its `shadow_calls` row,
    /// looked for only behind the stale bit; NULL for any call but a shadow call.
    static let shadowColumnSQL =
        "CASE WHEN packed & 1 = 1 THEN (SELECT reason << 1 | stale FROM shadow_calls s WHERE s.seq = calls.seq) END"

    /// A call's (shadow, stale) from its packed stale bit and its shadow column.
    @inline(__always)
    static func shadow(stale: Bool, column: Int64?) -> (shadow: RejectionReason?, stale: Bool) {
        guard let column else { return (nil, stale) }
        return (RejectionReason(rawValue: UInt8(column >> 1)) ?? .circuitOpen, column & 1 != 0)
    }

    /// A call row's packed column: key id, outcome code, probe, stale.
    @inline(__always)
    static func unpack(_ p: Int64) -> (keyID: Int64, code: Int64, probe: Bool, stale: Bool) {
        (p >> 6, (p >> 2) & 7, p & 2 != 0, p & 1 != 0)
    }

    /// The result of outcome `code`; a failure's error type is `errorType` (read from call_errors).
    @inline(__always)
    static func result(code: Int64, errorType: @autoclosure () -> ErrorType) -> CallResult {
        switch code {
        case 0: .success
        case 1: .failure(errorType())
        case 2: .timeout
        case 3: .cancelled
        default: .rejected(RejectionReason(rawValue: UInt8(code - 4)) ?? .circuitOpen)
        }
    }

    /// SQL for a `calls` row's error type: the `call_errors` row of a failure, else NULL. The one
    /// place the packed column is read in SQL.
    static let errorColumnSQL =
        "CASE WHEN (packed >> 2) & 7 = \(outcomeCode(.failure(unknownErrorType))) THEN (SELECT error FROM call_errors e WHERE e.seq = calls.seq) END"

    /// The error type a failure row without a call_errors row is read as.
    static let unknownErrorType = ErrorType(describing: "ToolError")

    static func stateCode(_ s: CircuitState) -> Int64 { Int64(s.rawValue) }
    static func state(_ c: Int64) -> CircuitState? { c >= 0 && c < 4 ? CircuitState(rawValue: UInt8(c)) : nil }
    static func causeCode(_ c: TransitionCause) -> Int64 { Int64(c.rawValue) }
    static func cause(_ c: Int64) -> TransitionCause? {
        c >= 0 && c < Int64(TransitionCause.allCases.count) ? TransitionCause(rawValue: UInt8(c)) : nil
    }
}
