import BreakerCore
import BreakerOwner
import BreakerReports
import BreakerRuntime
import BreakerTestSupport
import Foundation
import GRDB
import Testing

@testable import BreakerStore

/// The store's schema: migrations as shipped, a newer schema refused, the query plans that matter.
@Suite(.temporaryDirectory) struct StoreSchemaTests {
    @Test func theEmbeddedMigrationsAreByteEqualToTheFilesInMigrations() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let dir = root.appendingPathComponent("migrations")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".sql") }.sorted()
        #expect(files == Migrations.all.map(\.file))
        for m in Migrations.all {
            let onDisk = try Data(contentsOf: dir.appendingPathComponent(m.file))
            #expect(onDisk == Data(m.sql.utf8), "\(m.file) differs from its embedded copy")
        }
    }

    @Test func aStoreFromANewerSchemaIsRefusedAndLeftUnchanged() async throws {
        let dir = scratchDirectory
        let path = dir + "/s.sqlite"
        _ = try await simulate(RandomWorkload.trace(seed: 1, lines: 50), into: path, configuration: .standard)
        try setUserVersion(path, 99)
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        for open in [{ _ = try EventStore.openReader(path: path) }, { _ = try EventStore.openOwner(path: path) }] as [() throws -> Void] {
            do {
                try open()
                Issue.record("expected a refusal")
            } catch let e as BreakerError {
                #expect(e.code == .schemaTooNew && e.message.contains("newer"))
            }
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
    }

    @Test func aStoreOfSchema9GetsWhatItsShadowKeysWouldHaveBlockedAndItsTurnTimesOnUpgrade() async throws {
        // A store with shadow calls across several hours, as schema 10 counts it…
        let path = scratchDirectory + "/s.sqlite"
        var configuration = BreakerConfiguration.standard
        configuration.defaults.enforce = false
        _ = try await simulate(RandomWorkload.trace(seed: 7, lines: 10000), into: path, configuration: configuration)
        let counted = try EventStore.openReader(path: path).hourlyCounts(tenant: nil)
        // …and each turn's time (schema 11), read through windows of the error budget.
        let tenant = try TenantID("tenant-1")
        let start: Int64 = 1_795_852_800_000
        let windows = [
            (start - 1, start + 7_200_000), (start + 1_234_567, start + 1_234_567 + 300_000), (start + 600_000, start + 5_000_000),
        ]
        let timed = try windows.map { try EventStore.openReader(path: path).turnCounts(tenant: tenant, after: $0.0, through: $0.1) }
        #expect(timed.allSatisfy { $0.turns > 0 })
        #expect(counted.map(\.tally.callsWouldBlock).reduce(0, +) > 0, "the workload makes shadow calls")
        #expect(Set(counted.filter { $0.tally.turnsWouldBlock > 0 }.map(\.hour)).count > 1, "in more than one hour")
        // …taken back to schema 9: no counts, no turn flag.
        let queue = try DatabaseQueue(path: path)
        try await queue.writeWithoutTransaction { db in
            try db.execute(sql: "ALTER TABLE hourly_rollups DROP COLUMN turns_would_block")
            try db.execute(sql: "ALTER TABLE hourly_rollups DROP COLUMN calls_would_block")
            try db.execute(sql: "UPDATE turns SET flags = flags & 3")
            try db.execute(sql: "DROP INDEX turns_by_first_ts")
            try db.execute(sql: "ALTER TABLE turns DROP COLUMN first_ts")
            try db.execute(sql: "PRAGMA user_version = 9")
        }
        try queue.close()
        // Opened by an owner, it counts them again from the shadow calls it keeps.
        _ = try EventStore.openOwner(path: path)
        #expect(try EventStore.openReader(path: path).hourlyCounts(tenant: nil) == counted)
        #expect(try windows.map { try EventStore.openReader(path: path).turnCounts(tenant: tenant, after: $0.0, through: $0.1) } == timed)
    }

    /// An owner killed while it created its store leaves a SQLite file with nothing in it (the
    /// first transaction never committed): the next owner creates the store in it.
    @Test func aStoreWhoseCreationWasInterruptedIsCreatedAfresh() throws {
        let path = scratchDirectory + "/s.sqlite"
        let pool = try DatabasePool(path: path)
        try pool.writeWithoutTransaction { db in try db.execute(sql: "CREATE TABLE x(a); DROP TABLE x") }
        try pool.close()
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? 0 > 0, "a file with a header")
        do {
            _ = try EventStore.openReader(path: path)
            Issue.record("a reader opened an empty store")
        } catch let e {
            #expect(e.code == .storeUnavailable && e.message.contains("empty"), "\(e.message)")
        }
        _ = try EventStore.openOwner(path: path)
        let store = try EventStore.openReader(path: path)
        #expect(try store.verify().problems.isEmpty)
    }

    @Test func theQueryPlansThatMatterUseTheirKeys() throws {
        let dir = scratchDirectory
        let store = try EventStore.openOwner(path: dir + "/s.sqlite")
        let plans = try store.read { db in
            [
                "tail": try explain(db, "SELECT seq, ts, packed FROM calls WHERE seq > 10 ORDER BY seq"),
                "rollups": try explain(db, "SELECT hour, calls FROM hourly_rollups WHERE tenant_id = 3"),
                "turn": try explain(db, "SELECT id FROM turns WHERE tenant_id = 3 AND name = 'x'"),
                "tenant turns": try explain(db, "SELECT id, name FROM turns WHERE tenant_id = 3"),
                "indexes": try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'calls'")
                    .joined(),
            ]
        }
        #expect(plans["tail"]!.contains("USING INTEGER PRIMARY KEY (rowid>?)"), "\(plans["tail"]!)")
        #expect(!plans["tail"]!.contains("TEMP B-TREE"))
        #expect(plans["rollups"]!.contains("USING PRIMARY KEY (tenant_id=?)"), "\(plans["rollups"]!)")
        #expect(plans["turn"]!.contains("USING PRIMARY KEY (tenant_id=? AND name=?)"), "\(plans["turn"]!)")
        #expect(plans["tenant turns"]!.contains("USING PRIMARY KEY (tenant_id=?)"), "\(plans["tenant turns"]!)")
        // No secondary index on calls: a (tenant, ts) index makes whole-table GROUP BY ~10× slower
        // on SQLite 3.40 and costs bytes on every record.
        #expect(plans["indexes"]! == "")
    }
}

func explain(_ db: Database, _ sql: String) throws -> String {
    try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql).map { $0["detail"] as String }.joined(separator: " | ")
}

func setUserVersion(_ path: String, _ version: Int) throws {
    let queue = try DatabaseQueue(path: path)
    try queue.writeWithoutTransaction { try $0.execute(sql: "PRAGMA user_version = \(version)") }
}
