/// Where the breaker's facts go, in log order (SPEC §8). The store makes them durable.
///
/// `append` is called while the breaker holds its lock, so that the sink sees facts in exactly
/// the order the state machine produced them: it must be quick and must not block. Waiting —
/// for durability or for room in a bounded queue — happens in the async methods, which the
/// breaker calls after releasing its lock.
public protocol EventSink: Sendable {
    /// Takes `events`, in order. Called under the breaker's lock: never blocks, never drops.
    func append(contentsOf events: [BreakerEvent])

    /// Returns once everything appended before the call is durable.
    /// - Throws: when the facts can no longer be made durable (the store failed).
    func waitUntilDurable() async throws

    /// Returns once the sink's queue has room: producers wait here instead of losing facts.
    func waitForCapacity() async
}

extension EventSink {
    public func waitUntilDurable() async throws {}
    public func waitForCapacity() async {}
}
