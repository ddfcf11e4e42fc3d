import ArgumentParser
import BreakerCLI
import BreakerCore
import BreakerOwner
import BreakerRuntime
import Foundation
import Logging

#if canImport(Glibc)
    import Glibc
#endif

struct KeysBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Memory per key: active (a call in the window) and idle (its window over, memory given back).",
        discussion: """
            In one process, on a new store with its writer (virtual clock): 100 keys with a call \
            each, then N more keys over N/10 tenants × 10 tools with a call each (active), then the \
            clock moves past the window and two hours on (the writer's turn cache keeps the current \
            and previous hour), the idle sweep runs (idle). Bytes per key are resident-memory \
            differences from the 100-key state, after giving free heap back to the system \
            (malloc_trim). The metric handles are those of the default (no-op) metrics backend \
            unless --prometheus.
            """)

    @Option(help: "Keys.") var keys = 100_000
    @Flag(help: "Give the breaker a Prometheus registry, as `serve` does.") var prometheus = false

    func validate() throws {
        guard (1_000...10_000_000).contains(keys) else { throw ValidationError("--keys must be from 1000 to 10000000") }
    }

    func run() async throws {
        try await reportingErrors {
            let dir = try BenchStore.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let clock = ManualWallClock()
            // No bound on the keys: the default `limits.maxKeys` (1 000 000) is below the largest
            // runs' 100 + N keys, and what is measured is the memory a key costs.
            var configuration = BreakerConfiguration.standard
            configuration.limits.maxKeys = nil
            var options = StoreOwner.Options(configuration: configuration)
            options.wallClock = clock
            options.logger = Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })
            options.runsProber = false
            options.appliesInbox = false
            options.idleSweepInterval = nil
            options.snapshotEvery = Int.max / 2
            if prometheus { options.metricsFactory = PrometheusBench.factory() }
            let owner = try StoreOwner(path: dir + "/keys.sqlite", options: options)
            let breaker = owner.breaker
            let n = keys
            try await owner.withWriter(finalSnapshot: false) { breaker in
                try await Self.call(breaker, tenants: 0..<10, prefix: "base", turn: "t")
                try await breaker.flush()
                let base = Self.residentBytes()
                try await Self.call(breaker, tenants: 0..<(n / 10), prefix: "tenant", turn: "t")
                try await breaker.flush()
                let active = Self.residentBytes()
                clock.advance(by: .seconds(2 * 3600 + 120))
                try await Self.call(breaker, tenants: 0..<10, prefix: "base", turn: "later")
                try await breaker.flush()
                let idleKeys = breaker.releaseIdleKeys()
                let idle = Self.residentBytes()
                guard idleKeys >= n else {
                    throw BreakerError(.storeCorrupt, "only \(idleKeys) of \(n) keys were idle; the benchmark is invalid")
                }
                // Where the machine's share goes, per key, on standard error.
                let parts = breaker.machine.memoryBreakdown.map { "\($0.part) \($0.bytes / (n + 100))" }
                printError("keys: machine bytes per key: " + parts.joined(separator: ", "))
                writeOut(
                    "{\"scenario\":\"keys\",\"keys\":\(n),\"bytes_per_active_key\":\((active - base) / n),\"bytes_per_idle_key\":\(max(0, idle - base) / n),\"rss_mb\":\(active / 1_048_576)}\n"
                )
            }
            _ = breaker
        }
    }

    /// One successful call on each of `tenants` × 10 tools, its latency measured as `call` does
    /// (so a metrics backend gets each key's handles).
    static func call(_ breaker: CircuitBreaker, tenants: Range<Int>, prefix: String, turn: String) async throws {
        let turnID = try TurnID(turn)
        for t in tenants {
            let tenant = try TenantID("\(prefix)-\(t)")
            for tool in 0..<10 {
                guard
                    case .admitted(let call) = await breaker.begin(tenant: tenant, tool: try ToolID("tool-\(tool)"), turn: turnID)
                else {
                    throw BreakerError(.storeCorrupt, "a closed circuit rejected a call; the benchmark is invalid")
                }
                _ = await breaker.record(call.permit, .success(latencyUs: 1_000))
            }
        }
    }

    /// Resident memory after free heap is given back, bytes.
    static func residentBytes() -> Int {
        if let trim = dlsym(nil, "malloc_trim") {
            _ = unsafeBitCast(trim, to: (@convention(c) (Int) -> Int32).self)(0)
        }
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8),
            let pages = text.split(separator: " ").dropFirst().first.flatMap({ Int($0) })
        else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
