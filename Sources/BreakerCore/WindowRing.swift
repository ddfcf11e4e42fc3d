/// One key's sliding window as the machine keeps it: a ring of ``SlidingWindow/Entry`` values
/// with running counts (SPEC §3, §5.2), in a buffer sized to what it holds.
///
/// The ring's bookkeeping lives inline in the key's ``KeySlot``, so recording an outcome touches
/// the slot and one entry. The buffer belongs to the ``KeyChunk`` that holds the slot: a chunk
/// that is copied copies its rings (``cloned()``), and frees them when it goes.
///
/// A ring cut to fit (``shrinkToFit()``, an idle key) that holds one entry keeps it without a
/// buffer: its time is ``oldestTime`` and its other bits sit where the buffer's address would.
/// The next append moves it to a buffer again.
struct WindowRing {
    // 40 bytes, the 64-bit fields first: a slot can place its own 32-bit fields right after.
    /// The buffer's address while `capacity > 0`; with no buffer and one entry, that entry's bits.
    private var storage: UInt = 0
    /// The oldest entry's time, kept here so that an append that evicts nothing reads no entry.
    var oldestTime: Int64 = 0
    /// The buffer's size in entries: a power of two, or 0 for no buffer.
    private(set) var capacity: Int32 = 0
    /// Index of the oldest entry.
    var head: Int32 = 0
    var count: Int32 = 0
    var failures: Int32 = 0
    var slowCalls: Int32 = 0

    /// The newest entry's time (0 when empty).
    var newestTime: Int64 {
        guard count > 0 else { return 0 }
        return capacity > 0 ? base.unsafelyUnwrapped[Int((head &+ count &- 1) & (capacity &- 1))].time : oldestTime
    }

    /// The entries' buffer; `nil` when there is none.
    @inline(__always)
    private var base: UnsafeMutablePointer<SlidingWindow.Entry>? {
        capacity > 0 ? UnsafeMutablePointer(bitPattern: storage) : nil
    }

    /// Whether the ring holds its one entry without a buffer.
    private var isInline: Bool { capacity == 0 && count == 1 }

    /// The entry at ring index `i` (the inline entry when there is no buffer).
    @inline(__always)
    private func element(_ i: Int32) -> SlidingWindow.Entry {
        capacity > 0 ? base.unsafelyUnwrapped[Int(i)] : SlidingWindow.Entry(time: oldestTime, bits: UInt64(storage))
    }

    /// What the window would hold after appending `entry` and dropping entries older than
    /// `entry.time − windowMs` (one at exactly `entry.time − windowMs` stays): its count,
    /// failures and slow calls. Reads, never writes: the machine decides with this, then folds.
    @inline(__always)
    func preview(appending entry: SlidingWindow.Entry, windowMs: Int64) -> (count: Int, failures: Int, slowCalls: Int) {
        var n = Int(count) + 1
        var f = Int(failures) + (entry.failed ? 1 : 0)
        var s = Int(slowCalls) + (entry.slow ? 1 : 0)
        let cutoff = entry.time - windowMs
        if count > 0 && oldestTime < cutoff {
            var i = head
            var left = count
            while left > 0 {
                let e = element(i)
                guard e.time < cutoff else { break }
                n -= 1
                f -= e.failed ? 1 : 0
                s -= e.slow ? 1 : 0
                i = (i &+ 1) & (capacity &- 1)
                left -= 1
            }
        }
        return (n, f, s)
    }

    /// Appends `entry` and drops entries older than `entry.time − windowMs`.
    @inline(__always)
    mutating func append(_ entry: SlidingWindow.Entry, windowMs: Int64) {
        if count >= capacity { resize(to: capacity == 0 ? 2 : capacity * 2) }
        base.unsafelyUnwrapped[Int((head &+ count) & (capacity &- 1))] = entry
        if count == 0 { oldestTime = entry.time }
        count &+= 1
        failures &+= entry.failed ? 1 : 0
        slowCalls &+= entry.slow ? 1 : 0
        let cutoff = entry.time - windowMs
        while oldestTime < cutoff && count > 0 {
            let first = element(head)
            failures &-= first.failed ? 1 : 0
            slowCalls &-= first.slow ? 1 : 0
            head = (head &+ 1) & (capacity &- 1)
            count &-= 1
            oldestTime = element(head).time
        }
        if capacity > 16 && count <= capacity / 4 { resize(to: capacity / 2) }
    }

    /// Moves the entries to a buffer of `newCapacity` (a power of two ≥ count), or with
    /// `newCapacity` 0 frees the buffer, keeping a single entry inline.
    private mutating func resize(to newCapacity: Int32) {
        precondition(newCapacity >= count || newCapacity == 0 && count <= 1, "a ring cannot shrink below its entries")
        let old = base
        if newCapacity == 0 {
            storage = count == 1 ? UInt(element(head).bits) : 0
        } else {
            let fresh = UnsafeMutablePointer<SlidingWindow.Entry>.allocate(capacity: Int(newCapacity))
            copyEntries(to: fresh)
            storage = UInt(bitPattern: fresh)
        }
        old?.deallocate()
        head = 0
        capacity = newCapacity
    }

    /// Copies the entries, oldest first, to the start of `destination`.
    func copyEntries(to destination: UnsafeMutablePointer<SlidingWindow.Entry>) {
        if isInline { destination.initialize(to: element(0)) }
        guard let base, count > 0 else { return }
        let firstRun = min(Int(count), Int(capacity - head))
        destination.initialize(from: base + Int(head), count: firstRun)
        if firstRun < Int(count) {
            (destination + firstRun).initialize(from: base, count: Int(count) - firstRun)
        }
    }

    /// Empties the window (entering CLOSED) and frees its buffer.
    mutating func removeAll() {
        base?.deallocate()
        self = WindowRing()
    }

    /// Gives back the buffer space the entries do not use (an idle key keeps just its entries;
    /// one entry, or none, needs no buffer).
    mutating func shrinkToFit() {
        if fitCapacity < capacity { resize(to: fitCapacity) }
    }

    /// The smallest buffer that holds the entries (a power of two; 0 for one entry or none).
    var fitCapacity: Int32 {
        guard count > 1 else { return 0 }
        var target: Int32 = 2
        while target < count { target *= 2 }
        return target
    }

    /// A ring with its own copy of the entries.
    func cloned() -> WindowRing {
        var copy = self
        guard capacity > 0 else { return copy }  // no buffer: nothing shared
        guard count > 0 else {
            copy.storage = 0
            copy.capacity = 0
            copy.head = 0
            return copy
        }
        let fresh = UnsafeMutablePointer<SlidingWindow.Entry>.allocate(capacity: Int(capacity))
        copyEntries(to: fresh)
        copy.storage = UInt(bitPattern: fresh)
        copy.head = 0
        return copy
    }

    /// Frees the buffer (the chunk holding this ring is going away).
    func deallocate() { base?.deallocate() }

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

    /// Bytes of buffer this ring holds.
    var bufferBytes: Int { Int(capacity) * MemoryLayout<SlidingWindow.Entry>.stride }
}
