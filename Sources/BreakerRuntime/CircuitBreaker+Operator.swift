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
        try await apply(
            OperatorAction(
                hold ? .forceOpenHold(ActionTarget(tenant)) : .forceOpen(ActionTarget(tenant)), tool: tool, actor: actor, reason: reason))
    }

    /// Releases `tool` for `tenant`, or every tenant when `nil` (SPEC §7). Durable on return.
    public func release(tool: ToolID, tenant: TenantID?, actor: String, reason: String) async throws {
        try await apply(OperatorAction(.release(ActionTarget(tenant)), tool: tool, actor: actor, reason: reason))
    }

    /// Resets (tenant, tool) to CLOSED (SPEC §7). Durable on return.
    public func reset(tenant: TenantID, tool: ToolID, actor: String, reason: String) async throws {
        try await apply(OperatorAction(.reset(tenant), tool: tool, actor: actor, reason: reason))
    }
}

extension CircuitBreaker {
    /// Changes the configuration now (or at `time`, for a virtual clock) without waiting for
    /// durability (SPEC §2; simulation, and the owner's inbox).
    public func configure(
        _ configuration: BreakerConfiguration, actor: String, reason: String, requestID: Int64? = nil, fleetSeq: Int64? = nil,
        at time: Timestamp? = nil
    ) {
        let (_, after) = step(at: time) { m, now, facts in
            m.configure(
                ConfigurationRecord(
                    time: now, configuration: configuration, actor: actor, reason: reason, requestID: requestID, fleetSeq: fleetSeq),
                facts: &facts)
        }
        reportWithoutWaiting(after)
    }

    /// Changes the configuration now (SPEC §2); returns once the change is durable. From then on
    /// every key resolves its settings from `configuration` — each setting where it applies next
    /// (thresholds and windowMs at the key's next outcome, halfOpenMaxInFlight at its next
    /// admission, open timeouts at its next transition that uses them); nothing else moves, and
    /// calls already admitted keep their call timeout.
    /// - Throws: when the log cannot make it durable.
    public func configure(_ configuration: BreakerConfiguration, actor: String, reason: String, fleetSeq: Int64? = nil) async throws {
        let (_, after) = step { m, now, facts in
            m.configure(
                ConfigurationRecord(time: now, configuration: configuration, actor: actor, reason: reason, fleetSeq: fleetSeq),
                facts: &facts)
        }
        try await finish(after, timeout: nil)
    }
}

extension CircuitBreaker {
    /// Records a fleet episode that reached this node now (or at `time`, for a virtual clock),
    /// without waiting for durability (SPEC §14): the key goes OPEN (cause `fleet_quorum`) if it
    /// is CLOSED or was never seen. The record's own time is the step's.
    public func receive(fleetEpisode episode: FleetRecord, at time: Timestamp? = nil) {
        let (_, after) = step(at: time) { m, now, facts in
            var record = episode
            record.time = now
            return m.receive(record, facts: &facts)
        }
        reportWithoutWaiting(after)
    }
}
