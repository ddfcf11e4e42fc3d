import BreakerCore

extension CircuitBreaker {
    /// Gives back the memory of idle keys: CLOSED, nothing in flight, no window entry newer than
    /// the key's window. Their window buffers are cut to the entries they hold and their metric
    /// handles destroyed (their series leave a Prometheus scrape; a key that comes back starts
    /// new ones, its counters from 0). No state changes, nothing is recorded: a key that comes
    /// back is exactly as a replay of the log has it. Works through the keys `batch` at a time,
    /// taking the breaker's lock once per batch. Returns the idle keys found.
    @discardableResult
    public func releaseIdleKeys(batch: Int = 4096) -> Int {
        var found = 0
        var start = 0
        while true {
            let (idle, total, handles) = inner.withLock { inner -> (Int, Int, [KeyMetrics]) in
                let now = Timestamp(milliseconds: max(now(&inner), inner.lastTime))
                let refs = inner.machine.compactIdleKeys(at: now, in: start..<(start + batch))
                var handles: [KeyMetrics] = []
                if sharedMetrics == nil {
                    for ref in refs { if let m = inner.metrics.removeValue(forKey: ref.index) { handles.append(m) } }
                }
                return (refs.count, inner.machine.internedKeyCount, handles)
            }
            for m in handles { m.destroy(in: metricsFactory) }
            found += idle
            start += batch
            if start >= total { return found }
        }
    }

    /// Keys with metric handles now (for tests and `bench keys`).
    public var keysWithMetricHandles: Int { inner.withLock { $0.metrics.count } }
}
