import ArgumentParser
import BreakerCLI
import BreakerCore
import BreakerFleet
import BreakerOwner
import BreakerRuntime
import BreakerServe
import BreakerStore
import Foundation
import Logging
import ServiceLifecycle

struct ServeBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "admit + complete pairs over loopback HTTP/1.1 keep-alive against an in-process serve.",
        discussion: """
            Starts serve on a new store (every call durably logged, as in production) and drives it \
            from C keep-alive connections, one thread each, over 100 tenants × 10 tools:
            - as fast as it answers for --duration seconds: pairs_per_s, p50_us and p99_us of a pair;
            - at a constant 5 000 pairs/s for --duration seconds: p99_us_at_5000, each pair's latency
              measured from the time it was meant to be sent, so a stall is not hidden.
            With --subscribers N, two more phases (--repeats times each, alternated; medians) at
            --subscriber-rate pairs/s compare /v1/admit's \
            p99 (from the intended send to the admit answer) with no streams and with N \
            /v1/events streams open (each from the latest record, as the dashboard starts):
            admit_p99_us, admit_p99_us_with_subscribers and their ratio.
            In both an operator forces a key open or releases it --actions-per-second times a second \
            (each action two records: the action and the transition), so the streams have records \
            to carry. With --keys N, the store first gets N keys (one call each, durably \
            logged).

            With --fleet URL, a second serve joins that fleet (a database of its own) beside the first: full-speed phases alternate between them (--repeats each; medians): fleet_pairs_per_s_off, fleet_pairs_per_s_on and fleet_ratio; then a phase at 5 000 pairs/s with no transitions counts what the node sends to PostgreSQL: fleet_statements_per_s_at_5000.

            With --compare-http, the same pairs at full speed go, in the same run, to a minimal \
            endpoint on the same server stack (Hummingbird with serve's HTTP/1.1 channel) that \
            answers {} without touching the breaker: http_pairs_per_s, http_p99_us and \
            ratio_to_http (pairs_per_s over http_pairs_per_s), the share of the ceiling serve reaches.

            The load generator runs on the same machine and counts against it.
            """)

    @Option(help: "Keep-alive connections.") var connections = 16
    @Option(help: ArgumentHelp("Seconds per phase.", valueName: "seconds")) var duration = 10.0
    @Option(help: "Keys the store holds before the phases (each called once).") var keys = 0
    @Option(help: "/v1/events streams open during a last, paced phase.") var subscribers = 0
    @Option(help: "Pairs per second of the two phases that compare subscribers with none.") var subscriberRate = 2000.0
    @Option(help: "Operator actions per second during those two phases.") var actionsPerSecond = 10.0
    @Option(help: "Times each of the alternated phases runs (medians compared).") var repeats = 3
    @Option(help: "Pairs per second of the paced phases (the _at_5000 figures).") var pacedRate = 5000.0
    @Flag(
        help: ArgumentHelp(
            "Also drive a minimal endpoint on the same server stack that answers {} without the breaker, and print the ratio."))
    var compareHTTP = false
    @OptionGroup var fleet: FleetOptions

    func validate() throws {
        guard (1...512).contains(connections) else { throw ValidationError("--connections must be from 1 to 512") }
        guard duration > 0, duration <= 600 else { throw ValidationError("--duration must be from 0 to 600 seconds") }
        guard (0...5_000_000).contains(keys) else { throw ValidationError("--keys must be from 0 to 5000000") }
        guard (0...1_000).contains(subscribers) else { throw ValidationError("--subscribers must be from 0 to 1000") }
        guard (1...20).contains(repeats) else { throw ValidationError("--repeats must be from 1 to 20") }
        guard actionsPerSecond > 0, actionsPerSecond <= 1000 else {
            throw ValidationError("--actions-per-second must be from 0 to 1000")
        }
        guard pacedRate >= 1, pacedRate <= 100_000 else { throw ValidationError("--paced-rate must be from 1 to 100000 pairs per second") }
        guard subscriberRate >= 1, subscriberRate <= 100_000 else {
            throw ValidationError("--subscriber-rate must be from 1 to 100000 pairs per second")
        }
    }

    func run() async throws {
        try await reportingErrors {
            let dir = try BenchStore.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let plain = try await Self.start(store: dir + "/serve.sqlite", fleet: nil)
            defer { plain.running.cancel() }
            let owner = plain.owner
            let p = plain.port
            if keys > 0 { try await Self.prefill(owner, keys: keys) }
            let full = try await Self.phase(port: p, connections: connections, seconds: duration, rate: nil)
            let paced = try await Self.phase(port: p, connections: connections, seconds: duration, rate: pacedRate)
            var subscribed = ""
            if subscribers > 0 {
                let rate = subscriberRate
                // Alternated, `repeats` times each, so that a stall of the machine (a snapshot, a
                // checkpoint, another process) falls on both sides; the medians are compared.
                var without: [Int] = []
                var with: [Int] = []
                var bytes = 0
                for _ in 0..<repeats {
                    let alone = try await Self.withOperatorEvents(owner, perSecond: actionsPerSecond) {
                        try await Self.phase(port: p, connections: connections, seconds: duration, rate: rate)
                    }
                    without.append(alone.percentile(0.99, of: \.admits))
                    let streamed = try await Self.withSubscribers(subscribers, port: p) {
                        try await Self.withOperatorEvents(owner, perSecond: actionsPerSecond) {
                            try await Self.phase(port: p, connections: connections, seconds: duration, rate: rate)
                        }
                    }
                    with.append(streamed.latencies.percentile(0.99, of: \.admits))
                    bytes += streamed.bytes
                }
                let a = without.sorted()[repeats / 2]
                let b = with.sorted()[repeats / 2]
                subscribed =
                    ",\"subscribers\":\(subscribers),\"rate\":\(Int(rate)),\"actions_per_s\":\(actionsPerSecond),\"admit_p99_us\":\(a),\"admit_p99_us_with_subscribers\":\(b),\"ratio\":\(String(format: "%.2f", Double(b) / Double(max(1, a)))),\"runs_without\":\(without),\"runs_with\":\(with),\"stream_bytes\":\(bytes)"
            }
            var fleetFigures = ""
            if let endpoint = try fleet.endpoint() {
                fleetFigures = try await fleetPhases(endpoint, plain: plain, dir: dir)
            }
            let pairs = Double(full.latencies.count) / duration
            var http = ""
            if compareHTTP {
                // The same two requests per pair, at full speed, to the same server stack without
                // the breaker: the ceiling serve's HTTP can reach on this machine.
                let ceiling = try await Self.withMinimalServer { port in
                    try await Self.phase(port: port, connections: connections, seconds: duration, rate: nil, minimal: true)
                }
                let ceilingPairs = Double(ceiling.latencies.count) / duration
                http =
                    ",\"http_pairs_per_s\":\(Int(ceilingPairs)),\"http_p99_us\":\(ceiling.percentile(0.99)),\"ratio_to_http\":\(String(format: "%.2f", pairs / max(1, ceilingPairs)))"
            }
            writeOut(
                "{\"scenario\":\"serve\",\"connections\":\(connections),\"keys\":\(keys),\"pairs_per_s\":\(Int(pairs)),\"p50_us\":\(full.percentile(0.50)),\"p99_us\":\(full.percentile(0.99)),\"p99_us_at_5000\":\(paced.percentile(0.99))\(http)\(subscribed)\(fleetFigures)}\n"
            )
        }
    }

    /// With `--fleet`: a second serve, a node of that fleet, beside the plain one. Full-speed
    /// phases alternate between the two (`--repeats` each; medians compared), then a phase at a
    /// constant 5 000 pairs/s (no transitions: every call succeeds) counts the statements the
    /// node sends to PostgreSQL.
    func fleetPhases(_ endpoint: FleetEndpoint, plain: Running, dir: String) async throws -> String {
        let name = try NodeID("bench-serve-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))")
        let node = try await Self.start(store: dir + "/fleet.sqlite", fleet: (endpoint, name))
        defer { node.running.cancel() }
        guard let fleetNode = node.fleet else { throw BenchError("no fleet node") }
        await fleetNode.caughtUp(within: .seconds(30))
        guard fleetNode.isConnected else { throw BenchError("the node could not join the fleet at \(endpoint) within 30 s") }
        var off: [Int] = []
        var on: [Int] = []
        for _ in 0..<repeats {
            off.append(try await Self.phase(port: plain.port, connections: connections, seconds: duration, rate: nil).latencies.count)
            on.append(try await Self.phase(port: node.port, connections: connections, seconds: duration, rate: nil).latencies.count)
        }
        let before = fleetNode.statementsSent
        let started = ContinuousClock.now
        let paced = try await Self.phase(port: node.port, connections: connections, seconds: duration, rate: pacedRate)
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let statements = Double(fleetNode.statementsSent - before) / seconds
        var transitions = 0
        try node.owner.store.forEachEvent(EventFilter(kinds: [.transitions], turnNames: false)) { _ in transitions += 1 }
        _ = try? await FleetAdmin.forget(node: name, endpoint)
        let a = Double(off.sorted()[repeats / 2]) / duration
        let b = Double(on.sorted()[repeats / 2]) / duration
        return
            ",\"fleet_pairs_per_s_off\":\(Int(a)),\"fleet_pairs_per_s_on\":\(Int(b)),\"fleet_ratio\":\(String(format: "%.3f", b / max(1, a))),\"fleet_runs_off\":\(off.map { Int(Double($0) / duration) }),\"fleet_runs_on\":\(on.map { Int(Double($0) / duration) }),\"fleet_p99_us_at_5000\":\(paced.percentile(0.99)),\"fleet_pairs_at_5000\":\(paced.latencies.count),\"fleet_transitions\":\(transitions),\"fleet_statements_per_s_at_5000\":\(String(format: "%.2f", statements))"
    }

    /// A serve running in this process on a new store.
    struct Running {
        var owner: StoreOwner
        var fleet: FleetNode?
        var port: Int
        var running: Task<Void, any Error>
    }

    /// Starts serve on `store` (every call durably logged, as in production), a node of `fleet`
    /// when given; returns once it listens.
    static func start(store: String, fleet: (FleetEndpoint, NodeID)?) async throws -> Running {
        var options = StoreOwner.Options(configuration: .standard)
        options.logger = Logger(label: "bench", factory: { StreamLogHandler.standardError(label: $0) })
        options.logger.logLevel = .error
        options.runsProber = false
        let registry = MetricsRegistry()
        options.metricsFactory = registry
        let owner = try StoreOwner(path: store, options: options)
        var serve = ServeOptions()
        serve.port = 0
        serve.logger = Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })
        let port = Locked<Int?>(nil)
        serve.onListening = { _, p in port.withLock { $0 = p } }
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        var fleetNode: FleetNode?
        if let (endpoint, name) = fleet {
            var fleetOptions = FleetNode.Options(endpoint: endpoint, node: name)
            fleetOptions.logger = options.logger
            fleetOptions.metricsFactory = registry
            let node = FleetNode(owner: owner, storePath: store, options: fleetOptions)
            serve.fleet = node
            services.append(.init(service: node))
            fleetNode = node
        }
        let server = BreakerServer(owner: owner, registry: registry, options: serve)
        services.append(.init(service: server.service))
        let running = Task { [services] in try await owner.run(alongside: services) }
        let deadline = ContinuousClock.now.advanced(by: .seconds(120))
        while port.withLock({ $0 }) == nil {
            guard ContinuousClock.now < deadline else { throw BenchError("serve did not start within 120 s") }
            try await Task.sleep(for: .milliseconds(20))
        }
        return Running(owner: owner, fleet: fleetNode, port: port.withLock { $0 }!, running: running)
    }

    /// Runs `body` with ``MinimalHTTPService`` listening on a loopback port.
    static func withMinimalServer<T: Sendable>(_ body: (Int) async throws -> T) async throws -> T {
        let port = Locked<Int?>(nil)
        let service = MinimalHTTPService(logger: Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })) { p in
            port.withLock { $0 = p }
        }
        let running = Task { try await service.run() }
        defer { running.cancel() }
        let deadline = ContinuousClock.now.advanced(by: .seconds(120))
        while port.withLock({ $0 }) == nil {
            guard ContinuousClock.now < deadline else { throw BenchError("the minimal HTTP server did not start within 120 s") }
            try await Task.sleep(for: .milliseconds(20))
        }
        return try await body(port.withLock { $0 }!)
    }

    /// Gives the store `keys` keys, one durably logged call each, through the owner's breaker.
    static func prefill(_ owner: StoreOwner, keys: Int) async throws {
        let tool = try ToolID("prefill")
        let turn = try TurnID("prefill")
        for i in 0..<keys {
            guard case .admitted(let permit) = owner.breaker.admit(tenant: try TenantID("bulk-\(i)"), tool: tool, turn: turn) else {
                throw BenchError("a new key did not admit its call")
            }
            _ = owner.breaker.complete(permit, .success(latencyUs: 1_000))
            if i % 10_000 == 9_999 { try await owner.breaker.flush() }
        }
        try await owner.breaker.flush()
    }

    /// Runs `body` while an operator forces a key open or releases it `perSecond` times a second.
    static func withOperatorEvents<T: Sendable>(_ owner: StoreOwner, perSecond: Double, _ body: () async throws -> T) async throws -> T {
        let operatorLoop = Task {
            let tool = try ToolID("events")
            let tenant = try TenantID("operator-target")
            var open = false
            while !Task.isCancelled {
                if open {
                    try await owner.breaker.release(tool: tool, tenant: tenant, actor: "bench", reason: "events")
                } else {
                    try await owner.breaker.forceOpen(tool: tool, tenant: tenant, hold: false, actor: "bench", reason: "events")
                }
                open.toggle()
                try await Task.sleep(for: .microseconds(Int64(1e6 / perSecond)))
            }
        }
        defer { operatorLoop.cancel() }
        return try await body()
    }

    /// Runs `body` with `count` /v1/events streams open, each read on a thread of its own; returns
    /// what `body` returned and the bytes the streams carried.
    static func withSubscribers<T: Sendable>(_ count: Int, port: Int, _ body: () async throws -> T) async throws -> (
        latencies: T, bytes: Int
    ) {
        let stop = Locked(false)
        let bytes = Locked(0)
        let open = Locked(0)
        let done = DispatchGroup()
        for _ in 0..<count {
            done.enter()
            Thread.detachNewThread {
                defer { done.leave() }
                guard let http = try? LoopbackHTTP(port: port) else { return }
                open.withLock { $0 += 1 }
                let n = (try? http.stream("/v1/events?last=1", stop: { stop.withLock { $0 } })) ?? 0
                bytes.withLock { $0 += n }
            }
        }
        let deadline = ContinuousClock.now.advanced(by: .seconds(10))
        while open.withLock({ $0 }) < count && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        guard open.withLock({ $0 }) == count else { throw BenchError("only \(open.withLock { $0 }) of \(count) streams opened") }
        let result = try await body()
        stop.withLock { $0 = true }
        _ = done.wait(timeout: .now() + 5)
        return (result, bytes.withLock { $0 })
    }

    struct Latencies {
        /// Of each pair, µs from its intended send to the complete answer.
        var latencies: [Int] = []
        /// Of each pair, µs from its intended send to the admit answer.
        var admits: [Int] = []

        func percentile(_ q: Double, of values: KeyPath<Latencies, [Int]> = \.latencies) -> Int {
            let values = self[keyPath: values]
            guard !values.isEmpty else { return 0 }
            let sorted = values.sorted()
            return sorted[min(sorted.count - 1, Int(Double(sorted.count) * q))]
        }
    }

    /// One phase: `connections` threads doing admit + complete pairs for `seconds`, each as fast as
    /// answered (`rate` nil) or at its share of `rate` pairs/s, latency from the intended send time.
    static func phase(port: Int, connections: Int, seconds: Double, rate: Double?, minimal: Bool = false) async throws -> Latencies {
        let results = Locked(Latencies())
        let failure = Locked<String?>(nil)
        let start = ContinuousClock.now.advanced(by: .milliseconds(50))
        let end = start.advanced(by: .milliseconds(Int64(seconds * 1000)))
        await withTaskGroup(of: Void.self) { group in
            for c in 0..<connections {
                group.addTask {
                    await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                        Thread.detachNewThread {
                            defer { done.resume() }
                            do {
                                let local = try pairs(
                                    port: port, connection: c, connections: connections, start: start, end: end, rate: rate,
                                    minimal: minimal)
                                results.withLock {
                                    $0.latencies.append(contentsOf: local.latencies)
                                    $0.admits.append(contentsOf: local.admits)
                                }
                            } catch {
                                failure.withLock { $0 = "\(error)" }
                            }
                        }
                    }
                }
            }
        }
        if let message = failure.withLock({ $0 }) { throw BenchError(message) }
        return results.withLock { $0 }
    }

    private static func pairs(
        port: Int, connection c: Int, connections: Int, start: ContinuousClock.Instant, end: ContinuousClock.Instant, rate: Double?,
        minimal: Bool = false
    ) throws -> Latencies {
        let http = try LoopbackHTTP(port: port)
        var out = Latencies()
        func since(_ instant: ContinuousClock.Instant) -> Int {
            let us = (ContinuousClock.now - instant).components
            return Int(us.seconds * 1_000_000 + us.attoseconds / 1_000_000_000_000)
        }
        var i = 0
        let interval = rate.map { Duration.nanoseconds(Int64(1e9 * Double(connections) / $0)) }
        var intended = start.advanced(by: interval.map { $0 * c / connections } ?? .zero)
        while true {
            if interval != nil {
                let now = ContinuousClock.now
                if intended > now { Thread.sleep(forTimeInterval: Double((intended - now).components.attoseconds) / 1e18) }
            } else {
                intended = ContinuousClock.now
            }
            guard intended < end else { break }
            let tenant = "tenant-\((c * 7919 + i) % 100)"
            let tool = "tool-\(i % 10)"
            let admitted = try http.post("/v1/admit", "{\"tenant\":\"\(tenant)\",\"tool\":\"\(tool)\",\"turn\":\"c\(c)-\(i)\"}")
            // The minimal endpoint answers {} to both requests: the same bytes go out, no permit comes back.
            let r = minimal ? nil : admitted.body.range(of: "\"permit\":\"")
            guard admitted.status == 200, minimal || r != nil else {
                throw BenchError("admit answered \(admitted.status): \(admitted.body)")
            }
            out.admits.append(since(intended))
            let permit = r.map { admitted.body[$0.upperBound...].prefix(32) } ?? Substring(String(repeating: "0", count: 32))
            let completed = try http.post("/v1/complete", "{\"permit\":\"\(permit)\",\"outcome\":\"success\"}")
            // 409: the pair took longer than the call timeout and the service recorded a timeout
            // (a loaded machine); it is still an answered pair, and its latency says so.
            guard completed.status == 200 || completed.status == 409 else {
                throw BenchError("complete answered \(completed.status): \(completed.body)")
            }
            out.latencies.append(since(intended))
            i += 1
            if let interval { intended = intended.advanced(by: interval) }
        }
        return out
    }
}
