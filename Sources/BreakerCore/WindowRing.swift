/// One key's sliding window as the machine keeps it: a ring of ``SlidingWindow/Entry`` values
/// with running counts, in plain memory owned by the machine's ``WindowBuffers``.
///
/// The ring's bookkeeping lives inline in the key's slot, so recording an outcome touches the
/// slot and one entry, nothing else. It holds no references: copying a machine copies the
/// bookkeeping, and the machine copies the entries themselves before it next writes to any
/// window it shares (see `BreakerMachine.appendToWindow(_:_:)`).
struct WindowRing {
    /// The entries; `nil` until the first append. Capacity is a power of two.
    var base: UnsafeMutablePointer<SlidingWindow.Entry>? = nil
    var capacity: Int32 = 0
    /// Index of the oldest entry.
    var head: Int32 = 0
    var count: Int32 = 0
    var failures: Int32 = 0
    var slowCalls: Int32 = 0
    /// The oldest entry's time, kept here so that an append that evicts nothing reads no entry.
    var oldestTime: Int64 = 0

    /// Appends `entry` and drops entries older than `entry.time − windowMs` (one at exactly
    /// `entry.time − windowMs` stays). The caller owns the buffers uniquely.
    @inline(__always)
    mutating func append(_ entry: SlidingWindow.Entry, windowMs: Int64, buffers: WindowBuffers, slot: Int) {
        if count == capacity { grow(buffers: buffers, slot: slot) }
        base.unsafelyUnwrapped[Int((head &+ count) & (capacity &- 1))] = entry
        if count == 0 { oldestTime = entry.time }
        count &+= 1
        failures &+= entry.failed ? 1 : 0
        slowCalls &+= entry.slow ? 1 : 0
        let cutoff = entry.time - windowMs
        while oldestTime < cutoff && count > 0 {
            let first = base.unsafelyUnwrapped[Int(head)]
            failures &-= first.failed ? 1 : 0
            slowCalls &-= first.slow ? 1 : 0
            head = (head &+ 1) & (capacity &- 1)
            count &-= 1
            oldestTime = base.unsafelyUnwrapped[Int(head)].time
        }
    }

    private mutating func grow(buffers: WindowBuffers, slot: Int) {
        let newCapacity = capacity == 0 ? 8 : capacity * 2
        let fresh = UnsafeMutablePointer<SlidingWindow.Entry>.allocate(capacity: Int(newCapacity))
        copyEntries(to: fresh)
        buffers.replace(slot: slot, with: fresh)
        base = fresh
        head = 0
        capacity = newCapacity
    }

    /// Copies the entries, oldest first, to the start of `destination`.
    func copyEntries(to destination: UnsafeMutablePointer<SlidingWindow.Entry>) {
        guard let base, count > 0 else { return }
        let firstRun = min(Int(count), Int(capacity - head))
        destination.initialize(from: base + Int(head), count: firstRun)
        if firstRun < Int(count) {
            (destination + firstRun).initialize(from: base, count: Int(count) - firstRun)
        }
    }

    /// Empties the window; a large buffer is handed back to `buffers` (entering CLOSED).
    mutating func removeAll(buffers: WindowBuffers?, slot: Int) {
        head = 0
        count = 0
        failures = 0
        slowCalls = 0
        if capacity > 1024, let buffers {
            buffers.replace(slot: slot, with: nil)
            base = nil
            capacity = 0
        }
    }

    /// The entries, oldest first.
    var entries: [SlidingWindow.Entry] {
        // Building an empty array this way writes its count into the runtime's shared empty
        // array, which ThreadSanitizer rightly reports when two threads do it at once.
        guard count > 0 else { return [] }
        return [SlidingWindow.Entry](unsafeUninitializedCapacity: Int(count)) { buffer, initialized in
            if let start = buffer.baseAddress { copyEntries(to: start) }
            initialized = Int(count)
        }
    }

    /// Whether the nearest-rank p95 element is slow (``SlidingWindow/p95IsSlow(count:slowCalls:)``).
    var p95IsSlow: Bool { SlidingWindow.p95IsSlow(count: Int(count), slowCalls: Int(slowCalls)) }

    /// The nearest-rank p95 latency, µs (``SlidingWindow/p95LatencyUs(of:)``); sorts.
    var p95LatencyUs: Int64? { SlidingWindow.p95LatencyUs(of: entries) }
}

/// Owns the entry buffers of every window of one machine (and of its copies until they write).
///
/// A machine writes to a window only while it holds the one reference to its buffers; a
/// machine that shares them (because it was copied) first copies every window into fresh
/// buffers. That is copy-on-write at the level of the whole machine, checked once per write
/// on one object rather than once per key.
final class WindowBuffers: @unchecked Sendable {
    // Safety: buffers are written only by a machine holding the sole reference to this object
    // (checked with isKnownUniquelyReferenced before every write); shared instances are only read.
    private var buffers: [UnsafeMutablePointer<SlidingWindow.Entry>?] = []

    init() {}

    /// Records `pointer` as the buffer of `slot`, freeing the one it replaces.
    func replace(slot: Int, with pointer: UnsafeMutablePointer<SlidingWindow.Entry>?) {
        if slot >= buffers.count { buffers.append(contentsOf: repeatElement(nil, count: slot - buffers.count + 1)) }
        buffers[slot]?.deallocate()
        buffers[slot] = pointer
    }

    deinit {
        for b in buffers { b?.deallocate() }
    }
}
