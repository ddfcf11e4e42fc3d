/// One record of the event log (SPEC §8) with its names: what readers of the log see (export,
/// audits, reports, verification). The machine itself works with compact ``Fact``s that name
/// their key by ``KeyRef``; ``BreakerEvent/init(_:keys:)`` resolves them.
public enum BreakerEvent: Sendable, Hashable {
    case call(CallRecord)
    indirect case transition(TransitionRecord)
    indirect case operatorAction(OperatorRecord)
    case globalOutage(GlobalOutageRecord)
    /// Call records the log could not keep (SPEC §8).
    case logGap(LogGapRecord)
    /// A change of the configuration (SPEC §2).
    indirect case configuration(ConfigurationRecord)
    /// A fleet episode that reached this node (SPEC §14).
    indirect case fleet(FleetRecord)

    /// When it happened.
    public var time: Timestamp {
        switch self {
        case .call(let r): r.time
        case .transition(let r): r.time
        case .operatorAction(let r): r.time
        case .globalOutage(let r): r.time
        case .logGap(let r): r.time
        case .configuration(let r): r.time
        case .fleet(let r): r.time
        }
    }
}

/// A fleet episode for one key that reached this node (SPEC §14): `votes` live nodes had the key
/// OPEN on their own evidence. A CLOSED or never-seen key goes OPEN (cause `fleet_quorum`).
public struct FleetRecord: Sendable, Hashable {
    public var time: Timestamp
    public var tenant: TenantID
    public var tool: ToolID
    /// How many nodes voted.
    public var votes: Int
    /// The voting nodes, as many as `votes`.
    public var nodes: [NodeID]
    /// The fleet's sequence number of the episode, when it came from a fleet (`nil` from a trace):
    /// a node restarted from its store resumes after the last one it recorded.
    public var fleetSeq: Int64?

    public init(time: Timestamp, tenant: TenantID, tool: ToolID, votes: Int, nodes: [NodeID], fleetSeq: Int64? = nil) {
        self.time = time
        self.tenant = tenant
        self.tool = tool
        self.votes = votes
        self.nodes = nodes
        self.fleetSeq = fleetSeq
    }

    public var key: BreakerKey { BreakerKey(tenant: tenant, tool: tool) }
}

/// A change of the configuration of a store in use (SPEC §2): from its time on, every key
/// resolves its settings from `configuration`.
public struct ConfigurationRecord: Sendable, Hashable {
    public var time: Timestamp
    /// The whole configuration now in force.
    public var configuration: BreakerConfiguration
    public var actor: String
    public var reason: String
    /// The request this change answers (the store's inbox row), if any. Not part of the log.
    public var requestID: Int64?
    /// The fleet's sequence number of the fleet `configure` it applies (SPEC §14), if any: kept by
    /// the store so that a restarted node resumes after it; not part of the log's records.
    public var fleetSeq: Int64?

    public init(
        time: Timestamp, configuration: BreakerConfiguration, actor: String, reason: String, requestID: Int64? = nil,
        fleetSeq: Int64? = nil
    ) {
        self.time = time
        self.configuration = configuration
        self.actor = actor
        self.reason = reason
        self.requestID = requestID
        self.fleetSeq = fleetSeq
    }

    /// Equal as records of the log (the request id is not part of it).
    public static func == (a: ConfigurationRecord, b: ConfigurationRecord) -> Bool {
        a.time == b.time && a.configuration == b.configuration && a.actor.hasSameBytes(as: b.actor) && a.reason.hasSameBytes(as: b.reason)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(time)
        hasher.combine(configuration)
    }
}

/// A rejected admission (at admission time) or a call's outcome (at completion time).
public struct CallRecord: Sendable, Hashable {
    public var time: Timestamp
    public var tenant: TenantID
    public var tool: ToolID
    /// The agent turn; `nil` for a health-check probe, which belongs to no turn.
    public var turn: TurnID?
    /// What happened (SPEC §5's outcome and reason, typed).
    public var result: CallResult
    /// Latency in µs; `nil` when rejected.
    public var latencyUs: Int64?
    /// The key's generation at admission (for a rejection: now).
    public var generation: UInt64
    /// Admitted as a HALF_OPEN probe.
    public var probe: Bool
    /// The key's generation had moved on: recorded, changes nothing.
    public var stale: Bool
    /// A shadow call (SPEC §15): the reason the key would have rejected it; `nil` for any other.
    /// It changes nothing in the key, as a stale outcome changes nothing.
    public var shadow: RejectionReason?

    public init(
        time: Timestamp, tenant: TenantID, tool: ToolID, turn: TurnID?, result: CallResult, latencyUs: Int64?, generation: UInt64,
        probe: Bool, stale: Bool, shadow: RejectionReason? = nil
    ) {
        self.time = time
        self.tenant = tenant
        self.tool = tool
        self.turn = turn
        self.result = result
        self.latencyUs = latencyUs
        self.generation = generation
        self.probe = probe
        self.stale = stale
        self.shadow = shadow
    }

    /// The outcome's kind.
    public var outcome: CallOutcomeKind { result.kind }
}

/// A key's state change.
public struct TransitionRecord: Sendable, Hashable {
    public var time: Timestamp
    public var tenant: TenantID
    public var tool: ToolID
    public var from: CircuitState
    public var to: CircuitState
    public var cause: TransitionCause
    /// The generation after the transition.
    public var generation: UInt64
    /// For opens caused by the window: failures, calls and p95 latency (µs) that caused it.
    public var failures: Int?
    public var calls: Int?
    public var p95Us: Int64?
    /// For transitions an operator or `auto` caused.
    public var actor: String?
    public var reason: String?
    /// Set only when a key first seen under a tool-wide force-open starts OPEN: `openedAt`
    /// is the signal's time, not this record's.
    public var openedAt: Timestamp?

    public init(
        time: Timestamp, tenant: TenantID, tool: ToolID, from: CircuitState, to: CircuitState, cause: TransitionCause,
        generation: UInt64, failures: Int? = nil, calls: Int? = nil, p95Us: Int64? = nil, actor: String? = nil,
        reason: String? = nil, openedAt: Timestamp? = nil
    ) {
        self.time = time
        self.tenant = tenant
        self.tool = tool
        self.from = from
        self.to = to
        self.cause = cause
        self.generation = generation
        self.failures = failures
        self.calls = calls
        self.p95Us = p95Us
        self.actor = actor
        self.reason = reason
        self.openedAt = openedAt
    }
}

/// An operator action as given (before the transitions it causes).
public struct OperatorRecord: Sendable, Hashable {
    public var time: Timestamp
    /// `nil` for all tenants.
    public var tenant: TenantID?
    public var tool: ToolID
    public var op: OperatorOp
    public var actor: String
    public var reason: String
    /// The request this action answers (the store's inbox row), if any. Not part of the log:
    /// the writer removes that row in the transaction that makes this record durable.
    public var requestID: Int64?
    /// The fleet's sequence number of the fleet action it applies (SPEC §14), if any: kept by the
    /// store so that a restarted node resumes after it; not part of the log's records.
    public var fleetSeq: Int64?

    public init(
        time: Timestamp, tenant: TenantID?, tool: ToolID, op: OperatorOp, actor: String, reason: String, requestID: Int64? = nil,
        fleetSeq: Int64? = nil
    ) {
        self.time = time
        self.tenant = tenant
        self.tool = tool
        self.op = op
        self.actor = actor
        self.reason = reason
        self.requestID = requestID
        self.fleetSeq = fleetSeq
    }

    /// Equal as records of the log (the request id is not part of it).
    public static func == (a: OperatorRecord, b: OperatorRecord) -> Bool {
        a.time == b.time && a.tenant == b.tenant && a.tool == b.tool && a.op == b.op && a.actor.hasSameBytes(as: b.actor)
            && a.reason.hasSameBytes(as: b.reason)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(time)
        hasher.combine(tenant)
        hasher.combine(tool)
        hasher.combine(op)
    }
}

/// A tool open for many tenants at once (SPEC §7).
public struct GlobalOutageRecord: Sendable, Hashable {
    public var time: Timestamp
    public var tool: ToolID
    /// Tenants whose key for the tool was OPEN or FORCED_OPEN.
    public var tenants: Int

    public init(time: Timestamp, tool: ToolID, tenants: Int) {
        self.time = time
        self.tool = tool
        self.tenants = tenants
    }
}

/// Call records that could not be kept while the log could not be written (SPEC §8).
///
/// The record is appended where the drops end, once writing resumes: everything the live
/// machine folded before it is in the log before it, except the dropped records. So that a
/// replay reaches the live machine's state all the same, it carries the state, at that place,
/// of every key a dropped record named (README "What a gap means for the window").
public struct LogGapRecord: Sendable, Hashable {
    /// Where the record sits in the log: the time of the last record before it (≥ ``to``).
    public var time: Timestamp
    /// The time of the first dropped record.
    public var from: Timestamp
    /// The time of the last dropped record.
    public var to: Timestamp
    /// How many call records were dropped.
    public var dropped: Int64
    /// The state, at ``time``, of each key a dropped record named (a replay lays it over the key);
    /// `nil` when the gap was recorded without it (stores written before schema 5, or a writer
    /// with no machine to read): a replay then has only the records that were kept.
    public var keys: [BreakerMachine.Snapshot.Key]?

    public init(time: Timestamp? = nil, from: Timestamp, to: Timestamp, dropped: Int64, keys: [BreakerMachine.Snapshot.Key]? = nil) {
        self.time = time ?? from
        self.from = from
        self.to = to
        self.dropped = dropped
        self.keys = keys
    }
}
