import BreakerCore
import BreakerOwner
import BreakerReports
import BreakerRuntime
import BreakerTestSupport
import Foundation
import GRDB
import Testing

@testable import BreakerStore

/// Configuration changes in the store (SPEC §2): durable when the library returns, refused when invalid, checked by verify.
@Suite(.temporaryDirectory) struct StoreConfigurationTests {
    /// The library's `configure` (SPEC §2): it returns once the change is durable, and the
    /// running breaker decides with it from then on.
    @Test func theLibraryConfigureReturnsOnceTheChangeIsDurableAndTheBreakerUsesIt() async throws {
        let dir = scratchDirectory
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

    /// A configure queued for the owner is checked again there: an invalid one (written by
    /// another tool, or an older build) is refused naming the key, and nothing is recorded.
    @Test func theOwnerRefusesAnInvalidQueuedConfigurationAndRecordsNothing() async throws {
        let dir = scratchDirectory
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
        let dir = scratchDirectory
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
}
