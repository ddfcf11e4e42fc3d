public import BreakerCore

/// A sink that keeps nothing: the breaker works purely in memory.
public struct DiscardingEventSink: EventSink {
    public init() {}
    public func append(contentsOf events: [BreakerEvent]) {}
}

/// A sink that keeps every fact in memory, in order (tests, simulation, embedding).
public final class InMemoryEventSink: EventSink {
    private let storage = Locked<[BreakerEvent]>([])

    public init() {}

    public func append(contentsOf events: [BreakerEvent]) {
        storage.withLock { $0.append(contentsOf: events) }
    }

    /// Everything appended so far, in order.
    public var events: [BreakerEvent] { storage.withLock { $0 } }

    /// Empties the sink and returns what it held.
    public func drain() -> [BreakerEvent] {
        storage.withLock { s in
            defer { s.removeAll(keepingCapacity: true) }
            return s
        }
    }
}
