import BreakerCore
import BreakerOwner
import BreakerReports
import BreakerRuntime
import BreakerTestSupport
import Foundation
import GRDB
import Testing

@testable import BreakerStore

@Suite struct StoreTests {
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

    @Test(arguments: [1, 2, 3, 4, 5] as [UInt64])
    func theRebuiltStateEqualsAReplayFromTheStart(seed: UInt64) async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/s.sqlite"
        let live = try await simulate(
            RandomWorkload.trace(seed: seed, lines: 4000), into: path, configuration: RandomWorkload.lively, snapshotEvery: 700,
            batchSize: 64)
        let store = try EventStore.openReader(path: path)
        let rebuilt = try store.rebuild()
        let full = try store.fullReplay()
        #expect(rebuilt.replayed < full.replayed, "the rebuild starts from a snapshot")
        #expect(rebuilt.machine.hasSameDurableState(as: full.machine))
        #expect(rebuilt.machine.hasSameDurableState(as: live), "what was durable at close is the live state")
        let report = try store.verify()
        #expect(report.problems.isEmpty, "\(report.problems)")
        #expect(report.transitionsChecked > 20)
    }

    @Test func aStoreReopenedByItsOwnerContinuesFromTheRebuiltState() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/s.sqlite"
        let trace = RandomWorkload.trace(seed: 11, lines: 3000)
        let half = trace.lines.count / 2
        _ = try await simulate(Trace(lines: Array(trace.lines[..<half])), into: path, configuration: RandomWorkload.lively)
        let live = try await simulate(Trace(lines: Array(trace.lines[half...])), into: path, configuration: RandomWorkload.lively)
        // One uninterrupted run of the whole trace gives the same state.
        let whole = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: whole) }
        let reference = try await simulate(trace, into: whole + "/s.sqlite", configuration: RandomWorkload.lively)
        #expect(live.hasSameDurableState(as: reference))
        #expect(try EventStore.openReader(path: path).verify().problems.isEmpty)
    }

    @Test func aSecondOwnerIsRefusedWithTheOwnersPid() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let first = try EventStore.openOwner(path: dir + "/s.sqlite")
        do {
            _ = try EventStore.openOwner(path: dir + "/s.sqlite")
            Issue.record("expected the second owner to be refused")
        } catch {
            #expect(error.code == .storeLocked)
            #expect(error.message.contains("pid \(getpid())"))
        }
        _ = first
    }

    @Test func readersWorkWhileTheOwnerWrites() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/s.sqlite"
        var options = StoreOwner.Options()
        options.logger = Fixtures.silentLogger
        let owner = try StoreOwner(path: path, options: options)
        try await owner.withWriter { breaker in
            let tenant = try TenantID("acme")
            let tool = try ToolID("web_search")
            for i in 0..<200 {
                _ = await breaker.call(tenant: tenant, tool: tool, turn: try TurnID("t\(i)")) { 1 }
            }
            try await breaker.flush()
            let reader = try EventStore.openReader(path: path)
            var calls = 0
            try reader.forEachEvent(EventFilter(kinds: .calls)) { _ in calls += 1 }
            #expect(calls == 200)
        }
    }

    @Test func aStoreFromANewerSchemaIsRefusedAndLeftUnchanged() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
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

    @Test func theQueryPlansThatMatterUseTheirKeys() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
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

    @Test func compactionKeepsReportsAuditsAndStatusAndReplayConsistent() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/s.sqlite"
        let live = try await simulate(RandomWorkload.trace(seed: 5, lines: 3000), into: path, configuration: RandomWorkload.lively)
        let before = try Self.everythingReadersSee(EventStore.openReader(path: path))
        let owner = try EventStore.openOwner(path: path)
        let cutoff = try #require(try owner.latestTime()).adding(milliseconds: -600_000)
        let removed = try owner.compact(before: cutoff)
        #expect(removed > 0)
        let after = try EventStore.openReader(path: path)
        var calls = 0
        try after.forEachEvent(EventFilter(kinds: .calls)) { _ in calls += 1 }
        #expect(calls < 3000 - 500, "the old call records are gone")
        let seen = try Self.everythingReadersSee(after)
        #expect(seen.report == before.report, "the SLA report is unchanged")
        #expect(seen.audits == before.audits, "every tenant's audit is unchanged")
        #expect(seen.status == before.status, "every key's state is unchanged")
        #expect(try after.rebuild().machine.hasSameDurableState(as: live))
        #expect(try after.verify().problems.isEmpty)
    }

    /// The SLA report, every tenant's audit, and every key's status, as a reader gets them.
    static func everythingReadersSee(_ store: EventStore) throws -> (report: String, audits: [String], status: [String]) {
        let report = try store.slaReport(tenant: nil).csv
        let audits = try store.tenantNames().sorted().map { try store.auditTimeline(tenant: $0).csv }
        let machine = try store.rebuild().machine
        let status = machine.keys.sorted().map { "\($0) \(machine.status(of: $0)!)" }
        #expect(!audits.isEmpty && !status.isEmpty)
        return (report, audits, status)
    }
}

func explain(_ db: Database, _ sql: String) throws -> String {
    try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql).map { $0["detail"] as String }.joined(separator: " | ")
}

func setUserVersion(_ path: String, _ version: Int) throws {
    let queue = try DatabaseQueue(path: path)
    try queue.writeWithoutTransaction { try $0.execute(sql: "PRAGMA user_version = \(version)") }
}
