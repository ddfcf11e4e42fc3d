import BreakerCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Something with a deadline: the monitor calls ``expire()`` when it passes.
protocol Expiring: AnyObject, Sendable {
    /// The deadline has passed (called on the monitor's thread, outside its lock). The item
    /// calls ``DeadlineMonitor/ended()`` once when it ends, whichever way.
    func expire()
    /// Whether it ended before its deadline (it may then leave the monitor early).
    var hasEnded: Bool { get }
}

/// Call deadlines on the system's monotonic clock, watched by one thread for the process.
///
/// A call under ``Race`` needs its deadline watched; a timer task of its own costs a task, a
/// registration with the clock and a wake-up of a worker thread per call. Here a deadline costs
/// a heap insert under a lock: the thread sleeps until the earliest one and is woken only when a
/// new deadline comes before it. Deadlines of calls that ended stay in the heap until they pass
/// or until they outnumber the live ones, when the heap is rebuilt without them — so a busy
/// process holds at most about twice its calls in flight.
package final class DeadlineMonitor: @unchecked Sendable {
    // Safety: `heap`, `live`, `started` and `wakeupCount` are only touched between
    // pthread_mutex_lock and pthread_mutex_unlock on `mutex`; the condition variable is used
    // with that mutex.

    /// The monitor of the process (its thread starts with the first deadline).
    package static let shared = DeadlineMonitor()

    private struct Entry {
        var deadline: Int64
        var item: any Expiring
    }

    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>
    /// A binary min-heap by deadline.
    private var heap: [Entry] = []
    /// Items added whose deadline has neither passed nor been ended early (``ended()``).
    private var live = 0
    private var started = false
    /// Times the thread woke up.
    private var wakeupCount = 0

    init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        condition = .allocate(capacity: 1)
        condition.initialize(to: pthread_cond_t())
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    /// The monotonic clock, ns.
    static func now() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    /// Watches `item`: ``Expiring/expire()`` is called once `milliseconds` have passed, unless
    /// it has ended by then.
    func add(_ item: any Expiring, afterMilliseconds milliseconds: Int64) {
        let deadline = Self.now() &+ max(0, milliseconds) &* 1_000_000
        pthread_mutex_lock(mutex)
        if !started {
            started = true
            startThread()
        }
        if heap.count > 2 * live + 64 { dropEnded() }
        let wakes = heap.isEmpty || deadline < heap[0].deadline
        push(Entry(deadline: deadline, item: item))
        live += 1
        pthread_mutex_unlock(mutex)
        if wakes { pthread_cond_signal(condition) }
    }

    /// An item added ended, by its deadline or before it: called once per item added.
    func ended() {
        pthread_mutex_lock(mutex)
        live -= 1
        pthread_mutex_unlock(mutex)
    }

    /// Entries in the heap (ended ones included), for tests.
    package var pending: Int {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return heap.count
    }

    /// Times the thread woke up (for tests: it sleeps between deadlines, it does not spin).
    package var wakeups: Int {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return wakeupCount
    }

    private func startThread() {
        var thread = pthread_t()
        let context = Unmanaged.passRetained(self).toOpaque()
        let result = pthread_create(
            &thread, nil,
            { context in
                Unmanaged<DeadlineMonitor>.fromOpaque(context!).takeRetainedValue().watch()
            }, context)
        precondition(result == 0, "the deadline monitor's thread could not start (pthread_create: \(result))")
        pthread_detach(thread)
    }

    /// The thread: expires what is due, then sleeps until the earliest deadline or a new earlier one.
    private func watch() -> Never {
        pthread_mutex_lock(mutex)
        var due: [any Expiring] = []
        while true {
            wakeupCount += 1
            let now = Self.now()
            while let first = heap.first, first.deadline <= now {
                let entry = pop()
                if !entry.item.hasEnded { due.append(entry.item) }
            }
            if !due.isEmpty {
                pthread_mutex_unlock(mutex)
                for item in due { item.expire() }
                due.removeAll(keepingCapacity: true)
                pthread_mutex_lock(mutex)
                continue
            }
            if let first = heap.first {
                var until = timespec(tv_sec: Int(first.deadline / 1_000_000_000), tv_nsec: Int(first.deadline % 1_000_000_000))
                pthread_cond_timedwait(condition, mutex, &until)
            } else {
                pthread_cond_wait(condition, mutex)
            }
        }
    }

    /// Rebuilds the heap without the entries of items that ended early.
    private func dropEnded() {
        heap.removeAll { $0.item.hasEnded }
        var i = heap.count / 2 - 1
        while i >= 0 {
            siftDown(i)
            i -= 1
        }
    }

    private func push(_ entry: Entry) {
        heap.append(entry)
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard heap[i].deadline < heap[parent].deadline else { break }
            heap.swapAt(i, parent)
            i = parent
        }
    }

    private func pop() -> Entry {
        let top = heap[0]
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            siftDown(0)
        }
        return top
    }

    private func siftDown(_ start: Int) {
        var i = start
        while true {
            let left = 2 * i + 1
            guard left < heap.count else { return }
            var smallest = left
            if left + 1 < heap.count && heap[left + 1].deadline < heap[left].deadline { smallest = left + 1 }
            guard heap[smallest].deadline < heap[i].deadline else { return }
            heap.swapAt(i, smallest)
            i = smallest
        }
    }
}
