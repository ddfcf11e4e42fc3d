import BreakerCore
import BreakerOwner
import BreakerReports
import BreakerRuntime
import BreakerTestSupport
import Foundation
import GRDB
import Synchronization
import Testing

@testable import BreakerStore

/// One owner writes, readers read beside it, and an owner that stops leaves everything durable.
@Suite(.temporaryDirectory) struct StoreOwnershipTests {
    @Test func aSecondOwnerIsRefusedWithTheOwnersPid() throws {
        let dir = scratchDirectory
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

    /// Asking whether a store has an owner (every CLI reader does) never makes an owner that
    /// starts at that instant fail as "owned by another process": the question holds the lock
    /// for an instant, and an owner starting then waits that instant out.
    @Test func askingForTheOwnerNeverRefusesAnOwnerThatStartsMeanwhile() throws {
        let path = scratchDirectory + "/s.sqlite"
        let stop = Mutex(false)
        let asked = Mutex(0)
        let asker = Thread {
            while !stop.withLock({ $0 }) {
                _ = StoreLock.owner(of: path)
                asked.withLock { $0 += 1 }
            }
        }
        asker.start()
        defer { stop.withLock { $0 = true } }
        var refused: [String] = []
        for _ in 0..<2_000 {
            do {
                _ = try StoreLock(storePath: path)
            } catch {
                refused.append(error.message)
            }
        }
        stop.withLock { $0 = true }
        #expect(asked.withLock { $0 } > 100, "the asker ran meanwhile")
        let count = refused.count
        #expect(count == 0, "\(count) of 2000 starts refused, e.g. \(refused.first ?? "")")
    }

    /// Reads go on beside the writer: while calls are being written, a reader's counts grow
    /// (it sees some calls but not yet all), and once the owner has flushed it sees every one.
    @Test func readersWorkWhileTheOwnerWrites() async throws {
        let path = scratchDirectory + "/s.sqlite"
        var options = StoreOwner.Options()
        options.logger = Fixtures.silentLogger
        let owner = try StoreOwner(path: path, options: options)
        let total = 3_000
        try await owner.withWriter { breaker in
            let tenant = try TenantID("acme")
            let tool = try ToolID("web_search")
            let done = Mutex(false)
            // Halfway the writer waits (at most 55 s, inside the reader's 60 s) until a read has happened: on a busy machine
            // the reader might otherwise not get a turn before the writer is done.
            let halfway = Mutex(false)
            let readMidway = Mutex(false)
            let writing = Task {
                defer { done.withLock { $0 = true } }
                for i in 0..<total {
                    _ = await breaker.call(tenant: tenant, tool: tool, turn: try TurnID("t\(i)")) { 1 }
                    if i % 100 == 99 { try await breaker.flush() }
                    if i == total / 2 {
                        halfway.withLock { $0 = true }
                        let wait = ContinuousClock.now.advanced(by: .seconds(290))
                        while !readMidway.withLock({ $0 }) && ContinuousClock.now < wait { try await Task.sleep(for: .milliseconds(1)) }
                    }
                }
            }
            // The owner's own reader connections, as `serve` reads beside its writer.
            let reader = owner.store
            var seen: [Int] = []
            // Generous: on a loaded runner the cooperative pool has been held by other tests for minutes.
            let deadline = ContinuousClock.now.advanced(by: .seconds(300))
            while !done.withLock({ $0 }) && ContinuousClock.now < deadline {
                let afterHalfway = halfway.withLock { $0 }
                var calls = 0
                try reader.forEachEvent(EventFilter(kinds: .calls)) { _ in calls += 1 }
                seen.append(calls)
                if afterHalfway { readMidway.withLock { $0 = true } }
                try await Task.sleep(for: .milliseconds(2))
            }
            try await writing.value
            try await breaker.flush()
            var calls = 0
            try reader.forEachEvent(EventFilter(kinds: .calls)) { _ in calls += 1 }
            #expect(calls == total)
            #expect(seen.contains { $0 > 0 && $0 < total }, "a read while the writer wrote saw part of the calls: \(seen.prefix(20))")
            #expect(zip(seen, seen.dropFirst()).allSatisfy { $0 <= $1 }, "what readers see only grows")
        }
    }

    @Test func cancellingARunningOwnerMakesEverythingDurableWithoutAFailedWrite() async throws {
        let dir = scratchDirectory
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

    /// runtime.flushIntervalMs belongs to the writer: a change takes effect when an owner next
    /// opens the store, from the configuration in force (not the one it was created with).
    @Test func theNextOwnerFlushesAtTheFlushIntervalInForce() async throws {
        let dir = scratchDirectory
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
}
