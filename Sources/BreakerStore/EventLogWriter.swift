public import BreakerCore
public import CoreMetrics
import Foundation
import GRDB
public import Logging
import Synchronization

/// The durable ``FactSink``: one writer task appends facts to the store with group commit.
///
/// - Group commit: a batch is written when `batchSize` facts wait, when someone waits for
///   durability (a transition), or `flushIntervalMs / 2` after the first fact of the batch
///   arrived — so call records are durable within flushIntervalMs.
/// - What survives a crash is a prefix of what was appended: batches commit in order, each in
///   one transaction; a batch stays at the head of the queue until it has committed.
/// - When the log cannot be written (disk full, I/O error) the writer keeps the facts, retries
///   with back-off, counts every failed attempt (`agent_circuit_breaker_log_errors_total`), logs
///   it, and publishes its ``Health`` (for `breakerctl status` and readiness). Facts are never
///   dropped, except call records beyond ``Options/capacity`` while failing (or beyond four times
///   it at any time) when ``Options/dropsWhenFull``: those are counted, and a `log_gap` record
///   says how many once writing resumes (SPEC §8). It goes where the drops end, with the live
///   machine's state of every key a dropped record named, read between two facts: a replay of the
///   log reaches the live state again at the gap (``LogGapRecord``).
/// - Snapshots are the live machine's state between two facts (``machineAccess``), queued behind
///   those facts and written at exactly their seq: no second copy of the state is folded here. A
///   snapshot closes an open gap first, so that no snapshot holds what the log never received.
/// - A background checkpointer keeps the WAL bounded without checkpointing inside COMMIT.
public final class EventLogWriter: FactSink {
    /// How the writer batches, bounds its queue and gives up.
    public struct Options: Sendable {
        /// Facts written per transaction (a batch may take up to four times this when behind).
        public var batchSize = 4096
        /// Call records queued before producers are asked to wait (and, with
        /// ``dropsWhenFull``, before call records are dropped while the log fails).
        public var capacity = 65_536
        /// Bound the queue by dropping call records (counted in a `log_gap`) instead of holding
        /// them all: what a live owner does. Simulation and benchmarks keep everything.
        public var dropsWhenFull = false
        /// Records between snapshots (at least).
        public var snapshotEvery = 50_000
        /// How long ``close(finalSnapshot:)`` keeps retrying a failing log before giving up.
        public var closeTimeout: Duration = .seconds(30)
        /// The first wait before retrying a failed write; it doubles up to ``maxRetryInterval``.
        public var retryInterval: Duration = .milliseconds(50)
        /// The longest wait between retries.
        public var maxRetryInterval: Duration = .seconds(1)
        /// Where failures and recoveries are logged.
        public var logger = Logger(label: "tenant-breaker.log")
        /// Where `agent_circuit_breaker_log_errors_total` and `agent_circuit_breaker_log_dropped_total` go.
        public var metricsFactory: any MetricsFactory = MetricsSystem.factory

        public init() {}
    }

    /// Whether the log is being written, and what it has cost so far.
    public struct Health: Sendable, Hashable, CustomStringConvertible {
        /// The last write failed and the writer is retrying.
        public var failing = false
        /// When the current failure began (wall time).
        public var failingSince: Timestamp?
        /// The last write error.
        public var lastError: String?
        /// Failed write attempts since the writer started.
        public var errors: UInt64 = 0
        /// Call records dropped since the writer started (each recorded in a `log_gap`).
        public var droppedCalls: UInt64 = 0

        /// One line: `log ok` or `log failing since …: error (N errors, M call records dropped)`.
        public var description: String {
            guard failing else {
                return errors == 0 ? "log ok" : "log ok (\(errors) write errors, \(droppedCalls) call records dropped since start)"
            }
            return
                "log failing since \(failingSince?.iso8601 ?? "?"): \(lastError ?? "?") (\(errors) write errors, \(droppedCalls) call records dropped)"
        }
    }

    struct Waiter {
        let id: UInt64
        let target: UInt64
        let continuation: CheckedContinuation<Bool, any Error>
    }

    struct CapacityWaiter {
        let id: UInt64
        let continuation: CheckedContinuation<Void, Never>
    }

    struct State {
        /// Keys introduced and not yet durable (written at the start of the next batch).
        var keys: [BreakerKey] = []
        /// Facts (and snapshots) not yet durable are `queue[head...]`.
        var queue: [QueueItem] = []
        var head = 0
        var queuedCalls = 0
        /// The `log_gap` still counting drops, and the keys its dropped records named; it is
        /// queued when the drops end (``EventLogWriter/closeGap(_:)``).
        var gap: LogGapRecord?
        var gapKeys: Set<KeyRef> = []
        /// The time of the last fact appended, kept or dropped (where a gap is placed).
        var lastTime = Timestamp(milliseconds: .min)
        var appended: UInt64 = 0
        var durable: UInt64 = 0
        var nextWaiter: UInt64 = 0
        var durableWaiters: [Waiter] = []
        var capacityWaiters: [CapacityWaiter] = []
        /// Waits begun and not yet finished: an end (timeout, cancellation) for any other id is
        /// ignored, so that one arriving after its wait finished leaves nothing behind.
        var open: Set<UInt64> = []
        /// Open waits that ended (timed out, cancelled) before they were registered.
        var ended: Set<UInt64> = []
        var wake: CheckedContinuation<Void, Never>?
        var urgent = false
        var stopping = false
        var closeDeadline: ContinuousClock.Instant?
        var firstPending: ContinuousClock.Instant?
        var finalSnapshot = true
        var health = Health()
        /// Set when the writer gave up (a failing log at close): waits fail with it.
        var terminal: BreakerError?
        /// A snapshot has been asked of the breaker and not yet written.
        var snapshotQueued = false

        var pending: Int { queue.count - head }
    }

    let state = Locked(State())
    let encoder: Locked<RowEncoder>
    let store: EventStore
    /// Rings when records other than calls are durable (the event stream waits on it).
    public let records = RecordBell()
    let checkpointer: DatabaseQueue?
    let options: Options
    let flushInterval: Duration
    let errorsCounter: Counter
    let droppedCounter: Counter
    /// WAL frames the background checkpointer last saw; the writer restarts the WAL past a limit.
    let walFrames = WALGauge()
    /// WAL frames (4 KiB pages) beyond which the writer restarts the log: it stays about 64 MiB.
    static let walRestartFrames = 16_384

    /// Facts written per transaction at most.
    public var batchSize: Int { options.batchSize }
    /// Call records queued before producers wait.
    public var capacity: Int { options.capacity }

    /// The machine rebuilt from the store when the writer opened (start the runtime from it).
    public let rebuilt: BreakerMachine
    /// Records replayed after the latest snapshot to rebuild.
    public let replayedOnOpen: Int

    /// Calls its argument with the live machine between two facts, under the breaker's lock —
    /// `{ body in breaker.withMachineCopy(body) }`: for snapshots (when one is due, and the final
    /// one at close) and for the key states a `log_gap` keeps. Without it, no snapshots are
    /// written and gaps keep no key states.
    package var machineAccess: (@Sendable (_ body: (BreakerMachine) -> Void) -> Void)? {
        get { access.withLock { $0 } }
        set { access.withLock { $0 = newValue } }
    }
    private let access = Locked<(@Sendable (_ body: (BreakerMachine) -> Void) -> Void)?>(nil)

    /// Opens the writer of an owned store: rebuilds the machine and loads the dictionaries.
    public init(store: EventStore, options: Options = Options()) throws(BreakerError) {
        guard store.isOwner else {
            throw BreakerError(.storeUnavailable, "only the owner of \(store.path) can write to it", context: ["path": store.path])
        }
        self.store = store
        self.options = options
        self.errorsCounter = Counter(label: "agent_circuit_breaker_log_errors_total", factory: options.metricsFactory)
        self.droppedCounter = Counter(label: "agent_circuit_breaker_log_dropped_total", factory: options.metricsFactory)
        let (machine, lastSeq, replayed) = try store.rebuild()
        self.rebuilt = machine
        // The configuration in force at the end of the log (SPEC §2): a change of
        // flushIntervalMs takes effect when an owner opens the store.
        self.flushInterval = .milliseconds(machine.configuration.runtime.flushIntervalMs)
        self.replayedOnOpen = replayed
        self.encoder = Locked(try Self.encoder(store, lastSeq: lastSeq, snapshotEvery: options.snapshotEvery))
        var config = Configuration()
        config.busyMode = .timeout(1)
        self.checkpointer = try? DatabaseQueue(path: store.path, configuration: config)
    }

    /// Opens the writer with the classic parameters.
    public convenience init(store: EventStore, batchSize: Int = 4096, capacity: Int = 65_536, snapshotEvery: Int = 50_000)
        throws(BreakerError)
    {
        var options = Options()
        options.batchSize = batchSize
        options.capacity = capacity
        options.snapshotEvery = snapshotEvery
        try self.init(store: store, options: options)
    }

    static func encoder(_ store: EventStore, lastSeq: Int64, snapshotEvery: Int) throws(BreakerError) -> RowEncoder {
        var encoder = RowEncoder(lastSeq: lastSeq, snapshotEvery: snapshotEvery)
        do {
            try store.db.read { db in try encoder.load(db) }
        } catch {
            throw EventStore.storeError(error, path: store.path)
        }
        return encoder
    }

    /// The log's health now.
    public var health: Health { state.withLock { $0.health } }

    /// Room in the writer's queue, in records (for tests of its bounds).
    package var queueCapacity: Int { state.withLock { $0.queue.capacity } }

    /// Turns the writer holds in memory (recent ones; for tests of its bounds).
    package var cachedTurns: Int { encoder.withLock { $0.turns.count } }

    // MARK: - FactSink

    public func append(keys: ArraySlice<BreakerKey>, facts: ArraySlice<Fact>) {
        let wake = state.withLock { s -> CheckedContinuation<Void, Never>? in
            let wasEmpty = s.pending == 0
            s.keys.append(contentsOf: keys)
            // Facts come in time order: the last one's time is where a gap closed now would sit.
            if let last = facts.last { s.lastTime = last.time }
            for fact in facts {
                if case .call(let f) = fact, options.dropsWhenFull,
                    s.queuedCalls >= options.capacity && s.health.failing || s.queuedCalls >= options.capacity * 4
                {
                    drop(f, &s)
                    continue
                }
                s.queue.append(.fact(fact))
                s.appended += 1
                if case .call = fact { s.queuedCalls += 1 }
            }
            if wasEmpty { s.firstPending = .now }
            if s.pending >= options.batchSize || s.urgent || wasEmpty {
                defer { s.wake = nil }
                return s.wake
            }
            return nil
        }
        wake?.resume()
    }

    /// Counts a dropped call record in the open `log_gap` (opening one where the drops begin).
    private func drop(_ r: CallFact, _ s: inout State) {
        s.health.droppedCalls += 1
        droppedCounter.increment()
        s.gapKeys.insert(r.key)
        if s.gap == nil {
            s.gap = LogGapRecord(from: r.time, to: r.time, dropped: 1)
        } else {
            s.gap!.to = r.time
            s.gap!.dropped += 1
        }
    }

    /// Queues `machine` — a copy taken under the breaker's lock, between two facts — to be
    /// written as the snapshot at the seq of the last fact before it, behind the open gap.
    package func enqueueSnapshot(_ machine: BreakerMachine) {
        state.withLock { s in
            queueGap(keeping: machine, &s)
            s.queue.append(.snapshot(machine))
            s.snapshotQueued = true
        }
    }

    /// Queues the open gap, if any, with the states `machine` — the live machine between two
    /// facts, under the breaker's lock — has for the keys its dropped records named.
    package func closeGap(_ machine: BreakerMachine?) {
        state.withLock { s in queueGap(keeping: machine, &s) }
    }

    /// Closes the open gap through ``machineAccess`` (or without key states when there is none).
    func closeGap() {
        guard state.withLock({ $0.gap != nil }) else { return }
        if let machineAccess {
            machineAccess { closeGap($0) }
        } else {
            closeGap(nil)
        }
    }

    private func queueGap(keeping machine: BreakerMachine?, _ s: inout State) {
        guard var gap = s.gap else { return }
        gap.time = max(s.lastTime, gap.to)
        gap.keys = machine?.snapshotKeys(s.gapKeys)
        s.queue.append(.fact(.logGap(gap)))
        s.appended += 1
        if s.pending == 1 { s.firstPending = .now }
        s.gap = nil
        s.gapKeys = []
    }

    /// Stops the writer: everything appended so far is written, then a final snapshot. While the
    /// log fails, the writer keeps retrying for `closeTimeout`, then gives up and ``run()`` throws.
    /// Call it after the last append; ``run()`` returns once done.
    /// - Parameter finalSnapshot: `false` leaves the log as a crash would (benchmarks of rebuild).
    public func close(finalSnapshot: Bool = true) {
        // The final snapshot goes behind the last facts, so the next rebuild reads no tail; an
        // open gap is queued before it (or alone, without a final snapshot).
        if !isStopping {
            if finalSnapshot, let machineAccess {
                machineAccess { enqueueSnapshot($0) }
            } else {
                closeGap()
            }
        }
        let (wake, capacity) = state.withLock { s -> (CheckedContinuation<Void, Never>?, [CheckedContinuation<Void, Never>]) in
            if !s.stopping { s.closeDeadline = ContinuousClock.now.advanced(by: options.closeTimeout) }
            s.stopping = true
            s.finalSnapshot = finalSnapshot
            defer {
                s.wake = nil
                s.capacityWaiters.removeAll()
            }
            return (s.wake, s.capacityWaiters.map(\.continuation))
        }
        wake?.resume()
        for c in capacity { c.resume() }
    }

    /// The number of facts appended and the number durable so far.
    public var counts: (appended: UInt64, durable: UInt64) { state.withLock { ($0.appended, $0.durable) } }
}

/// The WAL size the background checkpointer last saw, in frames.
final class WALGauge: Sendable {
    let frames = Atomic<Int>(0)
}
