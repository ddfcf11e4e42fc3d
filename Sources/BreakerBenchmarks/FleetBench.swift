import ArgumentParser
import BreakerCLI
import BreakerCore
import BreakerFleet
import BreakerOwner
import BreakerRuntime
import BreakerStore
import Foundation
import Logging
import ServiceLifecycle

struct FleetBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fleet",
        abstract: "How fast an episode crosses the fleet: three in-process nodes on one PostgreSQL.",
        discussion: """
            Starts three nodes (each a store of its own and a fleet node, in this process) on the fleet at --fleet, with fleetQuorum 1. The first opens a new key --episodes times, one after another; each time, the episode it begins reaches the two others. Timed: from the first node's open durable in its log to the fleet record durable in each other node's log, both seen when the write that made them durable rings its log.

            Two rounds: with notifications (notified_p50_ms, notified_p99_ms), and with the nodes not listening, so that only the poll every --poll-ms delivers (polled_p50_ms, polled_p99_ms, polled_max_ms).

            Give it a database of its own (`createdb breaker_bench`): its nodes join it under names of their own, and forget them at the end.
            """)

    @OptionGroup var fleet: FleetOptions
    @Option(help: "Episodes timed with notifications.") var episodes = 100
    @Option(help: "Episodes timed with the poll alone.") var polledEpisodes = 20
    @Option(help: ArgumentHelp("fleet.pollMs of the nodes.", valueName: "ms")) var pollMs: Int64 = 1000

    func validate() throws {
        guard (1...10_000).contains(episodes) else { throw ValidationError("--episodes must be from 1 to 10000") }
        guard (0...1_000).contains(polledEpisodes) else { throw ValidationError("--polled-episodes must be from 0 to 1000") }
        guard (100...60_000).contains(pollMs) else { throw ValidationError("--poll-ms must be from 100 to 60000") }
    }

    func run() async throws {
        try await reportingErrors {
            let endpoint = try fleet.requiredEndpoint()
            let notified = try await Self.propagation(endpoint, episodes: episodes, pollMs: pollMs, listening: true)
            let polled =
                polledEpisodes > 0 ? try await Self.propagation(endpoint, episodes: polledEpisodes, pollMs: pollMs, listening: false) : []
            func ms(_ values: [Double], _ q: Double) -> String {
                guard !values.isEmpty else { return "null" }
                let sorted = values.sorted()
                return String(format: "%.1f", sorted[min(sorted.count - 1, Int(Double(sorted.count) * q))])
            }
            writeOut(
                "{\"scenario\":\"fleet\",\"nodes\":3,\"episodes\":\(episodes),\"deliveries\":\(notified.count),\"notified_p50_ms\":\(ms(notified, 0.5)),\"notified_p99_ms\":\(ms(notified, 0.99)),\"poll_ms\":\(pollMs),\"polled_episodes\":\(polledEpisodes),\"polled_p50_ms\":\(ms(polled, 0.5)),\"polled_p99_ms\":\(ms(polled, 0.99)),\"polled_max_ms\":\(polled.max().map { String(format: "%.1f", $0) } ?? "null")}\n"
            )
        }
    }

    /// One round: three nodes on new stores; the first opens `episodes` keys one after another,
    /// waiting each time for both others. Returns each delivery's time in ms.
    static func propagation(_ endpoint: FleetEndpoint, episodes: Int, pollMs: Int64, listening: Bool) async throws -> [Double] {
        let dir = try BenchStore.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let run = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        let configuration = try BreakerConfiguration(
            json: """
                {"defaults": {"failureThreshold": 1, "openTimeoutMs": 3600000, "fleetQuorum": 1}, "fleet": {"pollMs": \(pollMs)}}
                """)
        // Per tenant: when its open was durable on the first node, and on each other node.
        let opened = Locked([String: ContinuousClock.Instant]())
        let arrived = Locked([String: [ContinuousClock.Instant]]())
        var owners: [StoreOwner] = []
        var nodes: [FleetNode] = []
        for i in 0..<3 {
            var options = StoreOwner.Options(configuration: configuration)
            options.logger = quietLogger
            options.runsProber = false
            let path = dir + "/n\(i + 1).sqlite"
            let owner = try StoreOwner(path: path, options: options)
            var fleetOptions = FleetNode.Options(endpoint: endpoint, node: try NodeID("bench-\(run)-n\(i + 1)"))
            fleetOptions.logger = quietLogger
            fleetOptions.listensForNotifications = listening
            owners.append(owner)
            nodes.append(FleetNode(owner: owner, storePath: path, options: fleetOptions))
        }
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: zip(owners, nodes).map { .init(service: NodeService(owner: $0, node: $1)) }, logger: quietLogger))
        let running = Task { try await group.run() }
        // Each record timed is noted when the write that made it durable rings its log's bell: the
        // first node's opens, the others' fleet records.
        let (first, others) = (owners[0], Array(owners.dropFirst()))
        var watchers: [Task<Void, Never>] = [
            Task {
                await Self.note(first, kinds: .transitions) { event, now in
                    guard case .transition(let t) = event, t.to == .open, t.cause != .fleetQuorum else { return }
                    opened.withLock { $0[t.tenant.rawValue] = now }
                }
            }
        ]
        for owner in others {
            watchers.append(
                Task {
                    await Self.note(owner, kinds: .fleet) { event, now in
                        guard case .fleet(let f) = event else { return }
                        arrived.withLock { $0[f.tenant.rawValue, default: []].append(now) }
                    }
                })
        }
        defer { running.cancel() }
        for node in nodes {
            await node.caughtUp(within: .seconds(30))
            guard node.isConnected else { throw BenchError("a node could not join the fleet at \(endpoint) within 30 s") }
        }

        let tool = try ToolID("search")
        let breaker = first.breaker
        let wait = Duration.milliseconds(pollMs * 3) + .seconds(10)
        for e in 0..<episodes {
            let tenant = "bench-\(run)-\(e)"
            guard case .admitted(let permit) = breaker.admit(tenant: try TenantID(tenant), tool: tool, turn: try TurnID("t\(e)")) else {
                throw BenchError("the first call of \(tenant) was not admitted")
            }
            _ = breaker.complete(permit, .failure(errorType: try ErrorType("VendorDown"), latencyUs: 1_000))
            let deadline = ContinuousClock.now + wait
            while arrived.withLock({ $0[tenant]?.count ?? 0 }) < 2 {
                guard ContinuousClock.now < deadline else {
                    throw BenchError("episode \(e) did not reach both other nodes within \(wait)")
                }
                try await Task.sleep(for: .milliseconds(1))
            }
        }
        for w in watchers { w.cancel() }
        await group.triggerGracefulShutdown()
        _ = try? await running.value
        for node in nodes { _ = try? await FleetAdmin.forget(node: node.name, endpoint) }

        let (starts, ends) = (opened.withLock { $0 }, arrived.withLock { $0 })
        return ends.flatMap { tenant, instants in
            instants.compactMap { instant -> Double? in
                guard let start = starts[tenant] else { return nil }
                let d = (instant - start).components
                return Double(d.seconds) * 1000 + Double(d.attoseconds) / 1e15
            }
        }
    }

    /// Hands `body` each record of `kinds` in `owner`'s log with the instant it was seen durable:
    /// woken by the writer's bell after each commit, it reads what is new.
    static func note(
        _ owner: StoreOwner, kinds: EventKinds, _ body: @Sendable (BreakerEvent, ContinuousClock.Instant) -> Void
    ) async {
        let bell = owner.writer.records
        let waiter = bell.waiter()
        defer { waiter.leave() }
        var after: Int64 = 0
        while !Task.isCancelled && !bell.stopped {
            let rung = bell.seq
            let now = ContinuousClock.now
            try? owner.store.forEachEvent(EventFilter(afterSeq: after, kinds: kinds, turnNames: false)) { e in
                after = max(after, e.seq)
                body(e.event, now)
            }
            await waiter.wait(after: rung, timeout: .milliseconds(100))
        }
    }

    /// A store's owner with its fleet node, run as one service of the bench's group, so that the
    /// group's graceful shutdown reaches both (each node gives up its lease).
    struct NodeService: Service {
        let owner: StoreOwner
        let node: FleetNode

        func run() async throws {
            try await owner.run(alongside: [.init(service: node)])
        }
    }
}
