import BreakerCore
import BreakerOwner
import BreakerReports
import BreakerRuntime
import BreakerTestSupport
import Foundation
import GRDB
import Testing

@testable import BreakerStore

/// Compaction keeps what every reader sees.
@Suite(.temporaryDirectory) struct StoreCompactionTests {
    @Test func compactionKeepsReportsAuditsAndStatusAndReplayConsistent() async throws {
        let dir = scratchDirectory
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
