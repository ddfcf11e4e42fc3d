public import BreakerCore
public import BreakerStore

/// The per-tenant, per-hour SLA report of SPEC §9.
///
/// Turn and call counts come from the hourly rollups the writer maintains as it logs calls;
/// `open_seconds` is computed from the tenant's transitions.
public struct SLAReport: Sendable {
    /// One tenant-hour.
    public struct Row: Sendable, Hashable {
        public var tenant: TenantID
        public var hourStart: Timestamp
        public var turns: Int64 = 0
        public var turnsBlocked: Int64 = 0
        public var turnsDegraded: Int64 = 0
        public var calls: Int64 = 0
        public var callsBlocked: Int64 = 0
        public var callsFailed: Int64 = 0
        public var callsTimedOut: Int64 = 0
        /// Time in H that the tenant's keys spent in any state but CLOSED, ms (summed over keys).
        public var openMs: Int64 = 0

        /// An empty row for `tenant` and the hour starting at `hourStart`.
        public init(tenant: TenantID, hourStart: Timestamp) {
            self.tenant = tenant
            self.hourStart = hourStart
        }

        /// Hundredths of a percent: (20000 × (turns − blocked) + turns) div (2 × turns); `nil` when no turns.
        public var availabilityHundredths: Int64? {
            turns == 0 ? nil : (20000 * (turns - turnsBlocked) + turns) / (2 * turns)
        }

        /// `availability_pct` as printed: `57.14`, or empty.
        public var availabilityText: String {
            guard let v = availabilityHundredths else { return "" }
            let frac = String(v % 100)
            return "\(v / 100).\(frac.count == 1 ? "0" + frac : frac)"
        }
    }

    /// The rows, sorted by tenant (UTF-8 bytes) then hour.
    public var rows: [Row]

    /// The CSV header line's columns.
    public static let columns = [
        "tenant", "hour_start", "turns", "turns_blocked", "turns_degraded", "calls", "calls_blocked", "calls_failed",
        "calls_timed_out", "open_seconds", "availability_pct",
    ]

    /// Builds the report from `store`.
    /// - Parameters:
    ///   - tenant: one tenant, or `nil` for every tenant.
    ///   - from: first hour (inclusive); default: the hour of the tenant's first call or transition record.
    ///   - to: end hour (exclusive); default: the end of the hour of the tenant's last record.
    public init(store: EventStore, tenant: TenantID?, from: Timestamp? = nil, to: Timestamp? = nil) throws(BreakerError) {
        let counts = try store.hourlyCounts(tenant: tenant)
        let transitions = try store.transitions(tenant: tenant)
        let tenants: [TenantID]
        if let tenant {
            tenants = [tenant]
        } else {
            tenants = Set(counts.map(\.tenant)).union(transitions.map(\.tenant)).sorted()
        }
        var countsByTenant: [TenantID: [Int64: HourlyCounts]] = [:]
        for c in counts { countsByTenant[c.tenant, default: [:]][c.hour.milliseconds] = c }
        var transitionsByTenant: [TenantID: [TransitionRecord]] = [:]
        for t in transitions { transitionsByTenant[t.tenant, default: []].append(t) }

        var rows: [Row] = []
        for name in tenants {
            let byHour = countsByTenant[name] ?? [:]
            let ts = transitionsByTenant[name] ?? []
            var first = byHour.keys.min()
            var last = byHour.keys.max()
            if let t0 = ts.first?.time.hourStart.milliseconds { first = min(first ?? t0, t0) }
            if let t1 = ts.last?.time.hourStart.milliseconds { last = max(last ?? t1, t1) }
            guard let start = from?.milliseconds ?? first, let end = to?.milliseconds ?? last.map({ $0 + 3_600_000 }) else {
                continue
            }
            guard start < end else { continue }
            let hours = Int((end - start) / 3_600_000)
            var tenantRows = (0..<hours).map { i in
                Row(tenant: name, hourStart: Timestamp(milliseconds: start + Int64(i) * 3_600_000))
            }
            for i in 0..<hours {
                if let c = byHour[tenantRows[i].hourStart.milliseconds] {
                    tenantRows[i].turns = c.turns
                    tenantRows[i].turnsBlocked = c.turnsBlocked
                    tenantRows[i].turnsDegraded = c.turnsDegraded
                    tenantRows[i].calls = c.calls
                    tenantRows[i].callsBlocked = c.callsBlocked
                    tenantRows[i].callsFailed = c.callsFailed
                    tenantRows[i].callsTimedOut = c.callsTimedOut
                }
            }
            for (a, b) in Self.notClosedIntervals(ts, end: end) {
                let lo = max(a, start)
                let hi = min(b, end)
                guard lo < hi else { continue }
                var h = (lo - start) / 3_600_000
                while h < Int64(hours) {
                    let hs = start + h * 3_600_000
                    let overlap = min(hi, hs + 3_600_000) - max(lo, hs)
                    if overlap <= 0 { break }
                    tenantRows[Int(h)].openMs += overlap
                    h += 1
                }
            }
            rows.append(contentsOf: tenantRows)
        }
        self.rows = rows
    }

    /// Per key, the intervals [enter, leave) spent in any state but CLOSED, ms; an interval
    /// still open at the end of the log runs to `end`.
    static func notClosedIntervals(_ transitions: [TransitionRecord], end: Int64) -> [(from: Int64, to: Int64)] {
        var tracker = NotClosedTracker()
        for t in transitions { tracker.fold(t) }
        return tracker.intervals(endingAt: end)
    }

    /// The CSV of SPEC §9: header first, CRLF line ends.
    public var csv: String {
        var out = CSV.line(Self.columns)
        for r in rows {
            out += CSV.line([
                r.tenant.rawValue, r.hourStart.iso8601Seconds, String(r.turns), String(r.turnsBlocked), String(r.turnsDegraded),
                String(r.calls), String(r.callsBlocked), String(r.callsFailed), String(r.callsTimedOut),
                CSV.seconds(milliseconds: r.openMs), r.availabilityText,
            ])
        }
        return out
    }

    /// The same rows as a JSON array (numbers as numbers; `availability_pct` null when no turns).
    public var json: String {
        var parts: [String] = []
        for r in rows {
            parts.append(
                "{\"tenant\":\(JSON.string(r.tenant.rawValue)),\"hour_start\":\"\(r.hourStart.iso8601Seconds)\",\"turns\":\(r.turns),\"turns_blocked\":\(r.turnsBlocked),\"turns_degraded\":\(r.turnsDegraded),\"calls\":\(r.calls),\"calls_blocked\":\(r.callsBlocked),\"calls_failed\":\(r.callsFailed),\"calls_timed_out\":\(r.callsTimedOut),\"open_seconds\":\(CSV.seconds(milliseconds: r.openMs)),\"availability_pct\":\(r.availabilityHundredths == nil ? "null" : r.availabilityText)}"
            )
        }
        return "[" + parts.joined(separator: ",\n") + "]\n"
    }
}

/// JSON text helpers for the exports.
public enum JSON {
    /// A JSON string literal.
    public static func string(_ s: String) -> String { JSONValue.quote(s) }

    /// A JSON string literal, or `null`.
    public static func string(_ s: String?) -> String { s.map { string($0) } ?? "null" }

    /// A JSON number, or `null`.
    public static func number<N: BinaryInteger>(_ n: N?) -> String { n.map { String($0) } ?? "null" }
}
