// The SLA counters of SPEC §9, defined once: the store's writer keeps them with each batch of
// rows (turn flags, hourly rollups) and the reports read them.

/// What SPEC §9 says a turn is, for one tenant: it belongs to the hour of its first call record;
/// it is blocked when one of its calls was rejected, degraded when one was rejected, failed or
/// timed out.
public struct TurnFlags: OptionSet, Sendable, Hashable {
    public let rawValue: Int64
    public init(rawValue: Int64) { self.rawValue = rawValue }

    /// The turn has a rejected call ("affected by an open circuit").
    public static let blocked = TurnFlags(rawValue: 1)
    /// The turn has a rejected, failed or timed-out call.
    public static let degraded = TurnFlags(rawValue: 2)
    /// The turn has a shadow call: a key in shadow would have blocked it (SPEC §15).
    public static let wouldBlock = TurnFlags(rawValue: 4)

    /// The flags one call record gives its turn.
    public init(_ result: CallResult, shadow: Bool = false) {
        switch result.kind {
        case .rejected: self = [.blocked, .degraded]
        case .failure, .timeout: self = .degraded
        case .success, .cancelled: self = []
        }
        if shadow { insert(.wouldBlock) }
    }
}

/// The counts of one tenant in one UTC hour (SPEC §9): its turns that belong to the hour, and its
/// call records whose own time is in it.
public struct HourlyTally: Sendable, Hashable {
    public var turns: Int64 = 0
    public var turnsBlocked: Int64 = 0
    public var turnsDegraded: Int64 = 0
    public var calls: Int64 = 0
    public var callsBlocked: Int64 = 0
    public var callsFailed: Int64 = 0
    public var callsTimedOut: Int64 = 0
    /// Turns with a shadow call, and shadow calls (SPEC §15: what shadow keys would have blocked).
    public var turnsWouldBlock: Int64 = 0
    public var callsWouldBlock: Int64 = 0

    public init() {}

    public init(
        turns: Int64, turnsBlocked: Int64, turnsDegraded: Int64, calls: Int64, callsBlocked: Int64, callsFailed: Int64,
        callsTimedOut: Int64, turnsWouldBlock: Int64 = 0, callsWouldBlock: Int64 = 0
    ) {
        self.turnsWouldBlock = turnsWouldBlock
        self.callsWouldBlock = callsWouldBlock
        self.turns = turns
        self.turnsBlocked = turnsBlocked
        self.turnsDegraded = turnsDegraded
        self.calls = calls
        self.callsBlocked = callsBlocked
        self.callsFailed = callsFailed
        self.callsTimedOut = callsTimedOut
    }

    /// Counts a call record of this hour (stale ones included).
    public mutating func count(call result: CallResult, shadow: Bool = false) {
        calls += 1
        if shadow { callsWouldBlock += 1 }
        switch result.kind {
        case .rejected: callsBlocked += 1
        case .failure: callsFailed += 1
        case .timeout: callsTimedOut += 1
        case .success, .cancelled: break
        }
    }

    /// Counts a turn that belongs to this hour, with the flags of its first call.
    public mutating func count(newTurn flags: TurnFlags) {
        turns += 1
        if flags.contains(.blocked) { turnsBlocked += 1 }
        if flags.contains(.degraded) { turnsDegraded += 1 }
        if flags.contains(.wouldBlock) { turnsWouldBlock += 1 }
    }

    /// Counts a turn of this hour whose flags grew from `old` to `new` with a later call.
    public mutating func count(turnGrewFrom old: TurnFlags, to new: TurnFlags) {
        if !old.contains(.blocked) && new.contains(.blocked) { turnsBlocked += 1 }
        if !old.contains(.degraded) && new.contains(.degraded) { turnsDegraded += 1 }
        if !old.contains(.wouldBlock) && new.contains(.wouldBlock) { turnsWouldBlock += 1 }
    }

    /// The sum of two tallies.
    public static func + (a: HourlyTally, b: HourlyTally) -> HourlyTally {
        HourlyTally(
            turns: a.turns + b.turns, turnsBlocked: a.turnsBlocked + b.turnsBlocked, turnsDegraded: a.turnsDegraded + b.turnsDegraded,
            calls: a.calls + b.calls, callsBlocked: a.callsBlocked + b.callsBlocked, callsFailed: a.callsFailed + b.callsFailed,
            callsTimedOut: a.callsTimedOut + b.callsTimedOut, turnsWouldBlock: a.turnsWouldBlock + b.turnsWouldBlock,
            callsWouldBlock: a.callsWouldBlock + b.callsWouldBlock)
    }
}

extension Timestamp {
    /// The start of the UTC hour that holds this instant, in ms.
    public var hourMilliseconds: Int64 { hourStart.milliseconds }
}

/// The counts of one tenant in one UTC hour, as the store keeps them.
public struct HourlyCounts: Sendable, Hashable {
    public var tenant: TenantID
    /// Start of the UTC hour.
    public var hour: Timestamp
    public var tally: HourlyTally

    public init(tenant: TenantID, hour: Timestamp, tally: HourlyTally) {
        self.tenant = tenant
        self.hour = hour
        self.tally = tally
    }
}
