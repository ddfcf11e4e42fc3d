public import BreakerCore
import Foundation
import GRDB

/// What `verify` found.
public struct VerifyReport: Sendable {
    /// Problems, each a sentence; empty when the store is sound.
    public var problems: [String] = []
    /// Records replayed from the start (or the compaction base).
    public var recordsReplayed = 0
    /// Transitions whose justification was checked.
    public var transitionsChecked = 0
    /// Records replayed after the latest snapshot by a rebuild.
    public var tailReplayed = 0
    /// Gaps in the log (call records the owner could not keep, SPEC §8).
    public var gaps: [LogGapRecord] = []
    /// Transitions that followed a gap closely enough that dropped records may explain them.
    public var uncheckableAfterGaps = 0
}

extension EventStore {
    static let expectedTables: Set<String> = [
        "meta", "names", "keys", "turns", "calls", "call_errors", "transitions", "operator_actions", "global_outages", "hourly_rollups",
        "snapshots", "inbox", "log_gaps", "config_changes", "fleet_records", "shadow_calls",
    ]

    /// Checks the schema, that the snapshot-based rebuild equals a full replay, and that every
    /// recorded transition is justified by the records before it.
    public func verify() throws(BreakerError) -> VerifyReport {
        var report = VerifyReport()
        try read { db in
            let version = try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0
            if version != Self.schemaVersion { report.problems.append("schema version \(version), expected \(Self.schemaVersion)") }
            let tables = Set(try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'"))
            for missing in Self.expectedTables.subtracting(tables).sorted() { report.problems.append("table \(missing) is missing") }
            let check = try String.fetchAll(db, sql: "PRAGMA quick_check")
            if check != ["ok"] { report.problems.append("SQLite quick_check: \(check.prefix(5).joined(separator: "; "))") }
        }
        guard report.problems.isEmpty else { return report }
        let rebuilt = try rebuild()
        report.tailReplayed = rebuilt.replayed
        let start = try replayBase()
        report.gaps = try logGaps()
        var verifier = LogVerifier(machine: start.machine, gaps: report.gaps)
        var count = 0
        var lastTime: Timestamp? = nil
        var timeProblem = false
        try forEachEvent(EventFilter(afterSeq: start.seq, turnNames: false)) { e in
            verifier.check(e.event, seq: e.seq)
            count += 1
            if let lastTime, e.event.time < lastTime, !timeProblem {
                timeProblem = true
                report.problems.append("seq \(e.seq): time \(e.event.time.iso8601) is earlier than the record before it")
            }
            lastTime = e.event.time
        }
        verifier.finish()
        report.recordsReplayed = count
        report.transitionsChecked = verifier.transitionsChecked
        report.uncheckableAfterGaps = verifier.uncheckableAfterGaps
        report.problems.append(contentsOf: verifier.problems.prefix(50))
        if !rebuilt.machine.hasSameDurableState(as: verifier.machine) {
            report.problems.append("the state rebuilt from the latest snapshot differs from a full replay of the log")
        }
        return report
    }

    /// Where a full replay starts: the machine with every key interned in id order (the order
    /// the live machine interned them, which decides the order of a tool-wide action's
    /// transitions), at seq 0 — or with the compaction base snapshot.
    func replayBase() throws(BreakerError) -> (machine: BreakerMachine, seq: Int64) {
        try read { db in
            var machine = BreakerMachine(configuration: configuration)
            for key in try dictionaries(db, turnsOfTenant: nil, allTurns: false).keyList { _ = machine.intern(key) }
            guard let base = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'compaction_base_seq'").flatMap({ Int64($0) })
            else { return (machine, 0) }
            guard let data = try Data.fetchOne(db, sql: "SELECT data FROM snapshots WHERE seq = ?", arguments: [base]) else {
                throw BreakerError(.storeCorrupt, "the compaction base snapshot \(base) is missing")
            }
            machine.restore(try .init(decoding: [UInt8](data)))
            return (machine, base)
        }
    }

    /// Folds raw call records older than `cutoff` away (owner only): the state at the last of
    /// them becomes the replay base snapshot, then the rows go. Hourly rollups, turns,
    /// transitions, operator actions and outage events stay, so reports are unchanged.
    /// Returns the number of call records removed.
    public func compact(before cutoff: Timestamp) throws(BreakerError) -> Int {
        guard isOwner else { throw BreakerError(.storeUnavailable, "compaction needs ownership of \(path)") }
        let base = try replayBase()
        let lastOld: Int64 = try read { db in
            let tsBase = try EventStore.tsBase(db) ?? 0
            let first = try firstCallSeq(db, atOrAfter: cutoff.milliseconds - tsBase)
            return try Int64.fetchOne(db, sql: "SELECT max(seq) FROM calls WHERE seq < ?", arguments: [first]) ?? 0
        }
        guard lastOld > base.seq else { return 0 }
        var machine = base.machine
        try forEachEvent(EventFilter(afterSeq: base.seq, turnNames: false)) { e in
            if e.seq <= lastOld { machine.fold(machine.fact(of: e.event)) }
        }
        let snapshot = machine.snapshot.encoded()
        do {
            return try db.write { db in
                try db.execute(
                    sql: "INSERT OR REPLACE INTO snapshots(seq, created_at, data) VALUES (?, strftime('%s','now') * 1000, ?)",
                    arguments: [lastOld, Data(snapshot)])
                try db.execute(
                    sql: "INSERT OR REPLACE INTO meta(key, value) VALUES ('compaction_base_seq', ?)", arguments: [String(lastOld)])
                try db.execute(sql: "DELETE FROM calls WHERE seq <= ?", arguments: [lastOld])
                let removed = db.changesCount
                try db.execute(sql: "DELETE FROM call_errors WHERE seq <= ?", arguments: [lastOld])
                try db.execute(sql: "DELETE FROM shadow_calls WHERE seq <= ?", arguments: [lastOld])
                return removed
            }
        } catch {
            throw Self.storeError(error, path: path)
        }
    }

    /// The gaps in the log that overlap [`from`, `to`) (all of them by default), in log order.
    public func logGaps(from: Timestamp? = nil, to: Timestamp? = nil) throws(BreakerError) -> [LogGapRecord] {
        try read { db in
            try Row.fetchAll(
                db, sql: "SELECT seq, ts, from_ts, to_ts, dropped, keys FROM log_gaps WHERE to_ts >= ? AND from_ts < ? ORDER BY seq",
                arguments: [from?.milliseconds ?? Int64.min, to?.milliseconds ?? Int64.max]
            ).map { row throws(BreakerError) in try Self.logGap(row) }
        }
    }

    /// Size of the store's file in bytes (main database file only).
    public var fileSize: Int64 {
        ((try? FileManager.default.attributesOfItem(atPath: path)[.size]) as? NSNumber)?.int64Value ?? 0
    }
}

extension EventStore {
    /// The time of the newest record, if any: what a process that appends starts its time floor
    /// at (SPEC §8). Times grow with seq, so each table's last row by seq is read, not scanned.
    public func latestTime() throws(BreakerError) -> Timestamp? {
        try read { db in
            let base = try EventStore.tsBase(db) ?? 0
            var times = [try Int64.fetchOne(db, sql: "SELECT ts FROM calls ORDER BY seq DESC LIMIT 1").map { $0 + base }]
            for table in ["transitions", "operator_actions", "global_outages", "log_gaps", "config_changes", "fleet_records"] {
                times.append(try Int64.fetchOne(db, sql: "SELECT ts FROM \(table) ORDER BY seq DESC LIMIT 1"))
            }
            return times.compactMap { $0 }.max().map { Timestamp(milliseconds: $0) }
        }
    }
}
