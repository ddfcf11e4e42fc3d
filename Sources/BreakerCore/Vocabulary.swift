/// The state of one key's circuit (SPEC §3).
public enum CircuitState: UInt8, Sendable, Hashable, CaseIterable {
    /// Calls flow; outcomes fill the window.
    case closed
    /// Calls are rejected until the open timeout elapses.
    case open
    /// Probes are admitted, up to the in-flight limit.
    case halfOpen
    /// Held open by an operator until released.
    case forcedOpen

    /// OPEN or FORCED_OPEN: counted for the global-outage signal.
    @inlinable public var isOpen: Bool { self == .open || self == .forcedOpen }
}

/// Why a transition happened (SPEC §5, §7).
public enum TransitionCause: UInt8, Sendable, Hashable, CaseIterable {
    case failureThreshold
    case failureRate
    case slowCalls
    case openTimeoutElapsed
    case probeSucceeded
    case probeFailed
    case forced
    case forcedHold
    case released
    case reset
    /// A fleet episode reached this node (SPEC §14).
    case fleetQuorum

    /// Whether the window's contents caused it (its failures, calls and p95 are recorded).
    public var isWindowRule: Bool { self == .failureThreshold || self == .failureRate || self == .slowCalls }

    /// Whether an operator (or `auto`) caused it.
    public var isOperator: Bool { self == .forced || self == .forcedHold || self == .released || self == .reset }
}

/// Why an admission was rejected (SPEC §4, §6).
public enum RejectionReason: UInt8, Sendable, Hashable, CaseIterable {
    case circuitOpen
    case halfOpenProbeInFlight
    case forcedOpen
    case awaitingHealthProbe
}

/// The kind of a call record's outcome (SPEC §8).
public enum CallOutcomeKind: UInt8, Sendable, Hashable, CaseIterable {
    case success
    case failure
    case timeout
    case cancelled
    case rejected
}

/// An operator action's kind as the log records it (SPEC §11).
public enum OperatorOp: UInt8, Sendable, Hashable, CaseIterable {
    case forceOpen
    case forceOpenHold
    case release
    case reset
}

/// Names the type of a tool's error (`ConnectionError`), as recorded with a failure.
public enum ErrorTypeName: NameKind { public static let field = "error" }

/// The type name of a tool's error.
public typealias ErrorType = Name<ErrorTypeName>

extension Name where Kind == ErrorTypeName {
    /// The name recorded for `error`: its type's name, made a valid name (SPEC §1) — control
    /// characters become spaces, it is cut to 128 bytes at a character boundary, and an empty
    /// name becomes `Error`.
    public static func of(_ error: any Error) -> ErrorType {
        ErrorType(describing: String(describing: type(of: error)))
    }

    /// `text` made a valid error type name (see ``of(_:)``).
    public init(describing text: String) {
        var cleaned = String(text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? " " : Character($0) })
        while cleaned.utf8.count > NameRules.maximumBytes { cleaned.removeLast() }
        self.init(unchecked: cleaned.isEmpty ? "Error" : cleaned)
    }
}

/// What a call record says happened: the typed form of SPEC §5's `reason`.
public enum CallResult: Sendable, Hashable {
    /// The tool answered.
    case success
    /// The tool threw an error of this type.
    case failure(ErrorType)
    /// The call ran for callTimeoutMs and was abandoned.
    case timeout
    /// The caller cancelled it.
    case cancelled
    /// It was not admitted.
    case rejected(RejectionReason)

    /// The outcome's kind.
    @inlinable public var kind: CallOutcomeKind {
        switch self {
        case .success: .success
        case .failure: .failure
        case .timeout: .timeout
        case .cancelled: .cancelled
        case .rejected: .rejected
        }
    }

    /// A failure or a timeout: what the window counts as failed.
    @inlinable public var failed: Bool {
        switch self {
        case .failure, .timeout: true
        default: false
        }
    }
}
