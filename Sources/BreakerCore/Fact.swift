/// A key by its number in one machine (and in its store, where key id = index + 1): what facts
/// carry instead of names. Stable for the machine's life; never reused.
public struct KeyRef: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The key's number, from 0, in the order the machine first saw keys.
    public let index: UInt32

    @inlinable public init(_ index: UInt32) { self.index = index }

    @inlinable public static func < (a: KeyRef, b: KeyRef) -> Bool { a.index < b.index }
    public var description: String { "#\(index)" }
}

/// A call record with its key by number (the compact form of ``CallRecord``).
public struct CallFact: Sendable, Hashable {
    public var time: Timestamp
    public var key: KeyRef
    /// The agent turn; `nil` for a health-check probe.
    public var turn: TurnID?
    public var result: CallResult
    /// Latency in µs; `nil` when rejected.
    public var latencyUs: Int64?
    /// The key's generation at admission (for a rejection: now).
    public var generation: UInt64
    /// Admitted as a HALF_OPEN probe.
    public var probe: Bool
    /// The key's generation had moved on.
    public var stale: Bool
    /// A shadow call (SPEC §15): the reason the key would have rejected it; `nil` for any other.
    /// It changes nothing in the key, as a stale outcome changes nothing.
    public var shadow: RejectionReason?

    public init(
        time: Timestamp, key: KeyRef, turn: TurnID?, result: CallResult, latencyUs: Int64?, generation: UInt64, probe: Bool,
        stale: Bool, shadow: RejectionReason? = nil
    ) {
        self.time = time
        self.key = key
        self.turn = turn
        self.result = result
        self.latencyUs = latencyUs
        self.generation = generation
        self.probe = probe
        self.stale = stale
        self.shadow = shadow
    }
}

/// A transition with its key by number (the compact form of ``TransitionRecord``).
public struct TransitionFact: Sendable, Hashable {
    public var time: Timestamp
    public var key: KeyRef
    public var from: CircuitState
    public var to: CircuitState
    public var cause: TransitionCause
    /// The generation after the transition.
    public var generation: UInt64
    /// For opens caused by the window: failures, calls and p95 latency (µs).
    public var failures: Int?
    public var calls: Int?
    public var p95Us: Int64?
    /// For transitions an operator or `auto` caused.
    public var actor: String?
    public var reason: String?
    /// Set only when a key first seen under a tool-wide force-open starts OPEN at the signal's time.
    public var openedAt: Timestamp?

    public init(
        time: Timestamp, key: KeyRef, from: CircuitState, to: CircuitState, cause: TransitionCause, generation: UInt64,
        failures: Int? = nil, calls: Int? = nil, p95Us: Int64? = nil, actor: String? = nil, reason: String? = nil,
        openedAt: Timestamp? = nil
    ) {
        self.time = time
        self.key = key
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

/// One fact of the log as the machine decides and folds it (SPEC §8).
///
/// Each step of ``BreakerMachine`` decides facts from its state and its inputs, and its state
/// changes only by folding them with ``BreakerMachine/fold(_:)`` — the same fold a rebuild uses.
public enum Fact: Sendable, Hashable {
    case call(CallFact)
    indirect case transition(TransitionFact)
    indirect case operatorAction(OperatorRecord)
    case globalOutage(GlobalOutageRecord)
    case logGap(LogGapRecord)
    indirect case configuration(ConfigurationRecord)
    indirect case fleet(FleetRecord)

    /// When it happened.
    public var time: Timestamp {
        switch self {
        case .call(let f): f.time
        case .transition(let f): f.time
        case .operatorAction(let r): r.time
        case .globalOutage(let r): r.time
        case .logGap(let r): r.time
        case .configuration(let r): r.time
        case .fleet(let r): r.time
        }
    }

    /// Whether it is a call record (the other kinds are the rare records: the event stream's).
    public var isCallRecord: Bool {
        if case .call = self { true } else { false }
    }
}

/// Where a step's facts go. The machine proposes each fact it decides; the emitter has the
/// machine fold a fact: live, the same one (and keeps it for the log); in verification, the one
/// the log recorded in its place (or none, if the log has nothing there).
public protocol FactEmitter {
    /// Takes `fact`, calls `fold` with what the machine folds (once, or not at all).
    mutating func emit(_ fact: consuming Fact, fold: (borrowing Fact) -> Void)

    /// Whether the machine folds exactly the facts it proposes (live): then a step may fold a
    /// call fact itself and hand it over with ``append(folded:)``, the fact built once and moved.
    static var foldsEveryFact: Bool { get }

    /// Takes a call fact the machine has already folded (only when ``foldsEveryFact``).
    mutating func append(folded fact: consuming CallFact)
}

extension FactEmitter {
    public static var foldsEveryFact: Bool { false }

    public mutating func append(folded fact: consuming CallFact) {
        preconditionFailure("append(folded:) is for emitters that fold every fact")
    }
}

extension Array: FactEmitter where Element == Fact {
    /// Folds the fact and keeps it for the log: live, every decided fact is folded and recorded.
    @inlinable public mutating func emit(_ fact: consuming Fact, fold: (borrowing Fact) -> Void) {
        fold(fact)
        append(fact)
    }

    @inlinable public static var foldsEveryFact: Bool { true }

    @inlinable public mutating func append(folded fact: consuming CallFact) { append(.call(fact)) }
}

/// Resolves key numbers to names.
public protocol KeyDirectory {
    /// The key numbered `ref`.
    func key(_ ref: KeyRef) -> BreakerKey
}

extension BreakerEvent {
    /// The named record of `fact`, its key resolved through `keys`.
    public init(_ fact: Fact, keys: some KeyDirectory) {
        switch fact {
        case .call(let f):
            let key = keys.key(f.key)
            self = .call(
                CallRecord(
                    time: f.time, tenant: key.tenant, tool: key.tool, turn: f.turn, result: f.result, latencyUs: f.latencyUs,
                    generation: f.generation, probe: f.probe, stale: f.stale, shadow: f.shadow))
        case .transition(let f):
            let key = keys.key(f.key)
            self = .transition(
                TransitionRecord(
                    time: f.time, tenant: key.tenant, tool: key.tool, from: f.from, to: f.to, cause: f.cause, generation: f.generation,
                    failures: f.failures, calls: f.calls, p95Us: f.p95Us, actor: f.actor, reason: f.reason, openedAt: f.openedAt))
        case .operatorAction(let r): self = .operatorAction(r)
        case .globalOutage(let r): self = .globalOutage(r)
        case .logGap(let r): self = .logGap(r)
        case .configuration(let r): self = .configuration(r)
        case .fleet(let r): self = .fleet(r)
        }
    }
}
