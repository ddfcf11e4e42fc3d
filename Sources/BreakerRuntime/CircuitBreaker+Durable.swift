public import BreakerCore
import CoreMetrics

extension CircuitBreaker {
    /// Admits or rejects one call now, for callers that run the tool somewhere else (`serve`):
    /// returns once every transition the admission caused is durable — or the key's call
    /// timeout has passed (SPEC §8: a caller never waits on the log longer than that).
    public func admitDurably(tenant: TenantID, tool: ToolID, turn: TurnID?) async -> Admission {
        let (admission, after) = step { m, now, facts in
            m.admit(BreakerKey(tenant: tenant, tool: tool), turn: turn, at: now, facts: &facts)
        }
        let timeout: Int64
        switch admission {
        case .admitted(let permit): timeout = permit.callTimeoutMs
        case .rejected(let r): timeout = inner.withLock { $0.machine.settings(of: r.key).callTimeoutMs }
        case .untracked:
            untrackedCalls.increment(by: 1)
            return admission
        }
        _ = try? await finish(after, timeout: .milliseconds(timeout))
        return admission
    }

    /// Records how a call admitted with ``admitDurably(tenant:tool:turn:)`` ended, now (or at
    /// `time`: a timeout is recorded at admission + callTimeoutMs), and returns once every
    /// transition it caused is durable or the permit's call timeout has passed.
    public func completeDurably(_ permit: Permit, _ outcome: CallOutcome, at time: Timestamp? = nil) async -> Completion {
        let (completion, after, measured) = step(at: time, metricsOf: permit.key) { m, now, facts in
            m.complete(permit, outcome, at: now, facts: &facts)
        }
        switch outcome {
        case .success(let us), .failure(_, let us), .cancelled(let us): measured?.recordNanoseconds(us * 1000)
        case .timeout: measured?.recordNanoseconds(permit.callTimeoutMs * 1_000_000)
        }
        _ = try? await finish(after, timeout: .milliseconds(permit.callTimeoutMs))
        return completion
    }

    /// The tool of the key `permit` was issued for.
    public func tool(of permit: Permit) -> ToolID { tool(of: permit.key) }

    /// The key `permit` was issued for.
    public func key(of permit: Permit) -> BreakerKey { inner.withLock { $0.machine.key(permit.key) } }
}
