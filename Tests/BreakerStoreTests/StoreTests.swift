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
            RandomWorkload.trace(seed: seed, lines: 4000, fleetRate: 0.002), into: path, configuration: RandomWorkload.lively,
            snapshotEvery: 700,
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

    /// Rebuild folds configuration records in log order (SPEC §2): with several changes and
    /// snapshots taken before and after them, the rebuilt state is a full replay's, and verify
    /// re-decides every transition under the configuration in force at its record.
    @Test(arguments: [31, 32, 33] as [UInt64])
    func theRebuiltStateEqualsAReplayAcrossConfigurationChanges(seed: UInt64) async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/s.sqlite"
        // Random changes all along, and one change each between the last two snapshots (after
        // lines 3 600 and 3 900) and after the last: the store keeps its latest two snapshots.
        var lines = RandomWorkload.trace(seed: seed, lines: 4000, configureRate: 0.003).lines
        var rng = SeededGenerator(seed: seed)
        for index in [3950, 3750] {
            let configuration = RandomWorkload.randomConfiguration(
                tenants: (0..<4).map { try! TenantID("tenant-\($0)") }, tools: (0..<3).map { try! ToolID("tool-\($0)") }, using: &rng)
            lines.insert(
                .configure(
                    Trace.TraceConfigure(at: lines[index].at, configuration: configuration, actor: "sre", reason: "retune", line: 0)),
                at: index + 1)
        }
        let live = try await simulate(
            Trace(lines: lines), into: path, configuration: RandomWorkload.lively, batchSize: 64, snapshotEveryLines: 300)
        let (changes, snapshots) = try await DatabaseQueue(path: path).read { db in
            (
                try Int64.fetchAll(db, sql: "SELECT seq FROM config_changes"),
                try Int64.fetchAll(db, sql: "SELECT seq FROM snapshots ORDER BY seq")
            )
        }
        #expect(changes.count >= 4)
        try #require(snapshots.count == 2)
        #expect(changes.contains { $0 > snapshots[0] && $0 < snapshots[1] } && changes.contains { $0 > snapshots[1] })
        let store = try EventStore.openReader(path: path)
        let full = try store.fullReplay()
        #expect(full.machine.hasSameDurableState(as: live))
        #expect(try store.configurationInForce() == live.configuration)
        // From the latest snapshot (the change before it inside it, the one after in the tail) …
        let fromLatest = try store.rebuild()
        #expect(fromLatest.machine.hasSameDurableState(as: full.machine))
        #expect(fromLatest.machine.configuration == live.configuration)
        // … and from the one before (both changes in the tail).
        try await DatabaseQueue(path: path).write { db in
            try db.execute(sql: "DELETE FROM snapshots WHERE seq = ?", arguments: [snapshots[1]])
        }
        let fromEarlier = try EventStore.openReader(path: path).rebuild()
        #expect(fromEarlier.replayed > fromLatest.replayed)
        #expect(fromEarlier.machine.hasSameDurableState(as: full.machine))
        let report = try store.verify()
        #expect(report.problems.isEmpty, "\(report.problems)")
    }

    /// The library's `configure` (SPEC §2): it returns once the change is durable, and the
    /// running breaker decides with it from then on.
    /// The writer's turn bookkeeping holds recent turns only, however many turns are made; a turn
    /// that goes on after it left the cache is still counted once, with all its flags.
    @Test func theWritersTurnCacheIsBoundedAndATurnThatGoesOnIsStillCountedOnce() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let clock = ManualWallClock(start: Timestamp(milliseconds: 1_795_852_800_000))
        var options = StoreOwner.Options()
        options.logger = Fixtures.silentLogger
        options.runsProber = false
        options.appliesInbox = false
        options.wallClock = clock
        let owner = try StoreOwner(path: dir + "/s.sqlite", options: options)
        let acme = try TenantID("acme")
        let tool = try ToolID("web_search")
        let t0 = clock.now
        try await owner.withWriter { breaker in
            func call(_ turn: String, at ms: Int64, fail: Bool = false) throws {
                guard
                    case .admitted(let p) = breaker.admit(tenant: acme, tool: tool, turn: try TurnID(turn), at: t0.adding(milliseconds: ms))
                else { return }
                let outcome: CallOutcome = fail ? .failure(errorType: try ErrorType("E"), latencyUs: 1) : .success(latencyUs: 1)
                _ = breaker.complete(p, outcome, at: t0.adding(milliseconds: ms))
            }
            try call("long-turn", at: 0)
            // Half an hour of one new turn a second.
            for s in 1..<1800 { try call("turn-\(s)", at: Int64(s) * 1000) }
            try call("long-turn", at: 1_800_500, fail: true)
            try await breaker.flush()
        }
        #expect(owner.writer.cachedTurns <= 400, "five minutes of turns, not half an hour: \(owner.writer.cachedTurns)")
        let report = try EventStore.openReader(path: dir + "/s.sqlite").slaReport(tenant: acme)
        #expect(report.rows.map(\.turns).reduce(0, +) == 1800, "1800 turns, the long one once")
        #expect(report.rows.map(\.turnsDegraded).reduce(0, +) == 1, "the long turn's later failure degrades it")
    }

    /// An application that stops its owner by cancelling the task running it loses nothing: the
    /// writer is closed, not cancelled mid-write, so every record and the final snapshot are
    /// durable and no write ever failed.
    @Test func cancellingARunningOwnerMakesEverythingDurableWithoutAFailedWrite() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/s.sqlite"
        var options = StoreOwner.Options()
        options.logger = Fixtures.silentLogger
        options.runsProber = false
        options.appliesInbox = false
        options.closeTimeout = .seconds(2)
        let owner = try StoreOwner(path: path, options: options)
        let running = Task { try await owner.run() }
        let acme = try TenantID("acme")
        let tool = try ToolID("web_search")
        for i in 0..<500 {
            guard case .admitted(let permit) = owner.breaker.admit(tenant: acme, tool: tool, turn: try TurnID("t-\(i)")) else {
                Issue.record("a closed circuit admits")
                return
            }
            _ = owner.breaker.complete(permit, .success(latencyUs: 1_000))
        }
        running.cancel()
        try await running.value
        #expect(owner.health.errors == 0, "no write failed: \(owner.health.lastError ?? "")")
        let reader = try EventStore.openReader(path: path)
        var calls = 0
        try reader.forEachEvent(EventFilter(kinds: .calls)) { _ in calls += 1 }
        #expect(calls == 500)
        #expect(try reader.rebuild().replayed == 0, "the final snapshot covers every record")
    }

    @Test func theLibraryConfigureReturnsOnceTheChangeIsDurableAndTheBreakerUsesIt() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/s.sqlite"
        var options = StoreOwner.Options()
        options.logger = Fixtures.silentLogger
        options.runsProber = false
        let owner = try StoreOwner(path: path, options: options)
        let tighter = try BreakerConfiguration(tools: [try ToolID("crm_api"): SettingsOverride(failureThreshold: 1)])
        try await owner.withWriter { breaker in
            let acme = try TenantID("acme")
            let crm = try ToolID("crm_api")
            let turn = try TurnID("t")
            try await breaker.configure(tighter, actor: "billing-service", reason: "CRM quota is tight")
            // Durable on return: a reader sees it while the owner still runs.
            let reader = try EventStore.openReader(path: path)
            #expect(try reader.configurationInForce() == tighter)
            guard case .admitted(let permit) = breaker.admit(tenant: acme, tool: crm, turn: turn) else {
                Issue.record("a closed circuit admits")
                return
            }
            _ = breaker.complete(permit, .failure(errorType: try ErrorType("QuotaExceeded"), latencyUs: 1_000))
            #expect(breaker.machine.state(of: BreakerKey(tenant: acme, tool: crm))?.state == .open, "one failure opens under the new rule")
        }
        var records: [ConfigurationRecord] = []
        try EventStore.openReader(path: path).forEachEvent(EventFilter(kinds: .configurations)) { e in
            if case .configuration(let c) = e.event { records.append(c) }
        }
        #expect(records.map(\.actor) == ["billing-service"] && records.map(\.reason) == ["CRM quota is tight"])
    }

    /// runtime.flushIntervalMs belongs to the writer: a change takes effect when an owner next
    /// opens the store, from the configuration in force (not the one it was created with).
    @Test func theNextOwnerFlushesAtTheFlushIntervalInForce() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/s.sqlite"
        var options = StoreOwner.Options()
        options.logger = Fixtures.silentLogger
        do {
            let first = try StoreOwner(path: path, options: options)
            #expect(first.writer.flushInterval == .milliseconds(50))
            var runtime = RuntimeSettings()
            runtime.flushIntervalMs = 400
            let slower = try BreakerConfiguration(runtime: runtime)
            try await first.withWriter { breaker in try await breaker.configure(slower, actor: "sre", reason: "fewer fsyncs") }
        }
        let second = try StoreOwner(path: path, options: options)
        #expect(second.writer.flushInterval == .milliseconds(400))
    }

    /// A configure queued for the owner is checked again there: an invalid one (written by
    /// another tool, or an older build) is refused naming the key, and nothing is recorded.
    @Test func theOwnerRefusesAnInvalidQueuedConfigurationAndRecordsNothing() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/s.sqlite"
        _ = try await simulate(RandomWorkload.trace(seed: 3, lines: 50), into: path, configuration: .standard)
        let id = try EventStore.submit(path: path, configuration: .standard, actor: "a", reason: "r")
        try await DatabaseQueue(path: path).write { db in
            try db.execute(sql: "UPDATE inbox SET config = ? WHERE id = ?", arguments: [#"{"defaults": {"minimumCalls": 0}}"#, id])
        }
        var options = StoreOwner.Options()
        options.logger = Fixtures.silentLogger
        let owner = try StoreOwner(path: path, options: options)
        let applied = try await owner.withWriter { _ in try owner.applyInbox() }
        #expect(applied == 0)
        guard case .refused(let why) = try EventStore.inboxState(path: path, id: id) else {
            Issue.record("expected the change to be refused")
            return
        }
        #expect(why.contains("defaults.minimumCalls"), "\(why)")
        #expect(try EventStore.openReader(path: path).configurationInForce() == .standard)
        #expect(try await DatabaseQueue(path: path).read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM config_changes") } == 0)
    }

    /// Verify decides with the configuration in force at each record: a log whose configuration
    /// change is taken away no longer justifies the transitions that followed it.
    @Test func verifyFailsWhenAConfigurationChangeIsTakenOutOfTheLog() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/s.sqlite"
        let at = { (ms: Int64) in Timestamp(milliseconds: 1_795_852_800_000 + ms) }
        let acme = try TenantID("acme")
        let tool = try ToolID("web_search")
        let turn = try TurnID("t")
        var lines: [Trace.Line] = []
        func fail(_ ms: Int64) {
            lines.append(
                .call(
                    Trace.TraceCall(
                        at: at(ms), tenant: acme, tool: tool, turn: turn, latencyMs: 1, result: .error(type: try! ErrorType("ToolError")),
                        line: 0)))
        }
        fail(0)
        lines.append(
            .configure(
                Trace.TraceConfigure(
                    at: at(10), configuration: try BreakerConfiguration(defaults: SettingsOverride(failureThreshold: 2)), actor: "sre",
                    reason: "tighter", line: 0)))
        fail(20)
        _ = try await simulate(Trace(lines: lines), into: path, configuration: .standard)
        let store = try EventStore.openReader(path: path)
        #expect(try store.verify().problems.isEmpty)
        #expect(try store.rebuild().machine.state(of: BreakerKey(tenant: acme, tool: tool))?.state == .open)
        try await DatabaseQueue(path: path).write { db in try db.execute(sql: "DELETE FROM config_changes") }
        #expect(try !EventStore.openReader(path: path).verify().problems.isEmpty, "under the defaults two failures open nothing")
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
