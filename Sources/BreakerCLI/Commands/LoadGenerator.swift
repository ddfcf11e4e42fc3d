import BreakerCore
import BreakerRuntime
import ServiceLifecycle
import Synchronization

/// Counts for the load's progress lines.
final class LoadStats: Sendable {
    let calls = Atomic<Int>(0)
    let rejected = Atomic<Int>(0)
    let failed = Atomic<Int>(0)
    /// Calls not started because ``LoadGenerator/maxInFlight`` were running (the machine could not
    /// keep up with the rate).
    let shed = Atomic<Int>(0)
    let inFlight = Atomic<Int>(0)
}

extension Atomic where Value == Int {
    var value: Int { load(ordering: .relaxed) }
    func bump() { add(1, ordering: .relaxed) }
}

struct SimulatedToolError: Error {}

/// Generates calls at a steady rate until the duration ends or shutdown begins.
///
/// Bounded both ways, so that a rate the machine cannot serve neither grows memory nor runs past
/// the duration: at most ``maxInFlight`` calls run at once (the rest are shed and counted), and
/// at the end the calls still running get a second to finish and are then cancelled.
struct LoadGenerator: Service {
    let breaker: CircuitBreaker
    let tenants: Int
    let tools: Int
    let rate: Double
    let duration: Double
    let failureRate: Double
    let slowRate: Double
    let latencyMs: Int
    let seed: UInt64
    let stats: LoadStats

    /// Calls running at once at most: a second's worth at the rate, from 1 000 to 10 000.
    var maxInFlight: Int { max(1_000, min(10_000, Int(rate))) }

    func run() async throws {
        let tenantIDs = try (0..<tenants).map { try TenantID("tenant-\($0)") }
        let toolIDs = try (0..<tools).map { try ToolID("tool-\($0)") }
        let clock = ContinuousClock()
        let start = clock.now
        let end = start.advanced(by: .milliseconds(Int64(duration * 1000)))
        var rng = SeededGenerator(seed: seed)
        var issued = 0
        var turnCounter = [Int](repeating: 0, count: tenants)
        var lastProgress = start
        let slowSleep = Duration.milliseconds(breaker.configuration.settings(tenant: "tenant-0", tool: "tool-0").callTimeoutMs * 2)
        let cap = maxInFlight
        await withDiscardingTaskGroup { group in
            while !Task.isShuttingDownGracefully && !Task.isCancelled {
                let now = clock.now
                if now >= end { break }
                let due = Int(
                    Double(start.duration(to: now).components.seconds) * rate
                        + Double(start.duration(to: now).components.attoseconds) / 1e18 * rate)
                while issued < due {
                    issued += 1
                    if stats.inFlight.value >= cap {
                        stats.shed.bump()
                        continue
                    }
                    let t = Int(rng.next() % UInt64(tenants))
                    let o = Int(rng.next() % UInt64(tools))
                    turnCounter[t] += 1
                    let turn = try! TurnID("turn-\(t)-\(turnCounter[t] / 3)")
                    let roll = Double(rng.next() % 1_000_000) / 1_000_000
                    let fail = roll < failureRate
                    let slow = !fail && roll < failureRate + slowRate
                    let latency = Duration.milliseconds(latencyMs)
                    let breaker = self.breaker
                    let stats = self.stats
                    let tenant = tenantIDs[t]
                    let tool = toolIDs[o]
                    stats.inFlight.add(1, ordering: .relaxed)
                    group.addTask {
                        defer { stats.inFlight.subtract(1, ordering: .relaxed) }
                        let result = await breaker.call(tenant: tenant, tool: tool, turn: turn) { () async throws -> Int in
                            try await Task.sleep(for: slow ? slowSleep : latency)
                            if fail { throw SimulatedToolError() }
                            return 1
                        }
                        stats.calls.bump()
                        switch result {
                        case .unavailable(let s) where s.reason != "tool_call_timeout": stats.rejected.bump()
                        case .unavailable, .failed: stats.failed.bump()
                        case .success, .cancelled: break
                        }
                    }
                }
                if lastProgress.duration(to: now) >= .seconds(5) {
                    lastProgress = now
                    let shed = stats.shed.value
                    printError(
                        "load: \(stats.calls.value) calls so far, \(stats.rejected.value) rejected"
                            + (shed > 0 ? ", \(shed) not started (\(cap) in flight: the machine is behind the rate)" : ""))
                }
                try? await clock.sleep(for: .milliseconds(5))
            }
            // The duration is over: the calls still running get a second, then are cancelled.
            let grace = clock.now.advanced(by: .seconds(1))
            while stats.inFlight.value > 0 && clock.now < grace { try? await clock.sleep(for: .milliseconds(10)) }
            group.cancelAll()
        }
    }
}
