/// What one step of the machine did: its result, and what its caller must act on — without
/// looking through the facts again.
public struct Step<Result: Sendable>: Sendable {
    /// The step's answer (an admission, a completion, …).
    public var result: Result
    /// What the step recorded.
    public var effects: StepEffects
}

/// What a step recorded, for its caller: the facts it appended (the last ``facts`` of the
/// emitter), and what they ask of the caller.
public struct StepEffects: Sendable, Hashable {
    /// Facts appended, in order, at the end of the emitter.
    public var facts = 0
    /// Transitions among them (report them: metrics, a log line).
    public var transitions = 0
    /// Global-outage events among them (log them).
    public var globalOutages = 0
    /// A rejected admission was recorded (count it).
    public var rejected = false
    /// A shadow call was recorded (SPEC §15: count what it would have blocked).
    public var shadowCall = false
    /// The facts must be durable before the caller returns (SPEC §8: transitions and operator
    /// actions, and everything before them).
    public var mustBeDurable = false

    public init() {}
}

/// The answer to an admission (SPEC §4).
public enum Admission: Sendable, Hashable {
    /// Run the call; complete it with its ``Permit``.
    case admitted(Permit)
    /// Do not run it; answer the agent with the rejection.
    case rejected(Rejection)
    /// A new key beyond `limits.maxKeys` (SPEC §12 Limits): the breaker keeps nothing for it and
    /// records nothing; the caller runs the call unguarded (a library counts it, a service
    /// answers `429`).
    case untracked
}

/// What an admission would answer now (``BreakerMachine/prospect(of:at:)``), without admitting.
public enum Prospect: Sendable, Hashable {
    /// It would be admitted (as a HALF_OPEN probe, or not).
    case admitted(probe: Bool)
    /// It would be rejected: the key's state then, the reason and the retry-after, ms.
    case rejected(state: CircuitState, reason: RejectionReason, retryAfterMs: Int64)
    /// A new key beyond `limits.maxKeys`: it would run unguarded.
    case untracked
}

/// An admitted call: what its completion needs to find and judge it.
public struct Permit: Sendable, Hashable {
    /// The key, by number.
    public let key: KeyRef
    public let turn: TurnID?
    /// The key's generation at admission.
    public let generation: UInt64
    /// Admitted as a HALF_OPEN probe.
    public let probe: Bool
    /// Admission time.
    public let admittedAt: Timestamp
    /// The call timeout it was admitted with, ms: it is abandoned as a timeout after this, and
    /// keeps it whatever configuration comes later (SPEC §2).
    public let callTimeoutMs: Int64
    /// A shadow call (SPEC §15): the key would have rejected it for this reason, and is in
    /// shadow; its outcome is recorded with the reason and changes nothing in the key.
    public let shadow: RejectionReason?

    public init(
        key: KeyRef, turn: TurnID?, generation: UInt64, probe: Bool, admittedAt: Timestamp, callTimeoutMs: Int64,
        shadow: RejectionReason? = nil
    ) {
        self.key = key
        self.turn = turn
        self.generation = generation
        self.probe = probe
        self.admittedAt = admittedAt
        self.callTimeoutMs = callTimeoutMs
        self.shadow = shadow
    }
}

/// A rejected admission.
public struct Rejection: Sendable, Hashable {
    /// The key, by number.
    public let key: KeyRef
    public let reason: RejectionReason
    /// When to retry, ms from the rejection (SPEC §4).
    public let retryAfterMs: Int64
}

/// How a call ended, as the runtime observed it (SPEC §5).
public enum CallOutcome: Sendable, Hashable {
    /// The tool answered; latency in µs.
    case success(latencyUs: Int64)
    /// The tool threw an error of type `errorType`; latency in µs.
    case failure(errorType: ErrorType, latencyUs: Int64)
    /// The call ran for its callTimeoutMs and was abandoned.
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

/// Whom an operator action is for (SPEC §7): one tenant, or every tenant of the tool.
public enum ActionTarget: Sendable, Hashable {
    case tenant(TenantID)
    case allTenants

    /// The target of an action naming `tenant`, or every tenant when `nil`.
    public init(_ tenant: TenantID?) { self = tenant.map(Self.tenant) ?? .allTenants }

    /// The tenant named; `nil` for every tenant.
    public var tenant: TenantID? {
        if case .tenant(let t) = self { t } else { nil }
    }
}

/// What an operator asks (SPEC §7). Force-open, hold and release name a tenant or every tenant;
/// a reset names one tenant, by type: a reset of every tenant cannot be written.
public enum OperatorCommand: Sendable, Hashable {
    case forceOpen(ActionTarget)
    case forceOpenHold(ActionTarget)
    case release(ActionTarget)
    case reset(TenantID)

    /// The command `op` for `tenant` (every tenant when `nil`), as a record or request spells
    /// it. - Throws: ``BreakerError`` (`invalid_operation`) for a reset of every tenant.
    public init(op: OperatorOp, tenant: TenantID?) throws(BreakerError) {
        let target = ActionTarget(tenant)
        switch op {
        case .forceOpen: self = .forceOpen(target)
        case .forceOpenHold: self = .forceOpenHold(target)
        case .release: self = .release(target)
        case .reset:
            guard let tenant else { throw BreakerError(.invalidOperation, "reset needs a tenant; give --tenant") }
            self = .reset(tenant)
        }
    }

    /// The operation, as the log records it.
    public var op: OperatorOp {
        switch self {
        case .forceOpen: .forceOpen
        case .forceOpenHold: .forceOpenHold
        case .release: .release
        case .reset: .reset
        }
    }

    /// Whom it is for.
    public var target: ActionTarget {
        switch self {
        case .forceOpen(let t), .forceOpenHold(let t), .release(let t): t
        case .reset(let tenant): .tenant(tenant)
        }
    }

    /// The tenant named; `nil` for every tenant.
    public var tenant: TenantID? { target.tenant }
}

/// An operator action as data (SPEC §7): from a trace, the CLI's inbox, an API.
public struct OperatorAction: Sendable, Hashable {
    public var command: OperatorCommand
    public var tool: ToolID
    public var actor: String
    public var reason: String
    /// The request it answers (the store's inbox row), carried to the operator record.
    public var requestID: Int64?
    /// The fleet's sequence number of the fleet action it applies (SPEC §14), carried to the record.
    public var fleetSeq: Int64?

    public init(
        _ command: OperatorCommand, tool: ToolID, actor: String, reason: String, requestID: Int64? = nil, fleetSeq: Int64? = nil
    ) {
        self.command = command
        self.tool = tool
        self.actor = actor
        self.reason = reason
        self.requestID = requestID
        self.fleetSeq = fleetSeq
    }

    /// The operation, as the log records it.
    public var op: OperatorOp { command.op }
    /// The tenant named; `nil` for every tenant.
    public var tenant: TenantID? { command.tenant }
}
