public import BreakerCore
public import BreakerOwner
import BreakerReports
import BreakerRuntime
import BreakerStore
public import CoreMetrics
import Foundation
public import Logging
import PostgresNIO
public import ServiceLifecycle

/// A node of a fleet (SPEC §14): it publishes its rare facts to the fleet's PostgreSQL, holds a
/// lease, votes, begins and ends episodes, and applies the fleet's entries to its own breaker.
///
/// It runs as one more service of the owner's group, and never on a call's path: calls are
/// decided by the breaker in memory, and this service reads what the log has made durable. Every
/// PostgreSQL operation has its own deadline; while PostgreSQL cannot be reached the node goes on
/// deciding on its own evidence, and afterwards it publishes from its cursor and applies what it
/// missed — nothing lost, nothing twice.
public final class FleetNode: Service, Sendable {
    /// How to join.
    public struct Options: Sendable {
        public var endpoint: FleetEndpoint
        /// This node's name, unique in the fleet.
        public var node: NodeID
        /// The deadline of every PostgreSQL operation.
        public var deadline: Duration = .seconds(2)
        public var logger = Logger(label: "tenant-breaker.fleet")
        /// Where `agent_circuit_breaker_fleet_errors_total`, `agent_circuit_breaker_fleet_connected`
        /// and `agent_circuit_breaker_fleet_statements_total` go.
        public var metricsFactory: any MetricsFactory = MetricsSystem.factory
        /// Whether the node listens for the fleet's notifications. Without them it learns of
        /// episodes and actions by its poll every `fleet.pollMs` alone: `bench fleet` measures that
        /// backstop this way. A node in service always listens.
        public var listensForNotifications = true

        public init(endpoint: FleetEndpoint, node: NodeID) {
            self.endpoint = endpoint
            self.node = node
        }
    }

    /// Whether the node can reach the fleet now (`/readyz`, metrics).
    public var isConnected: Bool { state.withLock { $0.connected } }

    /// This node's name in the fleet.
    public var name: NodeID { options.node }

    /// The statements this node has sent to the fleet's PostgreSQL since it started.
    public var statementsSent: Int { statements.value }

    let options: Options
    let store: EventStore
    let storePath: String
    let breaker: CircuitBreaker
    /// Rings when the local log makes a record other than a call durable: a fact to publish.
    let records: RecordBell
    let state = Locked(State())
    /// Wakes the delivery loop (a notification, or a publish that began an episode).
    let deliveryBell = Bell()
    /// PostgreSQL operations that failed.
    let errorsTotal: any CounterHandler
    /// 1 while the fleet answers, else 0.
    let connectedGauge: any RecorderHandler
    /// Every statement sent, on every connection of the node.
    let statements: StatementCount

    struct State {
        var connected = false
        var lastErrorLog: ContinuousClock.Instant?
        /// The last fleet entry applied and durable in this node's log.
        var appliedDurable: Int64 = 0
        /// The delivery loop has read the fleet's log to its end once.
        var caughtUp = false
        /// Joining failed once: PostgreSQL is unreachable, the node decides alone.
        var joinFailed = false
    }

    /// The fleet's notification channel.
    static let channel = "tenantbreaker_fleet"

    public init(owner: StoreOwner, storePath: String, options: Options) {
        self.options = options
        self.store = owner.store
        self.storePath = storePath
        self.breaker = owner.breaker
        self.records = owner.writer.records
        let statementsTotal = options.metricsFactory.makeCounter(
            label: "agent_circuit_breaker_fleet_statements_total", dimensions: [])
        self.statements = StatementCount { statementsTotal.increment(by: Int64($0)) }
        self.errorsTotal = options.metricsFactory.makeCounter(label: "agent_circuit_breaker_fleet_errors_total", dimensions: [])
        self.connectedGauge = options.metricsFactory.makeRecorder(
            label: "agent_circuit_breaker_fleet_connected", dimensions: [], aggregate: false)
        connectedGauge.record(Int64(0))
    }

    /// The fleet's nodes and episodes as the fleet's PostgreSQL has them (`GET /v1/fleet`).
    /// - Throws: ``BreakerError`` (`fleet_unavailable`) when it does not answer within the deadline.
    public func status() async throws(BreakerError) -> FleetStatus {
        try await FleetAdmin.status(options.endpoint, deadline: options.deadline, logger: options.logger)
    }

    /// A connection of this node's own (each loop has one), its statements counted as the node's.
    func newConnection() -> FleetConnection {
        FleetConnection(endpoint: options.endpoint, deadline: options.deadline, logger: options.logger, statements: statements)
    }

    public func run() async throws {
        let joined = newConnection()
        defer { joined.drop() }
        // Joining may wait for PostgreSQL; the node decides locally meanwhile. A refusal stops it.
        guard let cursor = try await join(joined) else { return }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.publishing(joined, from: cursor) }
            group.addTask { try await self.delivering() }
            if options.listensForNotifications { group.addTask { await self.listening() } }
            group.addTask { await self.rollingUp() }
            // On a graceful shutdown every loop ends by itself (the rollup loop after its last
            // rollup); a loop that ends otherwise ends the others.
            try await group.next()
            if !Task.isShuttingDownGracefully { group.cancelAll() }
            try await group.waitForAll()
        }
        if Task.isShuttingDownGracefully { await leave(joined) }
    }

    /// A node stopping gives up its lease at once: its votes stop counting now, not at lease
    /// expiry (which is what happens to a node that is killed).
    func leave(_ connection: FleetConnection) async {
        let node = options.node.rawValue
        do {
            try await connection.perform("give up the lease") { c, logger in
                try await c.query(
                    "UPDATE fleet_nodes SET heartbeat_at = now() - make_interval(secs => lease_ms / 1000.0) WHERE node = \(node)",
                    logger: logger)
            }
            options.logger.notice("left the fleet: lease given up", metadata: ["node": "\(node)"])
        } catch {
            failed(error)
        }
    }

    // MARK: - Joining

    /// Applies the schema and claims the node name for this store; returns the published cursor,
    /// or `nil` on graceful shutdown before PostgreSQL answered.
    /// - Throws: ``BreakerError`` (`fleet_refused`) when the name is in use with another store.
    func join(_ connection: FleetConnection) async throws -> Int64? {
        let node = options.node.rawValue
        let storeID = try store.storeID()
        let path = storePath
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let claim = try await connection.perform("join the fleet") { c, logger in
                    _ = try await FleetSchema.apply(on: c, logger: logger)
                    try await c.query(
                        """
                        INSERT INTO fleet_nodes (node, store_id, store_path) VALUES (\(node), \(storeID), \(path))
                        ON CONFLICT (node) DO NOTHING
                        """, logger: logger)
                    var claim: (String, String, Int64)?
                    for try await row in try await c.query(
                        "SELECT store_id, store_path, published_seq FROM fleet_nodes WHERE node = \(node)", logger: logger
                    ).decode((String, String, Int64).self) {
                        claim = row
                    }
                    return claim
                }
                guard let (id, otherPath, published) = claim else { continue }
                guard id == storeID else {
                    throw BreakerError(
                        .fleetRefused,
                        "node name \(node) is in use in the fleet with the store \(otherPath) (id \(id)); this node's store is \(path) (id \(storeID)). Give this node another --node, or run `breakerctl fleet forget-node \(node)` if that store is lost",
                        context: ["node": node])
                }
                connected()
                options.logger.notice(
                    "joined the fleet", metadata: ["node": "\(node)", "fleet": "\(options.endpoint)", "published_seq": "\(published)"])
                return published
            } catch let error as BreakerError where error.code == .fleetUnavailable {
                state.withLock { $0.joinFailed = true }
                failed(error)
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(1)) }
            }
        }
        return nil
    }

    /// Returns once this node has applied the fleet entries it missed (SPEC §14: before it is
    /// ready), or at once when the fleet cannot be reached (it decides alone), or after `within`.
    public func caughtUp(within: Duration = .seconds(10)) async {
        let deadline = ContinuousClock.now + within
        while ContinuousClock.now < deadline, !state.withLock({ $0.caughtUp || $0.joinFailed }), !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    // MARK: - Reporting the connection

    func connected() {
        let was = state.withLock { s -> Bool in
            defer { s.connected = true }
            return s.connected
        }
        if !was {
            connectedGauge.record(Int64(1))
            options.logger.notice("the fleet's PostgreSQL answers", metadata: ["fleet": "\(options.endpoint)"])
        }
    }

    /// Logs the first failure at once, then at most every 10 s (SPEC §14).
    func failed(_ error: BreakerError) {
        let now = ContinuousClock.now
        let log = state.withLock { s -> Bool in
            s.connected = false
            guard s.lastErrorLog.map({ now - $0 >= .seconds(10) }) ?? true else { return false }
            s.lastErrorLog = now
            return true
        }
        errorsTotal.increment(by: 1)
        connectedGauge.record(Int64(0))
        if log {
            options.logger.error(
                "cannot reach the fleet; deciding on this node's own evidence until it answers",
                metadata: ["fleet": "\(options.endpoint)", "error": "\(error.message)"])
        }
    }
}

/// A wake-up for a loop that otherwise waits out its interval: one waiter at a time, woken at
/// once by a ring (a notification, or an episode this node began), at the end of the interval, or
/// when its task is cancelled or the service group shuts down (a long `pollMs` never holds up a
/// stop). A ring while nobody waits is kept for the next wait.
final class Bell: Sendable {
    private struct State {
        var rung = false
        var waiting: CheckedContinuation<Void, Never>?
        /// Tells a timer whether the wait it was set for is still the one waiting.
        var wait = 0
    }

    private let state = Locked(State())

    func ring() {
        let waiting = state.withLock { s -> CheckedContinuation<Void, Never>? in
            guard let c = s.waiting else {
                s.rung = true
                return nil
            }
            s.waiting = nil
            return c
        }
        waiting?.resume()
    }

    /// Waits until rung, `interval` has passed, or the task is cancelled or shut down.
    func wait(upTo interval: Duration) async {
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                    let wait = state.withLock { s -> Int? in
                        if s.rung {
                            s.rung = false
                            return nil
                        }
                        s.wait += 1
                        s.waiting = c
                        return s.wait
                    }
                    guard let wait else { return c.resume() }
                    let (seconds, attoseconds) = interval.components
                    let nanoseconds = Int(clamping: seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
                    DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(nanoseconds)) { [self] in
                        let due = state.withLock { s -> CheckedContinuation<Void, Never>? in
                            guard s.wait == wait, let c = s.waiting else { return nil }
                            s.waiting = nil
                            return c
                        }
                        due?.resume()
                    }
                }
            } onCancel: {
                self.ring()
            }
        } onGracefulShutdown: {
            self.ring()
        }
    }
}
