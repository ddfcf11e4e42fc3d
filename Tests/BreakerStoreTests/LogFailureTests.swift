import BreakerCore
import BreakerReports
import BreakerRuntime
import BreakerTestSupport
import Foundation
import GRDB
import Logging
import Metrics
import MetricsTestKit
import Testing

@testable import BreakerStore

/// SPEC §8: when the log cannot be written, the breaker keeps deciding in memory and the writer
/// keeps retrying; what was durable stays durable, and the failure is never silent.
@Suite(.temporaryDirectory) struct LogFailureTests {
    let tool = try! ToolID("web_search")

    @Test func aFullStoreKeepsTheBreakerDecidingThenRecordsTheGapItCouldNotKeep() async throws {
        let dir = scratchDirectory
        let path = dir + "/s.sqlite"
        let metrics = TestMetrics()
        let clock = ManualWallClock()
        do {
            // Create the store, then reopen it capped a few pages above its size.
            let s = try EventStore.openOwner(path: path)
            _ = try EventLogWriter(store: s)
        }
        let pages = try pageCount(path)
        let store = try EventStore.openOwner(path: path, maxPageCount: pages + 8)
        var options = EventLogWriter.Options()
        options.capacity = 200
        options.dropsWhenFull = true
        options.batchSize = 64
        options.retryInterval = .milliseconds(5)
        options.maxRetryInterval = .milliseconds(20)
        options.logger = Fixtures.silentLogger
        options.metricsFactory = metrics
        let writer = try EventLogWriter(store: store, options: options)
        let breaker = CircuitBreaker(
            machine: writer.rebuilt, wallClock: clock, monotonicClock: clock, sink: writer, logger: Fixtures.silentLogger,
            metricsFactory: metrics)
        let running = Task { try await writer.run() }

        var calls = 0
        func call(_ i: Int, fail: Bool = false) throws {
            clock.advance(by: .milliseconds(1))
            let tenant = try TenantID("tenant-\(i % 7)")
            switch breaker.admit(tenant: tenant, tool: tool, turn: try TurnID("turn-\(i)")) {
            case .rejected, .untracked: break
            case .admitted(let p):
                _ = breaker.complete(p, fail ? .failure(errorType: try! ErrorType("E"), latencyUs: 10) : .success(latencyUs: 10))
            }
            calls += 1
        }
        // Calls until the store is full and the writer says so.
        var i = 0
        while !writer.health.failing {
            try call(i)
            i += 1
            if i % 50 == 0 { try await Task.sleep(for: .milliseconds(2)) }
            try #require(i < 200_000, "the capped store should have filled")
        }
        let durableBefore = try exported(path)
        #expect(try metrics.expectCounter("agent_circuit_breaker_log_errors_total").totalValue >= 1)
        #expect(writer.health.lastError?.contains("disk full") == true, "\(writer.health)")
        // The breaker keeps deciding: a tenant's failures open its circuit while nothing can be written.
        for j in 0..<2_000 { try call(i + j, fail: (i + j) % 7 == 3) }
        i += 2_000
        let failing = try TenantID("tenant-3")
        #expect(breaker.status(of: BreakerKey(tenant: failing, tool: tool))?.state == .open)
        #expect(writer.health.droppedCalls > 0, "call records beyond the queue's capacity are dropped")
        #expect(try metrics.expectCounter("agent_circuit_breaker_log_dropped_total").totalValue == Int64(writer.health.droppedCalls))

        // Give the store room again: the writer resumes by itself.
        try await store.db.writeWithoutTransaction { try $0.execute(sql: "PRAGMA max_page_count = 1000000") }
        try await waitUntil("the writer to resume once the store has room") { !writer.health.failing }
        for j in 0..<100 { try call(i + j) }
        let dropped = writer.health.droppedCalls
        writer.close()
        try await running.value

        let after = try exported(path)
        #expect(durableBefore.isSubset(of: after), "what was durable stays durable")
        let reader = try EventStore.openReader(path: path)
        let gaps = try reader.logGaps()
        #expect(!gaps.isEmpty)
        #expect(gaps.reduce(0) { $0 + $1.dropped } == Int64(dropped), "the gap says how many records were dropped")
        var logged = 0
        try reader.forEachEvent(EventFilter(kinds: .calls)) { _ in logged += 1 }
        #expect(logged + Int(dropped) == calls, "every call is either in the log or counted in a gap")
        var transitions = 0
        try reader.forEachEvent(EventFilter(kinds: .transitions)) { _ in transitions += 1 }
        #expect(transitions > 0, "transitions are never dropped")
        let report = try reader.verify()
        #expect(report.problems.isEmpty, "\(report.problems)")
        #expect(report.gaps.count == gaps.count)
        #expect(try reader.rebuild().machine.hasSameDurableState(as: try reader.fullReplay().machine))
        var gapLines: [String] = []
        try reader.forEachEvent(EventFilter(kinds: .logGaps)) { gapLines.append(Self.json(ExportLine(seq: $0.seq, event: $0.event))) }
        for line in gapLines {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect(Set(object.keys) == ["seq", "ts", "kind", "from", "to", "dropped"], "\(line)")
            #expect(object["kind"] as? String == "log_gap")
        }
    }

    static func json(_ line: ExportLine) -> String { String(decoding: try! JSONEncoder().encode(line), as: UTF8.self) }

    func pageCount(_ path: String) throws -> Int {
        try DatabaseQueue(path: path).read { db in try Int.fetchOne(db, sql: "PRAGMA page_count")! }
    }

    /// Every record of the log as (seq, kind, time), from a reader.
    func exported(_ path: String) throws -> Set<String> {
        var out = Set<String>()
        try EventStore.openReader(path: path).forEachEvent(EventFilter()) { e in
            out.insert("\(e.seq) \(e.event.time.milliseconds) \(e.event)")
        }
        return out
    }
}
