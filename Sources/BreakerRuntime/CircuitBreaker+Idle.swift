import BreakerCore

extension CircuitBreaker {
    /// Gives back the memory of idle keys: CLOSED, nothing in flight, no window entry newer than
    /// the key's window. Their window buffers are cut to the entries they hold (an idle key has no
    /// series of its own: only keys not CLOSED have them). No state changes, nothing is recorded: a key that comes
    /// back is exactly as a replay of the log has it. Works through the keys `batch` at a time,
    /// taking the breaker's lock once per batch. Returns the idle keys found.
    @discardableResult
    public func releaseIdleKeys(batch: Int = 4096) -> Int {
        var found = 0
        var start = 0
        while true {
            let (idle, total) = inner.withLock { inner -> (Int, Int) in
                let now = Timestamp(milliseconds: max(now(&inner), inner.lastTime))
                let refs = inner.machine.compactIdleKeys(at: now, in: start..<(start + batch))
                return (refs.count, inner.machine.internedKeyCount)
            }
            found += idle
            start += batch
            if start >= total { return found }
        }
    }

    /// Keys with series of their own now: the keys not CLOSED (for tests and `bench keys`).
    public var keysWithSeries: Int { inner.withLock { $0.metrics.count } }
}
