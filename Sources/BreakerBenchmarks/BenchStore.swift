import BreakerCLI
import BreakerCore
import BreakerOwner
import BreakerRuntime
import BreakerStore
import Foundation
import Logging

/// Builds benchmark stores through the real runtime and writer on a virtual clock.
enum BenchStore {
    static let connectionError = try! ErrorType("ConnectionError")

    struct Shape {
        var records: Int
        var tenants: Int
        var toolsPerTenant: Int
        /// Time the records span, ms.
        var spanMs: Int64
        var start = Timestamp(milliseconds: 1_795_824_000_000)  // 2026-11-28T00:00:00Z
        /// Share of calls that fail (some circuits open and recover).
        var failureShare = 0.02
        var callsPerTurn = 5
        /// Outages: every `every` ms one tool (the next, in turn) fails 90% of its calls for
        /// `length` ms, for every tenant, so circuits open, reject and recover.
        var outages: (every: Int64, length: Int64)? = nil
    }

    static func temporaryDirectory() throws -> String {
        let dir = NSTemporaryDirectory() + "breaker-bench-\(getpid())-\(UInt64.random(in: 0..<UInt64.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// Writes `shape.records` call records (plus the transitions they cause) into a new store.
    /// - Parameter crashLike: leave no final snapshot, as a crash would.
    static func build(path: String, shape: Shape, crashLike: Bool, progress: Bool) async throws -> Int {
        let clock = ManualWallClock(start: shape.start)
        var options = StoreOwner.Options(configuration: .standard)
        options.mustCreate = true
        options.dropsCallRecordsWhenFull = false
        options.wallClock = clock
        options.logger = quietLogger
        let owner = try StoreOwner(path: path, options: options)
        return try await owner.withWriter(finalSnapshot: !crashLike) { breaker in
            try await write(shape, breaker: breaker, writer: owner.writer, progress: progress)
        }
    }

    private static func write(_ shape: Shape, breaker: CircuitBreaker, writer: EventLogWriter, progress: Bool) async throws -> Int {
        let keys = shape.tenants * shape.toolsPerTenant
        let tenants = try (0..<shape.tenants).map { try TenantID("tenant-\($0)") }
        let tools = try (0..<shape.toolsPerTenant).map { try ToolID("tool-\($0)") }
        let step = max(1, shape.spanMs / Int64(shape.records))
        var rng = SeededGenerator(seed: 42)
        var written = 0
        var i = 0
        var turns = [Int](repeating: 0, count: shape.tenants)
        while written < shape.records {
            let k = i % keys
            let t = k % shape.tenants
            let tenant = tenants[t]
            let tool = tools[(k / shape.tenants) % shape.toolsPerTenant]
            let turn = try TurnID("turn-\(turns[t] / shape.callsPerTurn)")
            turns[t] += 1
            let at = shape.start.adding(milliseconds: Int64(i) * step)
            switch breaker.admit(tenant: tenant, tool: tool, turn: turn, at: at) {
            case .rejected:
                written += 1
            case .untracked:
                fatalError("a benchmark store's keys stay within limits.maxKeys")
            case .admitted(let p):
                var share = shape.failureShare
                if let o = shape.outages {
                    let since = at.milliseconds - shape.start.milliseconds
                    let toolIndex = (k / shape.tenants) % shape.toolsPerTenant
                    if since % o.every < o.length && Int(since / o.every) % shape.toolsPerTenant == toolIndex { share = 0.9 }
                }
                let fail = Double(rng.next() % 10_000) / 10_000 < share
                let latency = Int64(20 + rng.next() % 300)
                _ = breaker.complete(
                    p, fail ? .failure(errorType: Self.connectionError, latencyUs: latency * 1000) : .success(latencyUs: latency * 1000),
                    at: at)
                written += 1
            }
            i += 1
            if i % 4096 == 0 {
                await writer.waitForCapacity(timeout: nil)
                if progress && i % 1_048_576 == 0 { printError("bench: \(written) records written") }
            }
        }
        return written
    }
}
