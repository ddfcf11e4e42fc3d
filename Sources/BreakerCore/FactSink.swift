/// Where a breaker's facts go, in log order (SPEC §8). The store makes them durable.
///
/// `append` is called while the breaker holds its lock, so that the sink sees facts in exactly
/// the order the machine decided them: it must be quick and must not block. Keys are introduced
/// before the first fact that names them (``KeyRef`` numbers, in order, from 0). Waiting — for
/// durability or for room in a bounded queue — happens in the async methods, which the breaker
/// calls after releasing its lock.
public protocol FactSink: Sendable {
    /// Takes the keys interned since the last call (numbered on from the ones before) and then
    /// `facts`, in order. Called under the breaker's lock: never blocks.
    func append(keys: ArraySlice<BreakerKey>, facts: ArraySlice<Fact>)

    /// Returns `true` once everything appended before the call is durable, or `false` when
    /// `timeout` passes first (SPEC §8: a caller never waits on the log longer than its call
    /// timeout; `nil` waits as long as it takes).
    /// - Throws: when the facts can no longer be made durable (the sink gave up), or on cancellation.
    func waitUntilDurable(timeout: Duration?) async throws -> Bool

    /// Returns once the sink's queue has room, or after `timeout`: producers slow down here
    /// instead of overrunning the queue.
    func waitForCapacity(timeout: Duration?) async
}

extension FactSink {
    public func waitUntilDurable(timeout: Duration?) async throws -> Bool { true }
    public func waitForCapacity(timeout: Duration?) async {}

    /// Waits, as long as it takes, until everything appended so far is durable.
    public func waitUntilDurable() async throws { _ = try await waitUntilDurable(timeout: nil) }
}
