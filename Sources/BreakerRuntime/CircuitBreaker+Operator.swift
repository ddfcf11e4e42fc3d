public import BreakerCore

extension CircuitBreaker {
    /// Applies an operator action now (or at `time`, for a virtual clock) without waiting for
    /// durability (simulation, and the owner's inbox, whose CLI waits for the record itself).
    public func apply(_ action: OperatorAction, at time: Timestamp? = nil) {
        let (_, after) = step(at: time) { m, now, facts in m.perform(action, at: now, facts: &facts) }
        reportWithoutWaiting(after)
    }

    /// Applies an operator action now; returns once its record is durable.
    /// - Throws: when the log cannot make it durable.
    public func apply(_ action: OperatorAction) async throws {
        let (_, after) = step { m, now, facts in m.perform(action, at: now, facts: &facts) }
        try await finish(after, timeout: nil)
    }

    /// Force-opens `tool` for `tenant`, or every tenant when `nil` (SPEC §7). Durable on return.
    public func forceOpen(tool: ToolID, tenant: TenantID?, hold: Bool, actor: String, reason: String) async throws {
        try await apply(OperatorAction(op: hold ? .forceOpenHold : .forceOpen, tool: tool, tenant: tenant, actor: actor, reason: reason))
    }

    /// Releases `tool` for `tenant`, or every tenant when `nil` (SPEC §7). Durable on return.
    public func release(tool: ToolID, tenant: TenantID?, actor: String, reason: String) async throws {
        try await apply(OperatorAction(op: .release, tool: tool, tenant: tenant, actor: actor, reason: reason))
    }

    /// Resets (tenant, tool) to CLOSED (SPEC §7). Durable on return.
    public func reset(tenant: TenantID, tool: ToolID, actor: String, reason: String) async throws {
        try await apply(OperatorAction(op: .reset, tool: tool, tenant: tenant, actor: actor, reason: reason))
    }
}
