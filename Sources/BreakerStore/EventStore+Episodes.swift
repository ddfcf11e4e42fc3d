public import BreakerCore
import GRDB

/// How a key that is not CLOSED got there: the transition that took it out of CLOSED, and the
/// probes that failed since (what an operator asks first: why, since when, is it recovering).
public struct KeyEpisode: Sendable, Hashable {
    /// When the key left CLOSED.
    public var since: Timestamp
    /// Why it left CLOSED.
    public var cause: TransitionCause
    /// For an open caused by the window: its failures, calls and p95 latency (µs).
    public var failures: Int?
    public var calls: Int?
    public var p95Us: Int64?
    /// Probes that failed since (half_open → open).
    public var failedProbes: Int

    public init(
        since: Timestamp, cause: TransitionCause, failures: Int? = nil, calls: Int? = nil, p95Us: Int64? = nil, failedProbes: Int = 0
    ) {
        self.since = since
        self.cause = cause
        self.failures = failures
        self.calls = calls
        self.p95Us = p95Us
        self.failedProbes = failedProbes
    }
}

extension EventStore {
    /// The episode of each of `keys` that is not CLOSED, read from the newest transition back
    /// until every one is found or `scanLimit` transitions were read (a key found past it is
    /// left out).
    public func episodes(of keys: Set<BreakerKey>, scanLimit: Int = 200_000) throws(BreakerError) -> [BreakerKey: KeyEpisode] {
        guard !keys.isEmpty else { return [:] }
        return try read { db in
            var found: [BreakerKey: KeyEpisode] = [:]
            var failedProbes: [BreakerKey: Int] = [:]
            let rows = try Row.fetchCursor(
                db,
                sql: """
                    SELECT tn.name, tl.name, t.ts, t.from_state, t.to_state, t.cause, t.failures, t.calls, t.p95_us
                    FROM transitions t JOIN keys k ON k.id = t.key_id
                    JOIN names tn ON tn.id = k.tenant_id JOIN names tl ON tl.id = k.tool_id
                    ORDER BY t.seq DESC LIMIT ?
                    """, arguments: [scanLimit])
            while let row = try rows.next(), found.count < keys.count {
                let key = BreakerKey(tenant: TenantID(unchecked: row[0]), tool: ToolID(unchecked: row[1]))
                guard keys.contains(key), found[key] == nil, let cause = RowCodes.cause(row[5]) else { continue }
                if cause == .probeFailed { failedProbes[key, default: 0] += 1 }
                guard RowCodes.state(row[3]) == .closed else { continue }
                found[key] = KeyEpisode(
                    since: Timestamp(milliseconds: row[2]), cause: cause, failures: row[6], calls: row[7], p95Us: row[8],
                    failedProbes: failedProbes[key] ?? 0)
            }
            return found
        }
    }
}
