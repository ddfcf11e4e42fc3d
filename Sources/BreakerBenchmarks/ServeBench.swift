import ArgumentParser
import BreakerCLI
import BreakerCore
import BreakerOwner
import BreakerServe
import Foundation
import Logging
import ServiceLifecycle

struct ServeBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "admit + complete pairs over loopback HTTP/1.1 keep-alive against an in-process serve.",
        discussion: """
            Starts serve on a new store (every call durably logged, as in production) and drives it
            from C keep-alive connections, one thread each, over 100 tenants × 10 tools:
            - as fast as it answers for --duration seconds: pairs_per_s, p50_us and p99_us of a pair;
            - at a constant 5 000 pairs/s for --duration seconds: p99_us_at_5000, each pair's latency
              measured from the time it was meant to be sent, so a stall is not hidden.
            The load generator runs on the same machine and counts against it.
            """)

    @Option(help: "Keep-alive connections.") var connections = 16
    @Option(help: ArgumentHelp("Seconds per phase.", valueName: "seconds")) var duration = 10.0

    func validate() throws {
        guard (1...512).contains(connections) else { throw ValidationError("--connections must be from 1 to 512") }
        guard duration > 0, duration <= 600 else { throw ValidationError("--duration must be from 0 to 600 seconds") }
    }

    func run() async throws {
        try await reportingErrors {
            let dir = try BenchStore.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            var options = StoreOwner.Options(configuration: .standard)
            options.logger = Logger(label: "bench", factory: { StreamLogHandler.standardError(label: $0) })
            options.logger.logLevel = .warning
            options.runsProber = false
            let registry = MetricsRegistry()
            options.metricsFactory = registry
            let owner = try StoreOwner(path: dir + "/serve.sqlite", options: options)
            var serve = ServeOptions()
            serve.port = 0
            serve.logger = Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })
            let port = Locked<Int?>(nil)
            serve.onListening = { _, p in port.withLock { $0 = p } }
            let server = BreakerServer(owner: owner, registry: registry, options: serve)
            let running = Task { try await owner.run(alongside: [.init(service: server.service)]) }
            let deadline = ContinuousClock.now.advanced(by: .seconds(30))
            while port.withLock({ $0 }) == nil {
                guard ContinuousClock.now < deadline else { throw BenchError("serve did not start within 30 s") }
                try await Task.sleep(for: .milliseconds(20))
            }
            let p = port.withLock { $0 }!
            let full = try await Self.phase(port: p, connections: connections, seconds: duration, rate: nil)
            let paced = try await Self.phase(port: p, connections: connections, seconds: duration, rate: 5000)
            running.cancel()
            _ = try? await running.value
            let pairs = Double(full.latencies.count) / duration
            writeOut(
                "{\"scenario\":\"serve\",\"connections\":\(connections),\"pairs_per_s\":\(Int(pairs)),\"p50_us\":\(full.percentile(0.50)),\"p99_us\":\(full.percentile(0.99)),\"p99_us_at_5000\":\(paced.percentile(0.99))}\n"
            )
        }
    }

    struct Latencies {
        var latencies: [Int] = []
        func percentile(_ q: Double) -> Int {
            guard !latencies.isEmpty else { return 0 }
            let sorted = latencies.sorted()
            return sorted[min(sorted.count - 1, Int(Double(sorted.count) * q))]
        }
    }

    /// One phase: `connections` threads doing admit + complete pairs for `seconds`, each as fast as
    /// answered (`rate` nil) or at its share of `rate` pairs/s, latency from the intended send time.
    static func phase(port: Int, connections: Int, seconds: Double, rate: Double?) async throws -> Latencies {
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
                                    port: port, connection: c, connections: connections, start: start, end: end, rate: rate)
                                results.withLock { $0.latencies.append(contentsOf: local) }
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
        port: Int, connection c: Int, connections: Int, start: ContinuousClock.Instant, end: ContinuousClock.Instant, rate: Double?
    ) throws -> [Int] {
        let http = try LoopbackHTTP(port: port)
        var out: [Int] = []
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
            guard admitted.status == 200, let r = admitted.body.range(of: "\"permit\":\"") else {
                throw BenchError("admit answered \(admitted.status): \(admitted.body)")
            }
            let permit = admitted.body[r.upperBound...].prefix(32)
            let completed = try http.post("/v1/complete", "{\"permit\":\"\(permit)\",\"outcome\":\"success\"}")
            guard completed.status == 200 else { throw BenchError("complete answered \(completed.status): \(completed.body)") }
            let us = (ContinuousClock.now - intended).components
            out.append(Int(us.seconds * 1_000_000 + us.attoseconds / 1_000_000_000_000))
            i += 1
            if let interval { intended = intended.advanced(by: interval) }
        }
        return out
    }
}
