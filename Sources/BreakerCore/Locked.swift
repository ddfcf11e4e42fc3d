#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A value behind a `pthread_mutex_t`: the lock around the state machines and queues.
///
/// `Synchronization.Mutex` would be the first choice, but on Linux it locks with raw futex
/// calls that ThreadSanitizer cannot see, so every access under it is reported as a race and
/// `swift test --sanitize=thread` is useless. A pthread mutex is understood by TSan and costs
/// the same uncontended. Never hold it across `await`: `withLock` takes a synchronous closure.
public final class Locked<Value>: @unchecked Sendable {
    // Safety: `value` is only read or written inside `withLock`, between
    // pthread_mutex_lock and pthread_mutex_unlock on `mutex`, so accesses never overlap.
    // It lives in its own allocation rather than a stored property so that an access costs no
    // dynamic exclusivity check: the mutex already guarantees exclusivity.
    @usableFromInline let value: UnsafeMutablePointer<Value>
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    public init(_ value: Value) {
        self.value = UnsafeMutablePointer<Value>.allocate(capacity: 1)
        self.value.initialize(to: value)
        mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        value.deinitialize(count: 1)
        value.deallocate()
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Runs `body` with exclusive access to the value.
    @inlinable
    public func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock()
        defer { unlock() }
        return try body(&value.pointee)
    }

    @usableFromInline
    func lock() { pthread_mutex_lock(mutex) }

    @usableFromInline
    func unlock() { pthread_mutex_unlock(mutex) }
}
