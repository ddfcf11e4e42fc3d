public import BreakerCore

/// A sink that keeps nothing: the breaker works purely in memory.
public struct DiscardingFactSink: FactSink {
    public init() {}
    @inlinable public func append(keys: ArraySlice<BreakerKey>, facts: ArraySlice<Fact>) {}
}

/// A sink that keeps every fact in memory, in order, with the keys it names (tests, simulation,
/// embedding).
public final class InMemoryFactSink: FactSink, KeyDirectory {
    private struct State {
        var keys: [BreakerKey] = []
        var facts: [Fact] = []
    }
    private let storage = Locked(State())

    public init() {}

    public func append(keys: ArraySlice<BreakerKey>, facts: ArraySlice<Fact>) {
        storage.withLock {
            $0.keys.append(contentsOf: keys)
            $0.facts.append(contentsOf: facts)
        }
    }

    public func key(_ ref: KeyRef) -> BreakerKey { storage.withLock { $0.keys[Int(ref.index)] } }

    /// Everything appended so far, in order, as compact facts.
    public var facts: [Fact] { storage.withLock { $0.facts } }

    /// Everything appended so far, in order, with names.
    public var events: [BreakerEvent] {
        storage.withLock { s in
            let directory = Directory(keys: s.keys)
            return s.facts.map { BreakerEvent($0, keys: directory) }
        }
    }

    /// Empties the sink of facts (its keys stay) and returns them, with names.
    public func drain() -> [BreakerEvent] {
        storage.withLock { s in
            defer { s.facts.removeAll(keepingCapacity: true) }
            let directory = Directory(keys: s.keys)
            return s.facts.map { BreakerEvent($0, keys: directory) }
        }
    }

    private struct Directory: KeyDirectory {
        let keys: [BreakerKey]
        func key(_ ref: KeyRef) -> BreakerKey { keys[Int(ref.index)] }
    }
}
