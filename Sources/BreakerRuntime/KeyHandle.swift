public import BreakerCore

/// A key of one breaker, looked up once: callers that call one (tenant, tool) repeatedly admit
/// through it without hashing or comparing names (``CircuitBreaker/key(tenant:tool:)``).
public struct KeyHandle: Sendable, Hashable, CustomStringConvertible {
    /// The (tenant, tool) pair.
    public let key: BreakerKey
    /// The key's number in its breaker's machine.
    public let ref: KeyRef
    /// The breaker it belongs to.
    let owner: ObjectIdentifier

    public var description: String { key.description }
}
