import BreakerCore

// Producers wait for durability and for room in the queue, each wait bounded by the caller.

extension EventLogWriter {
    public func waitUntilDurable(timeout: Duration?) async throws -> Bool {
        let id = state.withLock { s -> UInt64 in
            s.nextWaiter += 1
            s.open.insert(s.nextWaiter)
            return s.nextWaiter
        }
        defer { finishWait(id) }
        let timer = timeout.map { t in
            Task { [weak self] in
                try? await Task.sleep(for: t)
                if !Task.isCancelled { self?.endDurableWait(id, with: .success(false)) }
            }
        }
        defer { timer?.cancel() }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Bool, any Error>) in
                let (result, wake) = state.withLock { s -> (Result<Bool, any Error>?, CheckedContinuation<Void, Never>?) in
                    if s.ended.remove(id) != nil { return (.success(false), nil) }
                    if let f = s.terminal { return (.failure(f), nil) }
                    if s.durable >= s.appended { return (.success(true), nil) }
                    s.durableWaiters.append(Waiter(id: id, target: s.appended, continuation: c))
                    s.urgent = true
                    defer { s.wake = nil }
                    return (nil, s.wake)
                }
                if let result { c.resume(with: result) }
                wake?.resume()
            }
        } onCancel: {
            endDurableWait(id, with: .failure(CancellationError()))
        }
    }

    /// Ends wait `id` with `result`, or remembers that it ended if it is open and not registered
    /// yet; an end for a wait that has finished is ignored.
    func endDurableWait(_ id: UInt64, with result: Result<Bool, any Error>) {
        let c = state.withLock { s -> CheckedContinuation<Bool, any Error>? in
            guard let i = s.durableWaiters.firstIndex(where: { $0.id == id }) else {
                if s.open.contains(id) { s.ended.insert(id) }
                return nil
            }
            return s.durableWaiters.remove(at: i).continuation
        }
        c?.resume(with: result)
    }

    public func waitForCapacity(timeout: Duration?) async {
        let id = state.withLock { s -> UInt64? in
            if s.queuedCalls < options.capacity || s.health.failing || s.stopping { return nil }
            s.nextWaiter += 1
            s.open.insert(s.nextWaiter)
            return s.nextWaiter
        }
        guard let id else { return }
        defer { finishWait(id) }
        let timer = timeout.map { t in
            Task { [weak self] in
                try? await Task.sleep(for: t)
                if !Task.isCancelled { self?.endCapacityWait(id) }
            }
        }
        defer { timer?.cancel() }
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { s -> Bool in
                if s.ended.remove(id) != nil { return true }
                if s.queuedCalls < options.capacity || s.health.failing || s.stopping { return true }
                s.capacityWaiters.append(CapacityWaiter(id: id, continuation: c))
                return false
            }
            if ready { c.resume() }
        }
    }

    func endCapacityWait(_ id: UInt64) {
        let c = state.withLock { s -> CheckedContinuation<Void, Never>? in
            guard let i = s.capacityWaiters.firstIndex(where: { $0.id == id }) else {
                if s.open.contains(id) { s.ended.insert(id) }
                return nil
            }
            return s.capacityWaiters.remove(at: i).continuation
        }
        c?.resume()
    }

    /// Forgets wait `id` once its caller has its answer: a timer or cancellation handler that
    /// fires after this finds nothing to end.
    func finishWait(_ id: UInt64) {
        state.withLock { s in
            s.open.remove(id)
            s.ended.remove(id)
        }
    }

    /// Waits begun and not finished, and ends remembered for them (for tests: both bounded by
    /// the waits in progress, not by the waits ever made).
    package var waitBookkeeping: (open: Int, ended: Int) { state.withLock { ($0.open.count, $0.ended.count) } }
}
