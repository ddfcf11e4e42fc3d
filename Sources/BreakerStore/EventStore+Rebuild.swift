public import BreakerCore
import Foundation
import GRDB
import GRDBSQLite

extension EventStore {
    /// Rebuilds the machine: every key in id order (so a key's number is its id − 1), the latest
    /// snapshot, then the records after it (SPEC §8). Returns the machine, the last seq and how
    /// many records were replayed.
    public func rebuild() throws(BreakerError) -> (machine: BreakerMachine, lastSeq: Int64, replayed: Int) {
        try rebuild(fromSnapshotAt: nil)
    }

    /// Rebuilds as ``rebuild()`` does, from the snapshot at `seq` (the latest when `nil`) — each
    /// snapshot of a store must lead to the same state (tests).
    package func rebuild(fromSnapshotAt seq: Int64?) throws(BreakerError) -> (machine: BreakerMachine, lastSeq: Int64, replayed: Int) {
        do {
            return try db.read { db in
                let d = try dictionaries(db, turnsOfTenant: nil, allTurns: false)
                var machine = BreakerMachine(configuration: configuration)
                for key in d.keyList { _ = machine.intern(key) }
                var after: Int64 = 0
                let sql =
                    seq == nil
                    ? "SELECT seq, data FROM snapshots ORDER BY seq DESC LIMIT 1" : "SELECT seq, data FROM snapshots WHERE seq = ?"
                if let row = try Row.fetchOne(db, sql: sql, arguments: seq.map { [$0] } ?? []) {
                    let data: Data = row[1]
                    machine.restore(try .init(decoding: [UInt8](data)))
                    after = row[0]
                }
                let (replayed, last) = try fold(db, d, into: &machine, after: after)
                return (machine, max(last, try lastSeq(db)), replayed)
            }
        } catch let e as BreakerError {
            throw e
        } catch {
            throw Self.storeError(error, path: path)
        }
    }

    /// Replays the log from the start (or the compaction base) through the records before `end`:
    /// the state as it was then.
    public func replay(before end: Timestamp) throws(BreakerError) -> BreakerMachine {
        let base = try replayBase()
        var machine = base.machine
        try forEachEvent(EventFilter(to: end, afterSeq: base.seq, turnNames: false)) { e in machine.fold(machine.fact(of: e.event)) }
        return machine
    }

    /// Replays the whole log from the start (or from the compaction base, once compacted).
    public func fullReplay() throws(BreakerError) -> (machine: BreakerMachine, replayed: Int) {
        let base = try replayBase()
        var machine = base.machine
        do {
            let replayed = try db.read { db in
                try fold(db, try dictionaries(db, turnsOfTenant: nil, allTurns: false), into: &machine, after: base.seq).0
            }
            return (machine, replayed)
        } catch let e as BreakerError {
            throw e
        } catch {
            throw Self.storeError(error, path: path)
        }
    }
}

extension EventStore {
    /// Folds every record after `after` into `machine`, in log order: the rare records as named
    /// records made facts, call rows straight from SQLite into compact facts (key number = id − 1,
    /// no names decoded, no string hashing per row). Returns the records folded and the last seq.
    func fold(_ db: Database, _ d: Dictionaries, into machine: inout BreakerMachine, after: Int64) throws -> (Int, Int64) {
        for key in d.keyList { _ = machine.intern(key) }
        var others: [LoggedEvent] = []
        try readEvents(
            db, EventFilter(afterSeq: after, kinds: .rare, turnNames: false),
            dictionaries: d
        ) { others.append($0) }
        var next = 0
        var count = 0
        var last = after
        let statement = try db.makeStatement(sql: "SELECT seq, ts, packed, latency_us, generation FROM calls WHERE seq > ? ORDER BY seq")
        let s = statement.sqliteStatement
        sqlite3_bind_int64(s, 1, after)
        let keyCount = Int64(d.keyList.count)
        while true {
            let rc = sqlite3_step(s)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else {
                throw DatabaseError(resultCode: ResultCode(rawValue: rc), message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
            }
            let seq = sqlite3_column_int64(s, 0)
            while next < others.count, others[next].seq < seq {
                machine.fold(machine.fact(of: others[next].event))
                next += 1
            }
            let u = RowCodes.unpack(sqlite3_column_int64(s, 2))
            guard u.keyID > 0, u.keyID <= keyCount else { throw BreakerError(.storeCorrupt, "call \(seq) names unknown key \(u.keyID)") }
            let latency: Int64? = sqlite3_column_type(s, 3) == SQLITE_NULL ? nil : sqlite3_column_int64(s, 3)
            let fact = CallFact(
                time: Timestamp(milliseconds: sqlite3_column_int64(s, 1) + d.tsBase), key: KeyRef(UInt32(u.keyID - 1)), turn: nil,
                result: RowCodes.result(code: u.code, errorType: RowCodes.unknownErrorType), latencyUs: latency,
                generation: UInt64(bitPattern: sqlite3_column_int64(s, 4)), probe: u.probe, stale: u.stale)
            machine.fold(.call(fact))
            count += 1
            last = seq
        }
        while next < others.count {
            machine.fold(machine.fact(of: others[next].event))
            last = max(last, others[next].seq)
            next += 1
        }
        return (count + others.count, last)
    }
}
