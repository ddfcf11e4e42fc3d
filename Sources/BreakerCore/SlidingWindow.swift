internal import DequeModule

/// The outcomes a CLOSED key has recorded within `windowMs` (SPEC §3, §5.2).
///
/// Keeps running counts of failures and slow calls so that every open rule, including the
/// p95 latency rule, is decided in O(1) per call without sorting.
public struct SlidingWindow: Sendable, Hashable {
    /// One completed call in the window: 16 bytes, so that busy windows stay cache-friendly.
    public struct Entry: Sendable, Hashable {
        /// Completion time, ms since the epoch.
        public var time: Int64
        /// latencyUs << 3 | timedOut << 2 | slow << 1 | failed.
        private var bits: UInt64

        /// Latency in µs (callTimeoutMs × 1000 for a timeout).
        public var latencyUs: Int64 { Int64(bitPattern: bits >> 3) }
        /// A failure or a timeout.
        public var failed: Bool { bits & 1 != 0 }
        /// Latency above the threshold, or a timeout.
        public var slow: Bool { bits & 2 != 0 }
        /// Timed out: ranks above every completed call in the p95 order.
        public var timedOut: Bool { bits & 4 != 0 }

        public init(time: Int64, latencyUs: Int64, failed: Bool, slow: Bool, timedOut: Bool) {
            self.time = time
            self.bits =
                UInt64(max(0, latencyUs)) << 3 | (timedOut ? 4 : 0) | (slow ? 2 : 0) | (failed ? 1 : 0)
        }
    }

    private var storage: Deque<Entry> = []
    /// Failures (failure or timeout) in the window.
    public private(set) var failures: Int = 0
    /// Slow calls in the window.
    public private(set) var slowCalls: Int = 0

    public init() {}

    /// Calls in the window.
    public var count: Int { storage.count }

    /// The entries, oldest first.
    public var entries: [Entry] {
        // Copying an empty Deque writes into the runtime's shared empty array (a benign write
        // ThreadSanitizer reports when two threads do it at once): return the literal instead.
        storage.isEmpty ? [] : Array(storage)
    }

    /// Appends `entry`, then drops entries older than `entry.time − windowMs`
    /// (an entry at exactly `t − windowMs` stays).
    public mutating func append(_ entry: Entry, windowMs: Int64) {
        storage.append(entry)
        if entry.failed { failures += 1 }
        if entry.slow { slowCalls += 1 }
        let cutoff = entry.time - windowMs
        while let first = storage.first, first.time < cutoff {
            storage.removeFirst()
            if first.failed { failures -= 1 }
            if first.slow { slowCalls -= 1 }
        }
    }

    /// Empties the window (entering CLOSED).
    public mutating func removeAll() {
        storage.removeAll()
        failures = 0
        slowCalls = 0
    }

    /// Whether the nearest-rank p95 element is slow. O(1): see ``p95IsSlow(count:slowCalls:)``.
    public var p95IsSlow: Bool { Self.p95IsSlow(count: storage.count, slowCalls: slowCalls) }

    /// The latency, in µs, of the nearest-rank p95 element, timeouts ranking above every
    /// completed call. Sorts: call it only when recording a transition. `nil` when empty.
    public var p95LatencyUs: Int64? { Self.p95LatencyUs(of: storage) }

    /// Whether the nearest-rank p95 element (index ⌊n × 0.95⌋ of the window sorted by
    /// latency) of a window of `count` entries, `slowCalls` of them slow, is slow. Sorting puts
    /// the slow entries last, so the element is slow exactly when the slow entries number at
    /// least `n − ⌊n × 0.95⌋`. O(1); the machine decides the latency rule with this.
    @inlinable
    public static func p95IsSlow(count n: Int, slowCalls: Int) -> Bool {
        n > 0 && slowCalls >= n - p95Index(n)
    }

    /// The latency, in µs, of the nearest-rank p95 element of `entries`, timeouts ranking
    /// above every completed call. Sorts. `nil` when empty.
    public static func p95LatencyUs(of entries: some Collection<Entry>) -> Int64? {
        let n = entries.count
        guard n > 0 else { return nil }
        let sorted = entries.sorted { a, b in
            a.timedOut == b.timedOut ? a.latencyUs < b.latencyUs : !a.timedOut
        }
        return sorted[p95Index(n)].latencyUs
    }

    /// ⌊n × 0.95⌋, at most n − 1 (0-based).
    @inlinable
    public static func p95Index(_ n: Int) -> Int { min(n * 95 / 100, n - 1) }

    public static func == (a: SlidingWindow, b: SlidingWindow) -> Bool {
        a.failures == b.failures && a.slowCalls == b.slowCalls && a.storage.elementsEqual(b.storage)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(storage.count)
        for e in storage { hasher.combine(e) }
    }
}

extension SlidingWindow {
    /// Rebuilds a window from entries, oldest first (for snapshots).
    public init(entries: [Entry]) {
        self.init()
        for e in entries {
            storage.append(e)
            if e.failed { failures += 1 }
            if e.slow { slowCalls += 1 }
        }
    }
}
