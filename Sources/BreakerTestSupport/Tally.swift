import BreakerCore

/// A thread-safe counter that escaping closures can share (a `Mutex` cannot be captured).
public final class Tally: Sendable {
    private let count = Locked(0)

    public init() {}

    /// Adds one.
    public func increment() { count.withLock { $0 += 1 } }

    /// The count so far.
    public var value: Int { count.withLock { $0 } }
}
