public import BreakerCore
public import BreakerStore
import Foundation

/// A tenant's error budget and burn rates at one time (SPEC §16), computed from its turn counts.
public struct ObjectiveStatus: Sendable, Hashable {
    /// The windows burn rates are measured over.
    public enum BurnWindow: Int, Sendable, Hashable, CaseIterable {
        case fiveMinutes, thirtyMinutes, oneHour, sixHours, threeDays

        public var milliseconds: Int64 {
            switch self {
            case .fiveMinutes: 300_000
            case .thirtyMinutes: 1_800_000
            case .oneHour: 3_600_000
            case .sixHours: 21_600_000
            case .threeDays: 259_200_000
            }
        }

        /// `5m`, `30m`, `1h`, `6h`, `3d`: the label of the metric and the CSV column's suffix.
        public var label: String {
            switch self {
            case .fiveMinutes: "5m"
            case .thirtyMinutes: "30m"
            case .oneHour: "1h"
            case .sixHours: "6h"
            case .threeDays: "3d"
            }
        }
    }

    /// `ok`, `ticket` or `page`: the most urgent alert firing.
    public enum Status: String, Sendable, Hashable, Comparable {
        case ok, ticket, page

        public static func < (a: Status, b: Status) -> Bool {
            let order: [Status] = [.ok, .ticket, .page]
            return order.firstIndex(of: a)! < order.firstIndex(of: b)!
        }
    }

    /// One rule of SPEC §16 that fires: its two windows and their burn rates.
    public struct Firing: Sendable, Hashable {
        public var status: Status
        public var long: BurnWindow
        public var short: BurnWindow
        public var threshold: Double
        public var longBurn: Double
        public var shortBurn: Double
    }

    public var tenant: TenantID
    public var at: Timestamp
    public var objective: ServiceLevelObjective
    /// Turns and bad turns over (at − windowDays, at].
    public var turns: Int64
    public var badTurns: Int64
    /// Per window: turns and bad turns over (at − w, at].
    public var windows: [BurnWindow: Window]

    /// A window's turns and bad turns.
    public struct Window: Sendable, Hashable {
        public var turns: Int64
        public var bad: Int64

        public init(turns: Int64, bad: Int64) {
            self.turns = turns
            self.bad = bad
        }
    }

    public init(
        tenant: TenantID, at: Timestamp, objective: ServiceLevelObjective, turns: Int64, badTurns: Int64,
        windows: [BurnWindow: Window]
    ) {
        self.tenant = tenant
        self.at = at
        self.objective = objective
        self.turns = turns
        self.badTurns = badTurns
        self.windows = windows
    }

    /// 1 − o/100: the share of turns that may go bad.
    var allowed: Double { 1 - objective.objective / 100 }

    /// (1 − o/100) × turns.
    public var budget: Double { allowed * Double(turns) }

    /// 1 − bad ÷ budget; 1 when the budget is 0; negative once overspent.
    public var budgetRemaining: Double { budget == 0 ? 1 : 1 - Double(badTurns) / budget }

    /// (bad_w ÷ turns_w) ÷ (1 − o/100); 0 when the window has no turn.
    public func burn(_ w: BurnWindow) -> Double {
        guard let c = windows[w], c.turns > 0 else { return 0 }
        return (Double(c.bad) / Double(c.turns)) / allowed
    }

    /// windowDays × 24 × max(budget_remaining, 0) ÷ burn(1 h); `nil` when burn(1 h) is 0.
    public var timeToExhaustionHours: Double? {
        let b = burn(.oneHour)
        guard b > 0 else { return nil }
        return Double(objective.windowDays) * 24 * max(budgetRemaining, 0) / b
    }

    /// The rules of SPEC §16 that fire: page on 1 h and 5 min ≥ 14.4, or 6 h and 30 min ≥ 6;
    /// ticket on 3 d and 6 h ≥ 1. A window with fewer than `minTurns` turns never alerts.
    public var firing: [Firing] {
        let rules: [(Status, BurnWindow, BurnWindow, Double)] = [
            (.page, .oneHour, .fiveMinutes, 14.4), (.page, .sixHours, .thirtyMinutes, 6), (.ticket, .threeDays, .sixHours, 1),
        ]
        return rules.compactMap { status, long, short, threshold in
            let counted = { (w: BurnWindow) in (windows[w]?.turns ?? 0) >= Int64(objective.minTurns) }
            // At the threshold is over it: (144 ÷ 1000) ÷ 0.01 is 14.399999999999999 in binary
            // floating point, and must page as 14.4 does.
            let reaches = { (w: BurnWindow) in burn(w) >= threshold * (1 - 1e-9) }
            guard counted(long), counted(short), reaches(long), reaches(short) else { return nil }
            return Firing(status: status, long: long, short: short, threshold: threshold, longBurn: burn(long), shortBurn: burn(short))
        }
    }

    public var status: Status { firing.map(\.status).max() ?? .ok }

    // MARK: - Rendering

    /// The columns of `breakerctl slo` (SPEC §16).
    public static let columns = [
        "tenant", "objective", "window_days", "turns", "bad_turns", "budget_remaining", "burn_5m", "burn_30m", "burn_1h", "burn_6h",
        "burn_3d", "time_to_exhaustion_hours", "status",
    ]

    /// A number with four decimals, as the CSV and table print it.
    public static func decimal4(_ v: Double) -> String {
        // -0.0000 reads as a sign error to a person.
        let text = String(format: "%.4f", v)
        return text == "-0.0000" ? "0.0000" : text
    }

    /// The row's fields, as printed.
    public var fields: [String] {
        [
            tenant.rawValue, Self.decimal4(objective.objective), String(objective.windowDays), String(turns), String(badTurns),
            Self.decimal4(budgetRemaining),
        ] + BurnWindow.allCases.map { Self.decimal4(burn($0)) } + [timeToExhaustionHours.map(Self.decimal4) ?? "", status.rawValue]
    }

    /// One row as a JSON object: numbers as numbers, null when null.
    public struct JSONRow: Encodable, Sendable {
        let status: ObjectiveStatus

        public init(_ status: ObjectiveStatus) { self.status = status }

        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(_ s: String) { stringValue = s }
            init?(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: Key.self)
            let s = status
            try c.encode(s.tenant.rawValue, forKey: Key("tenant"))
            try c.encode(Decimal4(s.objective.objective), forKey: Key("objective"))
            try c.encode(s.objective.windowDays, forKey: Key("window_days"))
            try c.encode(s.turns, forKey: Key("turns"))
            try c.encode(s.badTurns, forKey: Key("bad_turns"))
            try c.encode(Decimal4(s.budgetRemaining), forKey: Key("budget_remaining"))
            for w in BurnWindow.allCases { try c.encode(Decimal4(s.burn(w)), forKey: Key("burn_" + w.label)) }
            try c.encode(s.timeToExhaustionHours.map(Decimal4.init), forKey: Key("time_to_exhaustion_hours"))
            try c.encode(s.status.rawValue, forKey: Key("status"))
        }
    }
}

/// A number rounded to four decimals, written as a JSON number.
struct Decimal4: Encodable {
    let value: Double
    init(_ value: Double) { self.value = value }
    func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(Double(ObjectiveStatus.decimal4(value))!)
    }
}

extension EventStore {
    /// The objective status of `tenant` at `at` (default: the time of the store's last record)
    /// under `objective`: every window's turns counted from the turn bookkeeping (SPEC §16).
    public func objectiveStatus(
        tenant: TenantID, objective: ServiceLevelObjective, at: Timestamp
    ) throws(BreakerError) -> ObjectiveStatus {
        let now = at.milliseconds
        let bad = { (c: TurnCounts) in objective.bad == .blocked ? c.blocked : c.degraded }
        let whole = try turnCounts(tenant: tenant, after: now - Int64(objective.windowDays) * 86_400_000, through: now)
        var windows: [ObjectiveStatus.BurnWindow: ObjectiveStatus.Window] = [:]
        for w in ObjectiveStatus.BurnWindow.allCases {
            let c = try turnCounts(tenant: tenant, after: now - w.milliseconds, through: now)
            windows[w] = ObjectiveStatus.Window(turns: c.turns, bad: bad(c))
        }
        return ObjectiveStatus(tenant: tenant, at: at, objective: objective, turns: whole.turns, badTurns: bad(whole), windows: windows)
    }

    /// Every tenant of the store with an objective in `configuration` (or only `tenant`), sorted
    /// by the bytes of its name, at `at` (default: the time of the store's last record).
    public func objectiveStatuses(
        tenant: TenantID?, configuration: BreakerConfiguration, at: Timestamp?
    ) throws(BreakerError) -> [ObjectiveStatus] {
        let latest = try latestTime()
        let at = at ?? latest ?? Timestamp(milliseconds: 0)
        let all = try tenantNames()
        let tenants = tenant.map { [$0] } ?? all.sorted { $0.rawValue.utf8.lexicographicallyPrecedes($1.rawValue.utf8) }
        var out: [ObjectiveStatus] = []
        for t in tenants {
            guard let objective = configuration.objective(for: t) else { continue }
            out.append(try objectiveStatus(tenant: t, objective: objective, at: at))
        }
        return out
    }
}
