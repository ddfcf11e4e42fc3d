import BreakerCore
import BreakerOwner
import BreakerRuntime
import BreakerStore
import BreakerTestSupport
import Foundation
import GRDB
import Testing

/// SPEC §8: operator actions given through the CLI reach every kind of owner within a second, are
/// reported applied only once durable, and are never silently lost.
@Suite(.temporaryDirectory, .serialized) struct OwnerInboxTests {
    /// A store with one key, owned by nobody.
    func store(_ dir: String) async throws -> String {
        let db = dir + "/s.sqlite"
        let trace = try writeTrace(dir, [callLine("2026-11-28T10:00:00Z", "acme", "web_search", "t-1")])
        #expect(try await CLI.run(async: ["simulate", trace, "--db", db]).status == 0)
        return db
    }

    func forceOpenAcme(reason: String) -> OperatorAction {
        OperatorAction(.forceOpen(.tenant(try! TenantID("acme"))), tool: try! ToolID("web_search"), actor: "a", reason: reason)
    }

    func operatorRecords(_ db: String) throws -> [OperatorRecord] {
        var out: [OperatorRecord] = []
        try EventStore.openReader(path: db).forEachEvent(EventFilter(kinds: .operatorActions)) { e in
            if case .operatorAction(let o) = e.event { out.append(o) }
        }
        return out
    }

    /// Starts the embedding example (an application owning `db` through `StoreOwner`) and
    /// waits until it owns the store.
    @Test func anApplicationEmbeddingTheOwnerAppliesACLIActionAndTheCLISaysSoOnceDurable() async throws {
        let dir = scratchDirectory
        let db = try await store(dir)
        let app = try startEmbeddingApplication(db)
        let r = try await CLI.run(async: [
            "force-open", "--tool", "web_search", "--hold", "--reason", "vendor down", "--actor", "oncall", "--db", db,
        ])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("applied by the running owner (pid \(app.processIdentifier))"), "\(r.stderr)")
        // Reported applied: the record is durable, so a reader sees it now, while the owner runs.
        #expect(try operatorRecords(db).map(\.reason) == ["vendor down"])
        let status = try await CLI.run(async: ["status", "--format", "json", "--db", db])
        #expect(status.text.contains("\"state\":\"forced_open\""), "\(status.text)")
        stopEmbeddingApplication(app)
        #expect(app.terminationStatus == 0)
        // The application's own calls were rejected from then on.
        var rejected = 0
        try EventStore.openReader(path: db).forEachEvent(EventFilter(kinds: .calls)) { e in
            if case .call(let c) = e.event, c.outcome == .rejected { rejected += 1 }
        }
        #expect(rejected > 0)
        #expect(try await CLI.run(async: ["verify", "--db", db]).status == 0)
    }

    @Test func aQueuedActionIsAppliedWithinOneSecondOfBeingQueued() async throws {
        let dir = scratchDirectory
        let db = try await store(dir)
        let app = try startEmbeddingApplication(db)
        defer { stopEmbeddingApplication(app) }
        for round in 0..<5 {
            let queued = SystemWallClock().now
            let id = try EventStore.submit(path: db, action: forceOpenAcme(reason: "r\(round)"))
            try await waitUntil("queued action \(id) to be applied") { try EventStore.inboxState(path: db, id: id) == .applied }
            let record = try #require(try operatorRecords(db).last)
            #expect(record.reason == "r\(round)")
            let delay = record.time.milliseconds - queued.milliseconds
            #expect(delay <= 1000, "applied \(delay) ms after it was queued")
        }
    }

    @Test(arguments: [
        ("force_open_hold", "bad\u{1}name", "control character"), ("force_open_hold", String(repeating: "x", count: 129), "128"),
        ("reset", nil, "reset needs a tenant"),
    ])
    func aQueuedActionWithAnInvalidTenantIsRefusedAndNothingIsRecorded(op: String, tenant: String?, message: String) async throws {
        let dir = scratchDirectory
        let db = try await store(dir)
        // Written as a row, as no typed action can spell it: an older CLI, or a hand with sqlite3.
        let id = try await DatabaseQueue(path: db).write { db in
            try db.execute(
                sql: """
                    INSERT INTO inbox(submitted_at, op, tool, tenant, config, actor, reason)
                    VALUES (0, ?, 'web_search', ?, NULL, 'a', 'r')
                    """, arguments: [op, tenant])
            return db.lastInsertedRowID
        }
        var options = StoreOwner.Options()
        options.logger = Fixtures.silentLogger
        let owner = try StoreOwner(path: db, options: options)
        try await owner.withWriter { _ in try owner.applyInbox() }
        guard case .refused(let why) = try EventStore.inboxState(path: db, id: id) else {
            Issue.record("expected the action to be refused")
            return
        }
        #expect(why.contains(message), "\(why)")
        #expect(try operatorRecords(db).isEmpty, "an invalid tenant never becomes 'all tenants'")
        let machine = try EventStore.openReader(path: db).rebuild().machine
        #expect(machine.keys.allSatisfy { machine.status(of: $0)?.state == .closed })
    }

    @Test func aResetOfEveryTenantCannotBeAskedAndALogThatHasOneDoesNotVerify() throws {
        #expect(throws: BreakerError.self) { try OperatorCommand(op: .reset, tenant: nil) }
        let tool = try ToolID("web_search")
        let record = OperatorRecord(
            time: Timestamp(milliseconds: 1_000), tenant: nil, tool: tool, op: .reset, actor: "a", reason: "r", requestID: nil)
        var verifier = LogVerifier(machine: BreakerMachine(configuration: .standard))
        verifier.check(.operatorAction(record), seq: 1)
        verifier.finish()
        #expect(verifier.problems.contains { $0.contains("a reset of every tenant") }, "\(verifier.problems)")
    }

    @Test func theCLIGivesUpWithAClearMessageWhenNoOwnerAppliesTheActionInTime() async throws {
        let dir = scratchDirectory
        let db = try await store(dir)
        // An owner that holds the store but never reads its inbox.
        let silent = try EventStore.openOwner(path: db)
        let r = try await CLI.run(async: ["force-open", "--tool", "web_search", "--reason", "r", "--wait", "0.5", "--db", db])
        #expect(r.status == 1)
        #expect(
            r.stderr.contains("did not take force_open web_search for all tenants within") && r.stderr.contains("not applied"),
            "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1, "one clear line: \(r.stderr)")
        #expect(try silent.claimInbox(owner: "check").actions.isEmpty, "the withdrawn action is no longer queued")
        #expect(try operatorRecords(db).isEmpty)
    }

    @Test func anActionTakenByAnOwnerThatDiedIsAppliedByTheNextOwner() async throws {
        let dir = scratchDirectory
        let db = try await store(dir)
        let id = try EventStore.submit(path: db, action: forceOpenAcme(reason: "queued"))
        do {
            // An owner claims it and dies before recording it.
            let dead = try EventStore.openOwner(path: db)
            #expect(try dead.claimInbox(owner: "pid 1, dead").actions.map(\.id) == [id])
        }
        #expect(try EventStore.inboxState(path: db, id: id) == .claimed(by: "pid 1, dead"))
        // The next owner — here the CLI itself, as no owner runs — applies it along with its own action.
        let r = try await CLI.run(async: ["release", "--tool", "web_search", "--tenant", "acme", "--reason", "own", "--db", db])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try operatorRecords(db).map(\.reason) == ["queued", "own"])
        #expect(try EventStore.inboxState(path: db, id: id) == .applied)
        #expect(try await CLI.run(async: ["verify", "--db", db]).status == 0)
    }
}
