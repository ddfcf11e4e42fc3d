/// The outcomes a CLOSED key has recorded within `windowMs` (SPEC §3, §5.2), oldest first,
/// with the counts the open rules read.
///
/// A value for reading a key's window (``BreakerMachine/state(of:)``, snapshots): the machine
/// itself keeps each window in a ring of these entries, evicts by the rule of SPEC §3 and decides
/// the open rules in O(1) per call with ``p95IsSlow(count:slowCalls:)``.
public struct SlidingWindow: Sendable, Hashable {
    /// One completed call in the window: 16 bytes, so that busy windows stay cache-friendly.
    public struct Entry: Sendable, Hashable {
        /// Completion time, ms since the epoch.
        public var time: Int64
        /// latencyUs << 3 | timedOut << 2 | slow << 1 | failed.
        private(set) var bits: UInt64

        /// Latency in µs (callTimeoutMs × 1000 for a timeout).
        public var latencyUs: Int64 { Int64(bitPattern: bits >> 3) }
        /// A failure or a timeout.
        public var failed: Bool { bits & 1 != 0 }
        /// Latency above the threshold, or a timeout.
        public var slow: Bool { bits & 2 != 0 }
        /// Timed out: ranks above every completed call in the p95 order.
        public var timedOut: Bool { bits & 4 != 0 }

        /// The entry with these bits (as ``bits`` has them).
        init(time: Int64, bits: UInt64) {
            self.time = time
            self.bits = bits
        }

        public init(time: Int64, latencyUs: Int64, failed: Bool, slow: Bool, timedOut: Bool) {
            self.time = time
            self.bits =
                UInt64(max(0, latencyUs)) << 3 | (timedOut ? 4 : 0) | (slow ? 2 : 0) | (failed ? 1 : 0)
        }
    }

    /// The entries, oldest first.
    public let entries: [Entry]
    /// Failures (failure or timeout) in the window.
    public let failures: Int
    /// Slow calls in the window.
    public let slowCalls: Int

    /// An empty window.
    public init() {
        self.init(entries: [])
    }

    /// The window holding `entries`, oldest first.
    public init(entries: [Entry]) {
        self.entries = entries
        failures = entries.count(where: \.failed)
        slowCalls = entries.count(where: \.slow)
    }

    /// Calls in the window.
    public var count: Int { entries.count }

    /// Whether the nearest-rank p95 element is slow. O(1): see ``p95IsSlow(count:slowCalls:)``.
    public var p95IsSlow: Bool { Self.p95IsSlow(count: entries.count, slowCalls: slowCalls) }

    /// The latency, in µs, of the nearest-rank p95 element, timeouts ranking above every
    /// completed call. Sorts: call it only when recording a transition. `nil` when empty.
    public var p95LatencyUs: Int64? { Self.p95LatencyUs(of: entries) }

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
}
