public import BreakerCore

/// The per-tenant, per-hour SLA report of SPEC §9: a pure function of the tenants' hourly
/// counts and their transitions (the store reads them; ``EventStore`` has the glue).
public struct SLAReport: Sendable {
    /// One tenant-hour.
    public struct Row: Sendable, Hashable {
        public var tenant: TenantID
        public var hourStart: Timestamp
        public var tally = HourlyTally()
        /// Time in H that the tenant's keys spent in any state but CLOSED, ms (summed over keys).
        public var openMs: Int64 = 0

        /// An empty row for `tenant` and the hour starting at `hourStart`.
        public init(tenant: TenantID, hourStart: Timestamp) {
            self.tenant = tenant
            self.hourStart = hourStart
        }

        public var turns: Int64 { tally.turns }
        public var turnsBlocked: Int64 { tally.turnsBlocked }
        public var turnsDegraded: Int64 { tally.turnsDegraded }

        /// Hundredths of a percent: (20000 × (turns − blocked) + turns) div (2 × turns); `nil` when no turns.
        public var availabilityHundredths: Int64? {
            tally.turns == 0 ? nil : (20000 * (tally.turns - tally.turnsBlocked) + tally.turns) / (2 * tally.turns)
        }

        /// `availability_pct` as printed: `57.14`, or empty.
        public var availabilityText: String {
            guard let v = availabilityHundredths else { return "" }
            let frac = String(v % 100)
            return "\(v / 100).\(frac.count == 1 ? "0" + frac : frac)"
        }
    }

    /// One tenant's part of the report: its hours [start, end) and what fills them.
    struct TenantPart: Sendable {
        let tenant: TenantID
        /// Start of the first hour and end of the last, ms.
        let start: Int64
        let end: Int64
        let byHour: [Int64: HourlyTally]
        /// The intervals its keys spent out of CLOSED, [from, to) ms, clipped to the report's end.
        let notClosed: [(from: Int64, to: Int64)]
        /// Time out of CLOSED already counted per hour, ms (a fleet's sums of its nodes' rollups).
        var openByHour: [Int64: Int64] = [:]

        var hours: Int { Int((end - start) / 3_600_000) }

        /// The rows of hours `range` (indices from `start`).
        func rows(_ range: Range<Int>) -> [Row] {
            var rows = range.map { i in
                var row = Row(tenant: tenant, hourStart: Timestamp(milliseconds: start + Int64(i) * 3_600_000))
                if let c = byHour[row.hourStart.milliseconds] { row.tally = c }
                row.openMs = openByHour[row.hourStart.milliseconds] ?? 0
                return row
            }
            guard let first = range.first else { return rows }
            let lo = start + Int64(first) * 3_600_000
            let hi = start + Int64(range.upperBound) * 3_600_000
            for (a, b) in notClosed {
                let from = max(a, lo)
                let to = min(b, hi)
                guard from < to else { continue }
                var h = (from - lo) / 3_600_000
                while h < Int64(rows.count) {
                    let hs = lo + h * 3_600_000
                    let overlap = min(to, hs + 3_600_000) - max(from, hs)
                    if overlap <= 0 { break }
                    rows[Int(h)].openMs += overlap
                    h += 1
                }
            }
            return rows
        }
    }

    /// The tenants' parts, sorted by tenant (UTF-8 bytes).
    let parts: [TenantPart]

    /// How many rows the report has (tenants × hours), known before any row is made: a service
    /// refuses a report too large to answer before it spends the work.
    public let rowCount: Int

    /// Adds the columns of `report --shadow` (SPEC §15): `turns_would_block`, `calls_would_block`.
    public var shadowColumns = false

    /// The rows, sorted by tenant (UTF-8 bytes) then hour.
    public var rows: [Row] { parts.flatMap { $0.rows(0..<$0.hours) } }

    /// The CSV header line's columns.
    public static let columns = [
        "tenant", "hour_start", "turns", "turns_blocked", "turns_degraded", "calls", "calls_blocked", "calls_failed",
        "calls_timed_out", "open_seconds", "availability_pct",
    ]

    /// The columns `--shadow` adds after them.
    public static let shadowColumnNames = ["turns_would_block", "calls_would_block"]

    /// This report's columns.
    public var columns: [String] { shadowColumns ? Self.columns + Self.shadowColumnNames : Self.columns }

    /// The report over `counts` and `transitions` (each of `tenant`, or of every tenant).
    /// - Parameters:
    ///   - tenant: one tenant, or `nil` for every tenant that has counts or transitions.
    ///   - from: first hour (inclusive); default: the hour of the tenant's first call or transition record.
    ///   - to: end hour (exclusive); default: the end of the hour of the tenant's last record.
    ///   - now: a key still out of CLOSED counts open time up to the report's end or to `now`,
    ///     whichever is earlier (SPEC §9: never time that has not happened); `nil`: the report's end.
    public init(
        counts: [HourlyCounts], transitions: [TransitionRecord], tenant: TenantID?, from: Timestamp? = nil, to: Timestamp? = nil,
        now: Timestamp? = nil
    ) {
        let tenants = tenant.map { [$0] } ?? Set(counts.map(\.tenant)).union(transitions.map(\.tenant)).sorted()
        var countsByTenant: [TenantID: [Int64: HourlyTally]] = [:]
        for c in counts { countsByTenant[c.tenant, default: [:]][c.hour.milliseconds] = c.tally }
        var transitionsByTenant: [TenantID: [TransitionRecord]] = [:]
        for t in transitions { transitionsByTenant[t.tenant, default: []].append(t) }

        var parts: [TenantPart] = []
        var rowCount = 0
        for name in tenants {
            let byHour = countsByTenant[name] ?? [:]
            let ts = transitionsByTenant[name] ?? []
            var first = byHour.keys.min()
            var last = byHour.keys.max()
            if let t0 = ts.first?.time.hourMilliseconds { first = min(first ?? t0, t0) }
            if let t1 = ts.last?.time.hourMilliseconds { last = max(last ?? t1, t1) }
            guard let start = from?.milliseconds ?? first, let end = to?.milliseconds ?? last.map({ $0 + 3_600_000 }), start < end else {
                continue
            }
            var tracker = NotClosedTracker()
            for t in ts { tracker.fold(t) }
            let part = TenantPart(
                tenant: name, start: start, end: end, byHour: byHour,
                notClosed: tracker.intervals(endingAt: min(end, now?.milliseconds ?? end)))
            rowCount += part.hours
            parts.append(part)
        }
        self.parts = parts
        self.rowCount = rowCount
    }

    /// The report over rows already counted — a fleet's sums of its nodes' hourly rollups (SPEC
    /// §14) — with every hour of each tenant's range, empty ones included.
    /// - Parameters:
    ///   - sums: at most one row per tenant and hour.
    ///   - tenant: one tenant, or `nil` for every tenant that has a row.
    ///   - from: first hour (inclusive); default: the tenant's first hour with a row.
    ///   - to: end hour (exclusive); default: the end of the tenant's last hour with a row.
    public init(sums: [Row], tenant: TenantID?, from: Timestamp? = nil, to: Timestamp? = nil) {
        var byTenant: [TenantID: [Row]] = [:]
        for r in sums where tenant == nil || r.tenant == tenant { byTenant[r.tenant, default: []].append(r) }
        var parts: [TenantPart] = []
        var rowCount = 0
        for name in tenant.map({ [$0] }) ?? byTenant.keys.sorted() {
            let rows = byTenant[name] ?? []
            let first = rows.map(\.hourStart.milliseconds).min()
            let last = rows.map(\.hourStart.milliseconds).max()
            guard let start = from?.milliseconds ?? first, let end = to?.milliseconds ?? last.map({ $0 + 3_600_000 }), start < end else {
                continue
            }
            var part = TenantPart(
                tenant: name, start: start, end: end,
                byHour: Dictionary(rows.map { ($0.hourStart.milliseconds, $0.tally) }, uniquingKeysWith: { a, _ in a }), notClosed: [])
            part.openByHour = Dictionary(rows.map { ($0.hourStart.milliseconds, $0.openMs) }, uniquingKeysWith: { a, _ in a })
            rowCount += part.hours
            parts.append(part)
        }
        self.parts = parts
        self.rowCount = rowCount
    }

    /// The CSV of SPEC §9: header first, CRLF line ends.
    public var csv: String { csvChunks().joined() }

    /// The CSV in pieces of at most `rowsPerChunk` rows, the header first: an answer streamed
    /// as it is made, holding one piece at a time.
    public func csvChunks(rowsPerChunk: Int = 4096) -> Chunks {
        let shadow = shadowColumns
        return Chunks(report: self, rowsPerChunk: rowsPerChunk) { rows, _ in
            var out = ""
            for r in rows { out += Self.csvLine(r, shadow: shadow) }
            return out
        } header: {
            CSV.line(shadow ? Self.columns + Self.shadowColumnNames : Self.columns)
        } footer: {
            ""
        }
    }

    /// The JSON report (`report --format json`: an array, one row a line) in pieces.
    public func jsonChunks(rowsPerChunk: Int = 4096) -> Chunks {
        let shadow = shadowColumns
        return Chunks(report: self, rowsPerChunk: rowsPerChunk) { rows, first in
            var out = ""
            for (i, r) in rows.enumerated() {
                if !(first && i == 0) { out += ",\n" }
                // Every value of a row is a finite number or a string: encoding cannot fail.
                out += try! JSONText.encode(JSONRow(row: r, shadow: shadow))
            }
            return out
        } header: {
            "["
        } footer: {
            "]\n"
        }
    }

    static func csvLine(_ r: Row, shadow: Bool = false) -> String {
        let t = r.tally
        var fields = [
            r.tenant.rawValue, r.hourStart.iso8601Seconds, String(t.turns), String(t.turnsBlocked), String(t.turnsDegraded),
            String(t.calls), String(t.callsBlocked), String(t.callsFailed), String(t.callsTimedOut),
            CSV.seconds(milliseconds: r.openMs), r.availabilityText,
        ]
        if shadow { fields += [String(t.turnsWouldBlock), String(t.callsWouldBlock)] }
        return CSV.line(fields)
    }

    /// A report's text in pieces: a header, the rows a few thousand at a time, a footer.
    public struct Chunks: Sequence, Sendable {
        let report: SLAReport
        let rowsPerChunk: Int
        let render: @Sendable (_ rows: [Row], _ first: Bool) -> String
        let header: @Sendable () -> String
        let footer: @Sendable () -> String

        public func makeIterator() -> Iterator { Iterator(chunks: self) }

        public struct Iterator: IteratorProtocol {
            let chunks: Chunks
            var part = -1
            var hour = 0
            var first = true
            var done = false

            public mutating func next() -> String? {
                guard !done else { return nil }
                if part == -1 {
                    part = 0
                    return chunks.header()
                }
                let parts = chunks.report.parts
                while part < parts.count && hour >= parts[part].hours {
                    part += 1
                    hour = 0
                }
                guard part < parts.count else {
                    done = true
                    return chunks.footer()
                }
                let end = Swift.min(parts[part].hours, hour + chunks.rowsPerChunk)
                let text = chunks.render(parts[part].rows(hour..<end), first)
                first = false
                hour = end
                return text
            }
        }
    }

    /// The same rows as JSON objects (numbers as numbers; `availability_pct` null when no turns).
    public var jsonRows: [JSONRow] { rows.map { JSONRow(row: $0, shadow: shadowColumns) } }

    /// One row of the JSON report.
    public struct JSONRow: Encodable, Sendable {
        let row: Row
        /// With `turns_would_block` and `calls_would_block`.
        let shadow: Bool

        public init(row: Row, shadow: Bool = false) {
            self.row = row
            self.shadow = shadow
        }

        enum Keys: String, CodingKey {
            case tenant
            case hourStart = "hour_start"
            case turns
            case turnsBlocked = "turns_blocked"
            case turnsDegraded = "turns_degraded"
            case calls
            case callsBlocked = "calls_blocked"
            case callsFailed = "calls_failed"
            case callsTimedOut = "calls_timed_out"
            case openSeconds = "open_seconds"
            case availabilityPct = "availability_pct"
            case turnsWouldBlock = "turns_would_block"
            case callsWouldBlock = "calls_would_block"
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: Keys.self)
            let t = row.tally
            try c.encode(row.tenant.rawValue, forKey: .tenant)
            try c.encode(row.hourStart.iso8601Seconds, forKey: .hourStart)
            try c.encode(t.turns, forKey: .turns)
            try c.encode(t.turnsBlocked, forKey: .turnsBlocked)
            try c.encode(t.turnsDegraded, forKey: .turnsDegraded)
            try c.encode(t.calls, forKey: .calls)
            try c.encode(t.callsBlocked, forKey: .callsBlocked)
            try c.encode(t.callsFailed, forKey: .callsFailed)
            try c.encode(t.callsTimedOut, forKey: .callsTimedOut)
            try c.encode(Decimal3(row.openMs), forKey: .openSeconds)
            try c.encode(row.availabilityHundredths.map { Decimal2($0) }, forKey: .availabilityPct)
            if shadow {
                try c.encode(t.turnsWouldBlock, forKey: .turnsWouldBlock)
                try c.encode(t.callsWouldBlock, forKey: .callsWouldBlock)
            }
        }
    }
}

/// A number of thousandths written with exactly three decimals (`1203.110`).
struct Decimal3: Encodable {
    let thousandths: Int64
    init(_ thousandths: Int64) { self.thousandths = thousandths }
    func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(Double(thousandths) / 1000)
    }
}

/// A number of hundredths written as a number (`57.14`).
struct Decimal2: Encodable {
    let hundredths: Int64
    init(_ hundredths: Int64) { self.hundredths = hundredths }
    func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(Double(hundredths) / 100)
    }
}
