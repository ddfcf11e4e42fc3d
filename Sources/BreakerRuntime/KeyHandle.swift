public import BreakerCore

/// A key of one breaker, looked up once: callers that call one (tenant, tool) repeatedly admit
/// through it without hashing or comparing names (``CircuitBreaker/key(tenant:tool:)``).
///
/// Copying a handle costs one reference count: the names sit in one shared box.
public struct KeyHandle: Sendable, Hashable, CustomStringConvertible {
    /// The names, boxed once when the handle is made.
    final class Names: Sendable {
        let key: BreakerKey
        init(_ key: BreakerKey) { self.key = key }
    }

    let names: Names
    /// The key's number in its breaker's machine.
    public let ref: KeyRef
    /// The breaker it belongs to.
    let owner: ObjectIdentifier

    init(key: BreakerKey, ref: KeyRef, owner: ObjectIdentifier) {
        self.names = Names(key)
        self.ref = ref
        self.owner = owner
    }

    /// The (tenant, tool) pair.
    public var key: BreakerKey { names.key }

    public var description: String { key.description }

    /// Handles are equal when they name the same key of the same breaker.
    public static func == (a: KeyHandle, b: KeyHandle) -> Bool { a.ref == b.ref && a.owner == b.owner }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(ref)
        hasher.combine(owner)
    }
}
