public import BreakerCore
import GRDB
import Synchronization

/// The durable ``EventSink``: one writer task appends facts to the store with group commit.
///
/// - Group commit: a batch is written when `batchSize` facts wait, when someone waits for
///   durability (a transition), or `flushIntervalMs / 2` after the first fact of the batch
///   arrived — so call records are durable within flushIntervalMs.
/// - Backpressure: the queue is bounded by `capacity`; producers wait in
///   ``waitForCapacity()``; nothing is ever dropped.
/// - What survives a crash is a prefix of what was appended: batches commit in order, each in
///   one transaction.
/// - A background checkpointer keeps the WAL bounded without checkpointing inside COMMIT.
public final class EventLogWriter: EventSink {
    struct State {
        var queue: [BreakerEvent] = []
        var appended: UInt64 = 0
        var durable: UInt64 = 0
        var durableWaiters: [(target: UInt64, continuation: CheckedContinuation<Void, any Error>)] = []
        var capacityWaiters: [CheckedContinuation<Void, Never>] = []
        var wake: CheckedContinuation<Void, Never>?
        var urgent = false
        var failure: BreakerError?
        var stopping = false
        var firstPending: ContinuousClock.Instant?
        var finalSnapshot = true
    }

    private let state = Locked(State())
    private let encoder: Locked<RowEncoder>
    private let store: EventStore
    private let checkpointer: DatabaseQueue?
    /// Facts written per transaction at most.
    public let batchSize: Int
    /// Facts waiting at most before producers are held back.
    public let capacity: Int
    private let flushInterval: Duration
    /// WAL frames the background checkpointer last saw; the writer restarts the WAL past a limit.
    private let walFrames = WALGauge()
    /// WAL frames (4 KiB pages) beyond which the writer restarts the log: it stays about 64 MiB.
    static let walRestartFrames = 16_384

    /// The machine rebuilt from the store when the writer opened (start the runtime from it).
    public let rebuilt: BreakerMachine
    /// Records replayed after the latest snapshot to rebuild.
    public let replayedOnOpen: Int

    /// Opens the writer of an owned store: rebuilds the machine and loads the dictionaries.
    public init(store: EventStore, batchSize: Int = 4096, capacity: Int = 65_536, snapshotEvery: Int = 50_000) throws(BreakerError) {
        guard store.isOwner else {
            throw BreakerError(.storeUnavailable, "only the owner of \(store.path) can write to it", context: ["path": store.path])
        }
        self.store = store
        self.batchSize = batchSize
        self.capacity = capacity
        self.flushInterval = .milliseconds(store.configuration.runtime.flushIntervalMs)
        let (machine, lastSeq, replayed) = try store.rebuild()
        self.rebuilt = machine
        self.replayedOnOpen = replayed
        var encoder = RowEncoder(shadow: machine, lastSeq: lastSeq, snapshotEvery: snapshotEvery)
        do {
            try store.db.read { db in try encoder.load(db) }
        } catch {
            throw EventStore.storeError(error, path: store.path)
        }
        self.encoder = Locked(encoder)
        var config = Configuration()
        config.busyMode = .timeout(1)
        self.checkpointer = try? DatabaseQueue(path: store.path, configuration: config)
    }

    // MARK: - EventSink

    public func append(contentsOf events: [BreakerEvent]) {
        let wake = state.withLock { s -> CheckedContinuation<Void, Never>? in
            if s.queue.isEmpty { s.firstPending = .now }
            s.queue.append(contentsOf: events)
            s.appended += UInt64(events.count)
            if s.queue.count >= batchSize || s.urgent {
                defer { s.wake = nil }
                return s.wake
            }
            if s.queue.count == events.count {
                defer { s.wake = nil }
                return s.wake
            }
            return nil
        }
        wake?.resume()
    }

    public func waitUntilDurable() async throws {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
            let (ready, failure, wake) = state.withLock { s -> (Bool, BreakerError?, CheckedContinuation<Void, Never>?) in
                if let f = s.failure { return (false, f, nil) }
                if s.durable >= s.appended { return (true, nil, nil) }
                s.durableWaiters.append((s.appended, c))
                s.urgent = true
                defer { s.wake = nil }
                return (false, nil, s.wake)
            }
            if let failure {
                c.resume(throwing: failure)
            } else if ready {
                c.resume()
            }
            wake?.resume()
        }
    }

    public func waitForCapacity() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { s -> Bool in
                if s.queue.count < capacity || s.failure != nil || s.stopping { return true }
                s.capacityWaiters.append(c)
                return false
            }
            if ready { c.resume() }
        }
    }

    // MARK: - The writer loop

    /// Runs the writer until ``close()``; then writes what is left and a final snapshot.
    /// - Throws: the first error that made the log stop accepting facts.
    public func run() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            if let checkpointer {
                let frames = walFrames
                group.addTask {
                    await Self.checkpointLoop(checkpointer, frames: frames, stop: { [weak self] in self?.isStopping ?? true })
                }
            }
            defer { group.cancelAll() }
            try await writeLoop()
        }
    }

    private var isStopping: Bool { state.withLock { $0.stopping } }

    private func writeLoop() async throws {
        while true {
            await waitForWork()
            let (stopping, urgent, count, first) = state.withLock { ($0.stopping, $0.urgent, $0.queue.count, $0.firstPending) }
            if count == 0 {
                if stopping { break }
                continue
            }
            if !stopping && !urgent && count < batchSize, let first {
                await sleepOrWake(until: first.advanced(by: flushInterval / 2))
            }
            let batch = state.withLock { s -> [BreakerEvent] in
                let take = min(s.queue.count, batchSize * 4)
                let b = Array(s.queue[0..<take])
                s.queue.removeFirst(take)
                s.urgent = s.durableWaiters.contains { $0.target > s.durable + UInt64(take) }
                s.firstPending = s.queue.isEmpty ? nil : .now
                return b
            }
            do {
                try await store.db.write { db in
                    try self.encoder.withLock { try $0.write(batch, db) }
                }
            } catch {
                let failure = EventStore.storeError(error, path: store.path)
                fail(failure)
                throw failure
            }
            let (ready, capacityReady) = state.withLock {
                s -> ([CheckedContinuation<Void, any Error>], [CheckedContinuation<Void, Never>]) in
                s.durable += UInt64(batch.count)
                let durable = s.durable
                let ready = s.durableWaiters.filter { $0.target <= durable }.map(\.continuation)
                s.durableWaiters.removeAll { $0.target <= durable }
                var cap: [CheckedContinuation<Void, Never>] = []
                if s.queue.count < capacity {
                    cap = s.capacityWaiters
                    s.capacityWaiters.removeAll()
                }
                return (ready, cap)
            }
            for c in ready { c.resume() }
            for c in capacityReady { c.resume() }
            // Under sustained writes the log never drains by itself: restart it once it is large.
            // The background checkpointer has already copied most frames, so this is short.
            if walFrames.frames.load(ordering: .relaxed) > Self.walRestartFrames {
                walFrames.frames.store(0, ordering: .relaxed)
                _ = try? await store.db.writeWithoutTransaction { try $0.checkpoint(.restart) }
            }
        }
        do {
            if state.withLock({ $0.finalSnapshot }) {
                try await store.db.write { db in try self.encoder.withLock { try $0.writeSnapshot(db) } }
            }
            if let checkpointer {
                _ = try await checkpointer.writeWithoutTransaction { try $0.checkpoint(.truncate) }
            }
            // A cleanly closed store leaves WAL mode, so it can be read from read-only media
            // (a WAL database needs a writable -shm beside it). The next owner turns WAL back on.
            try? checkpointer?.close()
            (store.db as? DatabasePool)?.releaseMemory()
            _ = try? await store.db.writeWithoutTransaction { try $0.execute(sql: "PRAGMA journal_mode = DELETE") }
        } catch {
            let failure = EventStore.storeError(error, path: store.path)
            fail(failure)
            throw failure
        }
    }

    private func fail(_ failure: BreakerError) {
        let (waiters, caps) = state.withLock { s in
            s.failure = failure
            defer {
                s.durableWaiters.removeAll()
                s.capacityWaiters.removeAll()
            }
            return (s.durableWaiters.map(\.continuation), s.capacityWaiters)
        }
        for w in waiters { w.resume(throwing: failure) }
        for c in caps { c.resume() }
    }

    private func waitForWork() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { s -> Bool in
                if !s.queue.isEmpty || s.stopping { return true }
                s.wake = c
                return false
            }
            if ready { c.resume() }
        }
    }

    private func sleepOrWake(until deadline: ContinuousClock.Instant) async {
        let timer = Task {
            try? await ContinuousClock().sleep(until: deadline)
            let c = self.state.withLock { s -> CheckedContinuation<Void, Never>? in
                defer { s.wake = nil }
                return s.wake
            }
            c?.resume()
        }
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { s -> Bool in
                if s.urgent || s.stopping || s.queue.count >= batchSize || ContinuousClock.now >= deadline { return true }
                s.wake = c
                return false
            }
            if ready { c.resume() }
        }
        timer.cancel()
    }

    /// Copies WAL frames into the database in the background (PASSIVE: never blocks the writer),
    /// back to back while it lags, every 250 ms once caught up.
    private static func checkpointLoop(_ queue: DatabaseQueue, frames: WALGauge, stop: @escaping @Sendable () -> Bool) async {
        while !Task.isCancelled && !stop() {
            let result = try? await queue.writeWithoutTransaction { try $0.checkpoint(.passive) }
            if let result { frames.frames.store(result.walFrameCount, ordering: .relaxed) }
            let lagging = result.map { $0.checkpointedFrameCount < $0.walFrameCount } ?? false
            try? await Task.sleep(for: .milliseconds(lagging ? 2 : 250))
        }
    }

    /// Stops the writer: everything appended so far is written, then a final snapshot.
    /// Call it after the last append; ``run()`` returns once done.
    /// - Parameter finalSnapshot: `false` leaves the log as a crash would (benchmarks of rebuild).
    public func close(finalSnapshot: Bool = true) {
        let wake = state.withLock { s -> CheckedContinuation<Void, Never>? in
            s.stopping = true
            s.finalSnapshot = finalSnapshot
            defer { s.wake = nil }
            return s.wake
        }
        wake?.resume()
    }

    /// The number of facts appended and the number durable so far.
    public var counts: (appended: UInt64, durable: UInt64) { state.withLock { ($0.appended, $0.durable) } }
}

/// The WAL size the background checkpointer last saw, in frames.
final class WALGauge: Sendable {
    let frames = Atomic<Int>(0)
}
