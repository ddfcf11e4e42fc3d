import BreakerCore
import CoreMetrics
import Foundation
import GRDB
import Logging
import Synchronization

// The writer task: group commit, retries while the log fails, the final close.

extension EventLogWriter {
    /// Runs the writer until ``close(finalSnapshot:)``; then writes what is left and a final snapshot.
    /// - Throws: when the log still could not be written `closeTimeout` after the close.
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

    var isStopping: Bool { state.withLock { $0.stopping } }

    func writeLoop() async throws {
        var retry = options.retryInterval
        var encoderStale = false
        var lastFailureLog: ContinuousClock.Instant? = nil
        while true {
            await waitForWork()
            // Drops have ended (the log is written again and the queue has room), or the writer
            // stops: the gap goes into the log where it is now.
            if state.withLock({ s in s.gap != nil && (s.stopping || !s.health.failing && s.queuedCalls < options.capacity) }) {
                closeGap()
            }
            let (stopping, urgent, count, first, failing) = state.withLock {
                ($0.stopping, $0.urgent, $0.pending, $0.firstPending, $0.health.failing)
            }
            if count == 0 {
                if stopping { break }
                continue
            }
            if !stopping && !urgent && !failing && count < options.batchSize, let first {
                await sleepOrWake(until: first.advanced(by: flushInterval / 2))
            }
            let (keys, batch) = state.withLock { s -> ([BreakerKey], ArraySlice<QueueItem>) in
                let take = min(s.pending, options.batchSize * 4)
                return (s.keys, s.queue[s.head..<(s.head + take)])
            }
            do {
                if encoderStale {
                    // A failed transaction left the encoder's dictionaries and turns ahead of the
                    // store: start again from what is durable.
                    let lastSeq = try store.read { db in try store.lastSeq(db) }
                    let fresh = try Self.encoder(store, lastSeq: lastSeq, snapshotEvery: options.snapshotEvery)
                    encoder.withLock { $0 = fresh }
                    encoderStale = false
                }
                let items = Array(batch)
                try await store.db.write { db in
                    try self.encoder.withLock { encoder in
                        try encoder.write(keys: keys, db)
                        try encoder.write(items, db)
                    }
                }
            } catch {
                encoderStale = true
                let failure = EventStore.storeError(error, path: store.path)
                let now = ContinuousClock.now
                let logIt = lastFailureLog.map { $0.duration(to: now) >= .seconds(10) } ?? true
                if logIt { lastFailureLog = now }
                noteFailure(failure, log: logIt)
                if let terminal = giveUpIfClosing() { throw terminal }
                try? await Task.sleep(for: retry)
                retry = min(retry * 2, options.maxRetryInterval)
                continue
            }
            retry = options.retryInterval
            lastFailureLog = nil
            if batch.contains(where: { if case .fact(let f) = $0, !f.isCallRecord { true } else { false } }) {
                records.ring(seq: encoder.withLock { $0.lastSeq })
            }
            noteWritten(
                batch.count, keys: keys.count, facts: batch.count { if case .fact = $0 { true } else { false } },
                calls: batch.count { if case .fact(.call) = $0 { true } else { false } },
                snapshots: batch.contains { if case .snapshot = $0 { true } else { false } })
            if !state.withLock({ $0.snapshotQueued }), encoder.withLock({ $0.snapshotDue }), let machineAccess {
                machineAccess { enqueueSnapshot($0) }
            }
            // Under sustained writes the log never drains by itself: restart it once it is large.
            // The background checkpointer has already copied most frames, so this is short.
            if walFrames.frames.load(ordering: .relaxed) > Self.walRestartFrames {
                walFrames.frames.store(0, ordering: .relaxed)
                _ = try? await store.db.writeWithoutTransaction { try $0.checkpoint(.restart) }
            }
        }
        records.stop()
        await finishClosing()
    }

    /// A batch committed: advance, wake waiters, and report a recovery.
    func noteWritten(_ count: Int, keys: Int, facts: Int, calls: Int, snapshots: Bool) {
        let (ready, capacityReady, recovered) = state.withLock {
            s -> ([CheckedContinuation<Bool, any Error>], [CheckedContinuation<Void, Never>], Health?) in
            s.head += count
            s.keys.removeFirst(keys)
            if snapshots { s.snapshotQueued = false }
            s.queuedCalls -= calls
            if s.head >= 4096 && s.head * 2 >= s.queue.count {
                s.queue.removeFirst(s.head)
                s.head = 0
                // A backlog that has drained gives its storage back: the queue keeps room for
                // what it holds and a few batches, not for the longest backlog it ever had.
                let room = Swift.max(s.queue.count * 2, options.batchSize * 4)
                if s.queue.capacity > room * 2 {
                    var smaller: [QueueItem] = []
                    smaller.reserveCapacity(room)
                    smaller.append(contentsOf: s.queue)
                    s.queue = smaller
                }
            }
            s.durable += UInt64(facts)
            s.urgent = s.durableWaiters.contains { $0.target > s.durable }
            s.firstPending = s.pending == 0 ? nil : .now
            let durable = s.durable
            let ready = s.durableWaiters.filter { $0.target <= durable }.map(\.continuation)
            s.durableWaiters.removeAll { $0.target <= durable }
            var capacity: [CheckedContinuation<Void, Never>] = []
            if s.queuedCalls < options.capacity {
                capacity = s.capacityWaiters.map(\.continuation)
                s.capacityWaiters.removeAll()
            }
            var recovered: Health? = nil
            if s.health.failing {
                recovered = s.health
                s.health.failing = false
                s.health.failingSince = nil
            }
            return (ready, capacity, recovered)
        }
        for c in ready { c.resume(returning: true) }
        for c in capacityReady { c.resume() }
        if let recovered {
            options.logger.notice(
                "event log writable again",
                metadata: [
                    "failing_since": "\(recovered.failingSince?.iso8601 ?? "?")", "write_errors": "\(recovered.errors)",
                    "call_records_dropped": "\(recovered.droppedCalls)",
                ])
            store.publishOwnerStatus(health.description)
        }
    }

    /// A write failed: the writer keeps the facts and retries; callers are no longer held for room.
    func noteFailure(_ failure: BreakerError, log: Bool) {
        errorsCounter.increment()
        let (health, capacity) = state.withLock { s -> (Health, [CheckedContinuation<Void, Never>]) in
            if !s.health.failing {
                s.health.failing = true
                s.health.failingSince = Timestamp(milliseconds: Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)))
            }
            s.health.errors += 1
            s.health.lastError = failure.message
            defer { s.capacityWaiters.removeAll() }
            return (s.health, s.capacityWaiters.map(\.continuation))
        }
        for c in capacity { c.resume() }
        if log {
            options.logger.error(
                "event log cannot be written; the breaker keeps deciding in memory and retries",
                metadata: [
                    "error": "\(failure.message)", "write_errors": "\(health.errors)", "call_records_dropped": "\(health.droppedCalls)",
                ])
        }
        store.publishOwnerStatus(health.description)
    }

    /// After a close, once `closeTimeout` has passed with the log still failing: give up.
    func giveUpIfClosing() -> BreakerError? {
        let (waiters, capacity, failure) = state.withLock {
            s -> ([CheckedContinuation<Bool, any Error>], [CheckedContinuation<Void, Never>], BreakerError?) in
            guard s.stopping, let deadline = s.closeDeadline, ContinuousClock.now >= deadline else { return ([], [], nil) }
            let failure = BreakerError(
                .storeUnavailable,
                "\(s.pending) records could not be made durable in \(store.path) before giving up: \(s.health.lastError ?? "the log cannot be written")",
                context: ["path": store.path])
            s.terminal = failure
            defer {
                s.durableWaiters.removeAll()
                s.capacityWaiters.removeAll()
            }
            return (s.durableWaiters.map(\.continuation), s.capacityWaiters.map(\.continuation), failure)
        }
        for w in waiters { w.resume(throwing: failure!) }
        for c in capacity { c.resume() }
        return failure
    }

    /// Everything is durable (the final snapshot with it): the store leaves WAL mode.
    func finishClosing() async {
        if let checkpointer {
            _ = try? await checkpointer.writeWithoutTransaction { try $0.checkpoint(.truncate) }
        }
        // A cleanly closed store leaves WAL mode, so it can be read from read-only media
        // (a WAL database needs a writable -shm beside it). The next owner turns WAL back on.
        try? checkpointer?.close()
        (store.db as? DatabasePool)?.releaseMemory()
        _ = try? await store.db.writeWithoutTransaction { try $0.execute(sql: "PRAGMA journal_mode = DELETE") }
    }

    func waitForWork() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { s -> Bool in
                if s.pending > 0 || s.stopping { return true }
                s.wake = c
                return false
            }
            if ready { c.resume() }
        }
    }

    func sleepOrWake(until deadline: ContinuousClock.Instant) async {
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
                if s.urgent || s.stopping || s.pending >= options.batchSize || ContinuousClock.now >= deadline { return true }
                s.wake = c
                return false
            }
            if ready { c.resume() }
        }
        timer.cancel()
    }

    /// Copies WAL frames into the database in the background (PASSIVE: never blocks the writer),
    /// back to back while it lags, every 250 ms once caught up.
    static func checkpointLoop(_ queue: DatabaseQueue, frames: WALGauge, stop: @escaping @Sendable () -> Bool) async {
        while !Task.isCancelled && !stop() {
            let result = try? await queue.writeWithoutTransaction { try $0.checkpoint(.passive) }
            if let result { frames.frames.store(result.walFrameCount, ordering: .relaxed) }
            let lagging = result.map { $0.checkpointedFrameCount < $0.walFrameCount } ?? false
            try? await Task.sleep(for: .milliseconds(lagging ? 2 : 250))
        }
    }
}
