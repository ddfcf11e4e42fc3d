public import BreakerCore

extension CircuitBreaker {
    /// A copy of the whole state machine (for tests, benchmarks and snapshots).
    ///
    /// The copy shares its key chunks with the live machine; the breaker's next write to a key
    /// copies that key's chunk (4096 keys) first, so taking a copy never stalls callers for long.
    public var machine: BreakerMachine { inner.withLock { $0.machine } }

    /// Calls `body` with a copy of the machine between two steps, under the breaker's lock: the
    /// state exactly after every fact the sink has been handed (for the store's snapshots, which
    /// `body` queues behind those facts).
    package func withMachineCopy<R>(_ body: (BreakerMachine) -> R) -> R {
        inner.withLock { inner in
            // The sink learns every key the copy has before it sees the copy.
            let interned = inner.machine.internedCount
            if interned > inner.introduced { sink.append(keys: newKeys(&inner, upTo: interned)[...], facts: []) }
            return body(inner.machine)
        }
    }

    /// The state of `key` with a copy of its window's entries, or `nil` if never seen.
    public func state(of key: BreakerKey) -> KeyState? { inner.withLock { $0.machine.state(of: key) } }

    /// The state of `key` without its window's entries, or `nil` if never seen. O(1).
    public func status(of key: BreakerKey) -> KeyStatus? { inner.withLock { $0.machine.status(of: key) } }

    /// The tool-wide force-open in force for `tool` (with its hold), or `nil`. O(1).
    public func signal(for tool: ToolID) -> BreakerMachine.ToolSignal? { inner.withLock { $0.machine.signal(for: tool) } }

    /// The last time recorded, ms since the epoch (`nil` before the first fact).
    public var lastRecordedTime: Timestamp? {
        inner.withLock { $0.lastTime == .min ? nil : Timestamp(milliseconds: $0.lastTime) }
    }

    /// The tools unavailable to `tenant` right now: keys OPEN or FORCED_OPEN, HALF_OPEN keys
    /// that only a health probe may test, and tools under a tool-wide force-open the tenant has
    /// not called yet. Sorted by tool name.
    public func unavailableTools(tenant: TenantID) -> [UnavailableTool] {
        inner.withLock { inner in
            let now = Timestamp(milliseconds: max(now(&inner), inner.lastTime))
            return UnavailableTool.list(in: inner.machine, tenant: tenant, at: now)
        }
    }

    /// A short note for the agent's system prompt naming the tools that are down for `tenant`,
    /// or `nil` when every tool is available.
    public func systemPromptNote(tenant: TenantID) -> String? {
        UnavailableTool.systemPromptNote(for: unavailableTools(tenant: tenant))
    }
}
