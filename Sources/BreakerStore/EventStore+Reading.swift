public import BreakerCore
import Foundation
import GRDB
import GRDBSQLite

/// One fact of the log with its position.
public struct LoggedEvent: Sendable, Hashable {
    /// Position in the log (1-based, gap-free while nothing is compacted).
    public var seq: Int64
    public var event: BreakerEvent
}

/// Which kinds of records a read should return.
public struct EventKinds: OptionSet, Sendable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }
    public static let calls = EventKinds(rawValue: 1)
    public static let transitions = EventKinds(rawValue: 2)
    public static let operatorActions = EventKinds(rawValue: 4)
    public static let globalOutages = EventKinds(rawValue: 8)
    public static let logGaps = EventKinds(rawValue: 16)
    public static let configurations = EventKinds(rawValue: 32)
    public static let fleet = EventKinds(rawValue: 64)
    /// Everything but the calls: what a rebuild reads by name.
    public static let rare: EventKinds = [.transitions, .operatorActions, .globalOutages, .logGaps, .configurations, .fleet]
    public static let all: EventKinds = [.calls, .transitions, .operatorActions, .globalOutages, .logGaps, .configurations, .fleet]
}

/// What a reader that comes back for more records keeps between reads (``EventStore/readRecords(after:limit:tail:)``).
public struct EventTail: Sendable {
    var dictionaries = EventStore.Dictionaries()
    public init() {}
}

/// Filters for reading the log.
public struct EventFilter: Sendable {
    /// Only records of this tenant (and operator actions naming it or all tenants, and every
    /// global-outage event).
    public var tenant: TenantID?
    /// Only records of this tool.
    public var tool: ToolID?
    /// Only records with ts ≥ this.
    public var from: Timestamp?
    /// Only records with ts < this.
    public var to: Timestamp?
    /// Only records after this seq.
    public var afterSeq: Int64
    public var kinds: EventKinds
    /// Decode turn names of call records (not needed to rebuild).
    public var turnNames: Bool

    public init(
        tenant: TenantID? = nil, tool: ToolID? = nil, from: Timestamp? = nil, to: Timestamp? = nil, afterSeq: Int64 = 0,
        kinds: EventKinds = .all, turnNames: Bool = true
    ) {
        self.tenant = tenant
        self.tool = tool
        self.from = from
        self.to = to
        self.afterSeq = afterSeq
        self.kinds = kinds
        self.turnNames = turnNames
    }
}

extension EventStore {
    /// The time (ms since the epoch) that `calls.ts` counts from; `nil` before the first call record.
    static func tsBase(_ db: Database) throws -> Int64? {
        try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'ts_base'").flatMap { Int64($0) }
    }

    struct Dictionaries: Sendable {
        var names: [Int64: String] = [:]
        var keys: [Int64: BreakerKey] = [:]
        /// Every key, in id order (key number = id − 1).
        var keyList: [BreakerKey] = []
        var turns: [Int64: TurnID] = [:]
        var tsBase: Int64 = 0
        /// The largest name id read so far.
        var maxNameID: Int64 = 0

        func key(_ id: Int64) throws -> BreakerKey {
            guard let k = keys[id] else { throw BreakerError(.storeCorrupt, "record names unknown key \(id)") }
            return k
        }

        func errorType(_ id: Int64?) -> ErrorType {
            id.flatMap { names[$0] }.map { ErrorType(describing: $0) } ?? RowCodes.unknownErrorType
        }

        /// Reads the names and keys added since the last read (all of them the first time): a
        /// reader that comes back for more reads only what is new, by id (both are indexed).
        mutating func extend(_ db: Database) throws {
            let newNames = try Row.fetchCursor(db, sql: "SELECT id, name FROM names WHERE id > ? ORDER BY id", arguments: [maxNameID])
            while let row = try newNames.next() {
                let id: Int64 = row[0]
                names[id] = row[1]
                maxNameID = id
            }
            // Each name is validated once, however many keys share it.
            var tenants: [Int64: TenantID] = [:]
            var tools: [Int64: ToolID] = [:]
            let newKeys = try Row.fetchCursor(
                db, sql: "SELECT id, tenant_id, tool_id FROM keys WHERE id > ? ORDER BY id", arguments: [Int64(keyList.count)])
            while let row = try newKeys.next() {
                let id: Int64 = row[0]
                let tenantID: Int64 = row[1]
                let toolID: Int64 = row[2]
                guard let t = names[tenantID], let o = names[toolID], id == Int64(keyList.count) + 1 else {
                    throw BreakerError(.storeCorrupt, "key \(id) has unknown names or breaks the numbering of keys")
                }
                if tenants[tenantID] == nil { tenants[tenantID] = try TenantID(t) }
                if tools[toolID] == nil { tools[toolID] = try ToolID(o) }
                let key = BreakerKey(tenant: tenants[tenantID]!, tool: tools[toolID]!)
                keys[id] = key
                keyList.append(key)
            }
        }
    }

    func dictionaries(_ db: Database, turnsOfTenant: Int64?, allTurns: Bool) throws -> Dictionaries {
        var d = Dictionaries()
        try d.extend(db)
        if allTurns || turnsOfTenant != nil {
            let rows =
                turnsOfTenant == nil
                ? try Row.fetchCursor(db, sql: "SELECT id, name FROM turns")
                : try Row.fetchCursor(db, sql: "SELECT id, name FROM turns WHERE tenant_id = ?", arguments: [turnsOfTenant])
            while let row = try rows.next() { d.turns[row[0]] = try TurnID(row[1]) }
        }
        d.tsBase = try EventStore.tsBase(db) ?? 0
        return d
    }

    /// Reads at most `limit` records other than calls after `seq`, for a reader that comes back
    /// for more (an event-stream subscriber): `tail` keeps the names and keys read so far, so each
    /// read costs what is new — indexed by seq and id — not the store's size.
    public func readRecords(after seq: Int64, limit: Int, tail: inout EventTail) throws(BreakerError) -> [LoggedEvent] {
        do {
            return try db.read { db in
                try tail.dictionaries.extend(db)
                var out: [LoggedEvent] = []
                struct Enough: Error {}
                do {
                    try readEvents(db, EventFilter(afterSeq: seq, kinds: .rare, turnNames: false), dictionaries: tail.dictionaries) { e in
                        out.append(e)
                        if out.count >= limit { throw Enough() }
                    }
                } catch is Enough {}
                return out
            }
        } catch let e as BreakerError {
            throw e
        } catch {
            throw Self.storeError(error, path: path)
        }
    }

    /// The seq after which the latest `n` records other than calls begin (0 when there are
    /// fewer): from each table's primary key, newest first, so it reads `n` rows a table at most.
    public func seqBeforeLatestRecords(_ n: Int) throws(BreakerError) -> Int64 {
        let tables = ["transitions", "operator_actions", "global_outages", "log_gaps", "config_changes", "fleet_records"]
        let union = tables.map { "SELECT seq FROM (SELECT seq FROM \($0) ORDER BY seq DESC LIMIT ?1)" }.joined(separator: " UNION ALL ")
        do {
            return try db.read { db in
                let nth = try Int64.fetchOne(db, sql: "SELECT seq FROM (\(union)) ORDER BY seq DESC LIMIT 1 OFFSET ?1 - 1", arguments: [n])
                return nth.map { $0 - 1 } ?? 0
            }
        } catch {
            throw Self.storeError(error, path: path)
        }
    }

    /// The highest seq in the log now (0 when empty).
    public func lastRecordSeq() throws(BreakerError) -> Int64 {
        do {
            return try db.read { db in try lastSeq(db) }
        } catch {
            throw Self.storeError(error, path: path)
        }
    }

    /// Reads the log in order (merged by seq), calling `body` for each record that passes `filter`.
    public func forEachEvent(_ filter: EventFilter, _ body: (LoggedEvent) throws -> Void) throws(BreakerError) {
        do {
            try db.read { db in try readEvents(db, filter, body) }
        } catch let e as BreakerError {
            throw e
        } catch {
            throw Self.storeError(error, path: path)
        }
    }

    func readEvents(
        _ db: Database, _ filter: EventFilter, dictionaries prebuilt: Dictionaries? = nil, _ body: (LoggedEvent) throws -> Void
    ) throws {
        let tenantNameID: Int64? = try filter.tenant.map {
            try Int64.fetchOne(db, sql: "SELECT id FROM names WHERE name = ?", arguments: [$0.rawValue]) ?? -1
        }
        let d =
            try prebuilt
            ?? dictionaries(db, turnsOfTenant: filter.turnNames ? tenantNameID : nil, allTurns: filter.turnNames && filter.tenant == nil)
        let keyAllowed: (Int64) -> Bool = { id in
            guard let k = d.keys[id] else { return false }
            if let t = filter.tenant, k.tenant != t { return false }
            if let o = filter.tool, k.tool != o { return false }
            return true
        }
        var sources: [AnyIterator<LoggedEvent>] = []
        var errors: [any Error] = []
        func timeClause(_ column: String, base: Int64) -> String {
            var c = ""
            if let f = filter.from { c += " AND \(column) >= \(f.milliseconds - base)" }
            if let t = filter.to { c += " AND \(column) < \(t.milliseconds - base)" }
            return c
        }
        /// One table's records in seq order: `decode` makes a record of a row, or `nil` to skip it.
        func source(_ sql: String, after: Int64, _ decode: @escaping (Row) throws -> BreakerEvent?) throws {
            let cursor = try Row.fetchCursor(db, sql: sql, arguments: [after])
            sources.append(
                AnyIterator {
                    do {
                        while let row = try cursor.next() {
                            if let event = try decode(row) { return LoggedEvent(seq: row[0], event: event) }
                        }
                    } catch {
                        errors.append(error)
                    }
                    return nil
                })
        }
        if filter.kinds.contains(.calls) {
            var startSeq = filter.afterSeq
            if let f = filter.from { startSeq = max(startSeq, try firstCallSeq(db, atOrAfter: f.milliseconds - d.tsBase) - 1) }
            try source(
                "SELECT seq, ts, packed, turn, latency_us, generation, \(RowCodes.errorColumnSQL), \(RowCodes.shadowColumnSQL) FROM calls WHERE seq > ?\(timeClause("ts", base: d.tsBase)) ORDER BY seq",
                after: startSeq
            ) { row in
                let u = RowCodes.unpack(row[2])
                guard keyAllowed(u.keyID) else { return nil }
                let key = try d.key(u.keyID)
                let turnID: Int64? = row[3]
                let errorID: Int64? = row[6]
                let ts: Int64 = row[1]
                let gen: Int64 = row[5]
                let shadow = RowCodes.shadow(stale: u.stale, column: row[7])
                return .call(
                    CallRecord(
                        time: Timestamp(milliseconds: ts + d.tsBase), tenant: key.tenant, tool: key.tool,
                        turn: turnID.flatMap { d.turns[$0] },
                        result: RowCodes.result(code: u.code, errorType: d.errorType(errorID)), latencyUs: row[4],
                        generation: UInt64(bitPattern: gen), probe: u.probe, stale: shadow.stale, shadow: shadow.shadow))
            }
        }
        if filter.kinds.contains(.transitions) {
            try source(
                """
                SELECT seq, ts, key_id, from_state, to_state, cause, generation, failures, calls, p95_us, actor, reason, opened_at
                FROM transitions WHERE seq > ?\(timeClause("ts", base: 0)) ORDER BY seq
                """, after: filter.afterSeq
            ) { row in
                let keyID: Int64 = row[2]
                guard keyAllowed(keyID) else { return nil }
                let key = try d.key(keyID)
                guard let from = RowCodes.state(row[3]), let to = RowCodes.state(row[4]), let cause = RowCodes.cause(row[5]) else {
                    throw BreakerError(.storeCorrupt, "transition \(row[0] as Int64) has unknown codes")
                }
                let gen: Int64 = row[6]
                let openedAt: Int64? = row[12]
                return .transition(
                    TransitionRecord(
                        time: Timestamp(milliseconds: row[1]), tenant: key.tenant, tool: key.tool, from: from, to: to, cause: cause,
                        generation: UInt64(bitPattern: gen), failures: row[7], calls: row[8], p95Us: row[9], actor: row[10],
                        reason: row[11], openedAt: openedAt.map { Timestamp(milliseconds: $0) }))
            }
        }
        if filter.kinds.contains(.operatorActions) {
            try source(
                "SELECT seq, ts, tenant, tool, op, actor, reason FROM operator_actions WHERE seq > ?\(timeClause("ts", base: 0)) ORDER BY seq",
                after: filter.afterSeq
            ) { row in
                let tenantName: String? = row[2]
                let tenant = tenantName.map { TenantID(unchecked: $0) }
                let tool = ToolID(unchecked: row[3])
                if let t = filter.tenant, let tenant, tenant != t { return nil }
                if let o = filter.tool, tool != o { return nil }
                guard let op = OperatorOp(name: row[4]) else {
                    throw BreakerError(.storeCorrupt, "operator action \(row[0] as Int64) has an unknown op")
                }
                return .operatorAction(
                    OperatorRecord(time: Timestamp(milliseconds: row[1]), tenant: tenant, tool: tool, op: op, actor: row[5], reason: row[6])
                )
            }
        }
        if filter.kinds.contains(.globalOutages) {
            try source(
                "SELECT seq, ts, tool, tenants FROM global_outages WHERE seq > ?\(timeClause("ts", base: 0)) ORDER BY seq",
                after: filter.afterSeq
            ) { row in
                let tool = ToolID(unchecked: row[2])
                if let o = filter.tool, tool != o { return nil }
                return .globalOutage(GlobalOutageRecord(time: Timestamp(milliseconds: row[1]), tool: tool, tenants: row[3]))
            }
        }
        if filter.kinds.contains(.logGaps) {
            try source(
                "SELECT seq, ts, from_ts, to_ts, dropped, keys FROM log_gaps WHERE seq > ?\(timeClause("ts", base: 0)) ORDER BY seq",
                after: filter.afterSeq
            ) { row in
                .logGap(try Self.logGap(row))
            }
        }
        if filter.kinds.contains(.configurations) {
            try source(
                "SELECT seq, ts, actor, reason, config FROM config_changes WHERE seq > ?\(timeClause("ts", base: 0)) ORDER BY seq",
                after: filter.afterSeq
            ) { row in
                let configuration = try BreakerConfiguration(json: row[4] as String)
                return .configuration(
                    ConfigurationRecord(time: Timestamp(milliseconds: row[1]), configuration: configuration, actor: row[2], reason: row[3]))
            }
        }
        if filter.kinds.contains(.fleet) {
            try source(
                "SELECT seq, ts, tenant, tool, votes, nodes, fleet_seq FROM fleet_records WHERE seq > ?\(timeClause("ts", base: 0)) ORDER BY seq",
                after: filter.afterSeq
            ) { row in
                let tenant = TenantID(unchecked: row[2])
                let tool = ToolID(unchecked: row[3])
                if let t = filter.tenant, tenant != t { return nil }
                if let o = filter.tool, tool != o { return nil }
                let nodes = (row[5] as String).split(separator: "\n").map { NodeID(unchecked: String($0)) }
                return .fleet(
                    FleetRecord(
                        time: Timestamp(milliseconds: row[1]), tenant: tenant, tool: tool, votes: row[4], nodes: nodes, fleetSeq: row[6]))
            }
        }
        // k-way merge by seq (k ≤ 7).
        var heads: [LoggedEvent?] = sources.map { $0.next() }
        while true {
            var best = -1
            for (i, h) in heads.enumerated() {
                if let h, best < 0 || h.seq < heads[best]!.seq { best = i }
            }
            if let e = errors.first { throw e }
            guard best >= 0 else { break }
            try body(heads[best]!)
            heads[best] = sources[best].next()
        }
        if let e = errors.first { throw e }
    }

    /// The smallest call seq whose relative ts ≥ `relTs` (call times never decrease with seq),
    /// found by binary search on the rowid.
    func firstCallSeq(_ db: Database, atOrAfter relTs: Int64) throws -> Int64 {
        guard var lo = try Int64.fetchOne(db, sql: "SELECT min(seq) FROM calls"),
            var hi = try Int64.fetchOne(db, sql: "SELECT max(seq) FROM calls")
        else { return 1 }
        hi += 1
        while lo < hi {
            let mid = lo + (hi - lo) / 2
            guard let row = try Row.fetchOne(db, sql: "SELECT seq, ts FROM calls WHERE seq >= ? ORDER BY seq LIMIT 1", arguments: [mid])
            else {
                hi = mid
                continue
            }
            let ts: Int64 = row[1]
            if ts >= relTs { hi = mid } else { lo = (row[0] as Int64) + 1 }
        }
        return lo
    }

    /// The highest seq in the log (0 when empty).
    func lastSeq(_ db: Database) throws -> Int64 {
        try Int64.fetchOne(
            db,
            sql: """
                SELECT max(m) FROM (SELECT max(seq) AS m FROM calls UNION ALL SELECT max(seq) FROM transitions
                UNION ALL SELECT max(seq) FROM operator_actions UNION ALL SELECT max(seq) FROM global_outages
                UNION ALL SELECT max(seq) FROM log_gaps UNION ALL SELECT max(seq) FROM config_changes
                UNION ALL SELECT max(seq) FROM fleet_records)
                """) ?? 0
    }
}

extension EventStore {
    /// A `log_gaps` row (`seq, ts, from_ts, to_ts, dropped, keys`) as its record.
    static func logGap(_ row: Row) throws(BreakerError) -> LogGapRecord {
        let keys: Data? = row[5]
        return LogGapRecord(
            time: Timestamp(milliseconds: row[1]), from: Timestamp(milliseconds: row[2]), to: Timestamp(milliseconds: row[3]),
            dropped: row[4], keys: try keys.map { data throws(BreakerError) in try BreakerMachine.Snapshot(decoding: [UInt8](data)).keys })
    }
}

extension EventStore {
    /// The longest latency of any call record, µs (0 when there is none).
    public func maxCallLatencyUs() throws(BreakerError) -> Int64 {
        try read { db in try Int64.fetchOne(db, sql: "SELECT max(latency_us) FROM calls") ?? 0 }
    }

    /// How many call records the log keeps.
    public func callRecordCount() throws(BreakerError) -> Int64 {
        try read { db in try Int64.fetchOne(db, sql: "SELECT count(*) FROM calls") ?? 0 }
    }
}
