import ArgumentParser
import BreakerCLI
import BreakerCore
import BreakerRuntime
import Foundation

/// `bench call`: what wrapping a tool call in `breaker.call { … }` costs an embedding Swift
/// process — the real API, not the machine.
struct CallBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "call",
        abstract: "breaker.call { … } around an async function that returns at once, by names and by handle.",
        discussion: """
            In-process, one task awaiting one call after another, round-robin over K keys of \
            closed circuits: each call admits, runs the body under its call timeout (a task for \
            the body and one for the deadline), records the success and returns the result. The \
            same run times admit + complete alone (the hot path without the body), so that what \
            the timeout race adds shows. Prints {"scenario":"call","calls":N,"keys":K, \
            "ns_per_call":X,"handles_ns_per_call":Y,"admit_complete_ns":Z}.
            """)

    @Option(help: "Distinct (tenant, tool) keys.") var keys = 1000
    @Option(help: "Calls to time per variant (after a warm-up of one call per key).") var calls = 1_000_000

    func validate() throws {
        guard keys >= 1 else { throw ValidationError("--keys must be at least 1") }
        guard calls >= 1 else { throw ValidationError("--calls must be at least 1") }
    }

    func run() async throws {
        let (keys, calls) = (self.keys, self.calls)
        var names: [(TenantID, ToolID, TurnID)] = []
        for i in 0..<keys {
            names.append((try TenantID("tenant-\(i / 10)"), try ToolID("tool-\(i % 10)"), try TurnID("turn-\(i)")))
        }
        let byNames = try await Self.time(names, calls: calls, handles: false)
        let byHandles = try await Self.time(names, calls: calls, handles: true)
        let hotPath = try HotPathBench.timeBreaker(names, calls: calls, handles: false)
        writeOut(
            "{\"scenario\":\"call\",\"calls\":\(calls),\"keys\":\(keys),\"ns_per_call\":\(HotPathBench.format(byNames)),"
                + "\"handles_ns_per_call\":\(HotPathBench.format(byHandles)),\"admit_complete_ns\":\(HotPathBench.format(hotPath))}\n")
    }

    /// ns per `breaker.call` whose body returns at once; every call must succeed.
    static func time(_ names: [(TenantID, ToolID, TurnID)], calls: Int, handles: Bool) async throws -> Double {
        // Thresholds no scheduling hiccup reaches: on a busy machine a task may wait long enough
        // for a call to count as slow, and the benchmark is about calls that succeed.
        let breaker = CircuitBreaker(
            configuration: try BreakerConfiguration(
                defaults: SettingsOverride(failureThreshold: 1_000_000, latencyThresholdMs: 600_000)))
        let keyHandles = names.map { breaker.key(tenant: $0.0, tool: $0.1) }
        let body: @Sendable () async throws -> Int = { 1 }
        for (t, o, u) in names { _ = await breaker.call(tenant: t, tool: o, turn: u, body) }
        var succeeded = 0
        let clock = ContinuousClock()
        let started = clock.now
        var k = 0
        for _ in 0..<calls {
            let (t, o, u) = names[k]
            let result = handles ? await breaker.call(keyHandles[k], turn: u, body) : await breaker.call(tenant: t, tool: o, turn: u, body)
            if case .success = result { succeeded += 1 }
            k += 1
            if k == names.count { k = 0 }
        }
        let elapsed = started.duration(to: clock.now)
        guard succeeded == calls else {
            throw BreakerError(.invalidArgument, "only \(succeeded) of \(calls) calls succeeded; the benchmark is invalid")
        }
        return HotPathBench.nanoseconds(elapsed, per: calls)
    }
}
