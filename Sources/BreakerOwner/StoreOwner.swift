public import BreakerCore
public import BreakerRuntime
public import BreakerStore
public import CoreMetrics
import Foundation
public import Logging
public import ServiceLifecycle
public import UnixSignals

/// The one process that owns a store (SPEC §8), with everything an owner does in one place.
///
/// Opening it takes the store's owner lock, rebuilds the state from the log, and makes a
/// ``CircuitBreaker`` whose records go to the store's writer and whose recorded times start at
/// the log's last record. Running it (it is a swift-service-lifecycle `Service`) runs the parts
/// as one service group:
/// - the writer, which group-commits the log and writes snapshots;
/// - the inbox, which applies operator actions queued by `breakerctl force-open|release|reset`
///   within a second (and, at start, actions an earlier owner took but never recorded);
/// - the health prober of SPEC §6;
/// - the idle sweep, which gives back the memory of keys that have gone idle.
///
/// Every owner uses it: `breakerctl load`, `simulate` and `serve`, the CLI when it applies an
/// action with no owner running, and applications that embed the library:
///
/// ```swift
/// let owner = try StoreOwner(path: "breaker.sqlite", options: .init(configuration: configuration))
/// let group = ServiceGroup(services: [owner, myServer], gracefulShutdownSignals: [.sigterm], logger: logger)
/// try await group.run()          // myServer calls owner.breaker.call(tenant:tool:turn:) { … }
/// ```
///
/// On graceful shutdown the parts stop in reverse order: services run alongside first, then the
/// prober and the inbox; the writer last, after making everything durable and writing a snapshot.
public final class StoreOwner: Service, Sendable {
    /// How to open and run an owner.
    public struct Options: Sendable {
        /// The configuration of a new store (an existing store keeps its own).
        public var configuration: BreakerConfiguration?
        /// Refuse a store that already exists (`simulate`).
        public var mustCreate = false
        /// Refuse to create a new store (operator commands).
        public var mustExist = false
        /// Wall time for the log; a manual clock for simulation and tests.
        public var wallClock: any WallClock = SystemWallClock()
        /// Measures latencies, call timeouts and the prober's interval.
        public var monotonicClock: any Clock<Duration> = ContinuousClock()
        /// One line per transition; never bootstrapped here.
        public var logger = Logger(label: "tenant-breaker")
        /// Where the runtime's metrics go.
        public var metricsFactory: any MetricsFactory = MetricsSystem.factory
        /// Apply operator actions queued in the store's inbox.
        public var appliesInbox = true
        /// How often the inbox is read.
        public var inboxInterval: Duration = .milliseconds(100)
        /// Run the health prober of SPEC §6.
        public var runsProber = true
        /// How often idle keys give back their memory (``CircuitBreaker/releaseIdleKeys(batch:)``);
        /// `nil`: never.
        public var idleSweepInterval: Duration? = .seconds(10)
        /// Called with the transitions a call or action caused once they are durable.
        public var onDurableTransitions: (@Sendable ([TransitionRecord]) -> Void)? = nil
        /// Records written per transaction at most.
        public var batchSize = 4096
        /// Records between snapshots (at least).
        public var snapshotEvery = 50_000
        /// Call records held in memory while the log cannot be written (SPEC §8). Beyond it, call
        /// records are dropped and counted in a `log_gap`; transitions and actions never are.
        public var logQueueCapacity = 65_536
        /// Bound the queue by dropping call records while the log fails (live owners). A
        /// simulation keeps every record instead, and fails if the log cannot take them.
        public var dropsCallRecordsWhenFull = true
        /// How long a stopping owner keeps retrying a failing log before giving up.
        public var closeTimeout: Duration = .seconds(30)

        public init(configuration: BreakerConfiguration? = nil) {
            self.configuration = configuration
        }
    }

    /// The owned store.
    public let store: EventStore
    /// The store's writer (the breaker's sink).
    public let writer: EventLogWriter
    /// The breaker, rebuilt from the store.
    public let breaker: CircuitBreaker
    /// Who this owner is in the inbox's claims: `pid N, <token>`.
    public let identity: String
    private let options: Options

    /// Opens `path` as its owner (creating it when missing, unless `mustExist`) and rebuilds.
    /// - Throws: ``BreakerError``: `store_locked` naming the running owner's pid, and every
    ///   error of ``EventStore/openOwner(path:configuration:mustCreate:mustExist:)``.
    public init(path: String, options: Options = Options()) throws(BreakerError) {
        self.options = options
        store = try EventStore.openOwner(
            path: path, configuration: options.configuration, mustCreate: options.mustCreate, mustExist: options.mustExist)
        var log = EventLogWriter.Options()
        log.batchSize = options.batchSize
        log.snapshotEvery = options.snapshotEvery
        log.capacity = options.logQueueCapacity
        log.dropsWhenFull = options.dropsCallRecordsWhenFull
        log.closeTimeout = options.closeTimeout
        log.logger = options.logger
        log.metricsFactory = options.metricsFactory
        writer = try EventLogWriter(store: store, options: log)
        breaker = CircuitBreaker(
            machine: writer.rebuilt, timeFloor: try store.latestTime(), wallClock: options.wallClock,
            monotonicClock: options.monotonicClock, sink: writer, logger: options.logger, metricsFactory: options.metricsFactory,
            onDurableTransitions: options.onDurableTransitions)
        // Snapshots are copies of the live machine between two facts, queued behind them.
        writer.machineAccess = { [weak breaker] body in breaker?.withMachineCopy(body) }
        if options.runsProber { breaker.installHTTPHealthChecks { try await HTTPHealthCheck.run($0) } }
        identity = "pid \(ProcessInfo.processInfo.processIdentifier), \(UUID().uuidString)"
    }

    /// Queues a snapshot of the live machine now, behind every fact decided so far (tests that
    /// need snapshots at chosen places in the log).
    package func queueSnapshot() {
        breaker.withMachineCopy { writer.enqueueSnapshot($0) }
    }

    /// Whether the log is being written (readiness, `breakerctl status`).
    public var health: EventLogWriter.Health { writer.health }

    /// Runs the owner's parts until graceful shutdown or cancellation.
    public func run() async throws {
        try await run(alongside: [])
    }

    /// Runs the owner's parts and `services` in one group until graceful shutdown (a signal in
    /// `gracefulShutdownSignals`, the parent's, or a service ending with
    /// `.gracefullyShutdownGroup`) or cancellation. `services` stop first, the writer last.
    public func run(
        alongside services: [ServiceGroupConfiguration.ServiceConfiguration], gracefulShutdownSignals: [UnixSignal] = []
    ) async throws {
        var parts: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: WriterService(writer: writer))]
        if options.appliesInbox { parts.append(.init(service: InboxService(owner: self, interval: options.inboxInterval))) }
        if options.runsProber { parts.append(.init(service: HealthProber(breaker: breaker, clock: options.monotonicClock))) }
        if let interval = options.idleSweepInterval { parts.append(.init(service: IdleSweeper(breaker: breaker, interval: interval))) }
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: parts + services, gracefulShutdownSignals: gracefulShutdownSignals, logger: options.logger))
        try await group.run()
    }

    /// Runs `body` with the writer running, then makes everything durable, writes the final
    /// snapshot and stops the writer (simulation, one-shot commands, tests).
    /// - Parameter finalSnapshot: `false` leaves the log as a crash would (rebuild benchmarks).
    @discardableResult
    public func withWriter<T: Sendable>(
        finalSnapshot: Bool = true, _ body: (CircuitBreaker) async throws -> T
    ) async throws -> T {
        let writer = self.writer
        let task = Task { try await writer.run() }
        let result: T
        do {
            result = try await body(breaker)
        } catch {
            writer.close(finalSnapshot: finalSnapshot)
            _ = try? await task.value
            throw error
        }
        writer.close(finalSnapshot: finalSnapshot)
        try await task.value
        return result
    }

    /// Applies every operator action queued in the inbox that this owner has not taken yet.
    ///
    /// The store claims each row and hands it over typed; a row that is not a valid request is
    /// refused there (nothing recorded, its CLI told why) and logged here. A valid one is applied
    /// through the breaker, and the writer removes the row in the transaction that makes its
    /// operator record durable. Returns the actions applied.
    @discardableResult
    public func applyInbox() throws(BreakerError) -> Int {
        let (actions, refused) = try store.claimInbox(owner: identity)
        for (id, message) in refused {
            options.logger.error("refused a queued operator action", metadata: ["inbox_id": "\(id)", "error": "\(message)"])
        }
        for item in actions {
            switch item.request {
            case .operatorAction(let action):
                breaker.apply(action)
            case .configure(let configuration, let actor, let reason):
                breaker.configure(configuration, actor: actor, reason: reason, requestID: item.id)
            }
        }
        return actions.count
    }
}

/// The writer as a service: on graceful shutdown or cancellation it makes everything durable
/// and stops.
///
/// The writer runs in a task of its own, which cancellation of the group does not reach: a
/// cancelled write would fail, and the writer would retry it until its close timeout and give up
/// with records still queued. Cancellation closes the writer instead, and waits for it.
struct WriterService: Service {
    let writer: EventLogWriter

    func run() async throws {
        let writer = self.writer
        let running = Task { try await writer.run() }
        try await withTaskCancellationHandler {
            try await withGracefulShutdownHandler {
                try await running.value
            } onGracefulShutdown: {
                writer.close()
            }
        } onCancel: {
            writer.close()
        }
    }
}

/// Gives back the memory of idle keys every `interval`.
struct IdleSweeper: Service {
    let breaker: CircuitBreaker
    let interval: Duration

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            // The wait ends at once on graceful shutdown: stopping never waits out an interval.
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            guard !Task.isShuttingDownGracefully && !Task.isCancelled else { return }
            breaker.releaseIdleKeys()
        }
    }
}

/// Reads the store's inbox every `interval` and applies what it finds (SPEC §8: within a second).
struct InboxService: Service {
    let owner: StoreOwner
    let interval: Duration

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                try owner.applyInbox()
            } catch {
                owner.breakerLogger.error("cannot read the store's inbox", metadata: ["error": "\(error.message)"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}

extension StoreOwner {
    var breakerLogger: Logger { options.logger }
}
