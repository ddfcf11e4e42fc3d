public import BreakerCore
import CoreMetrics

extension CircuitBreaker {
    /// The breaker's monotonic clock now: the instants of ``InFlightCall``.
    public func monotonicNow() -> Duration { ticks() }

    /// Admits or rejects one call of `tool` for `tenant` now, for callers that run the tool
    /// themselves (`serve`, `mcp-proxy`): returns once every transition the admission caused is
    /// durable — or the key's call timeout has passed (SPEC §8: a caller never waits on the log
    /// longer than that). An admitted call is ended with ``end(_:_:)``.
    public func begin(tenant: TenantID, tool: ToolID, turn: TurnID?) async -> CallAdmission {
        let (admission, after) = step { m, now, facts in
            m.admit(BreakerKey(tenant: tenant, tool: tool), turn: turn, at: now, facts: &facts)
        }
        return await begun(admission, after)
    }

    /// ``begin(tenant:tool:turn:)`` for the key of `handle`.
    public func begin(_ handle: KeyHandle, turn: TurnID?) async -> CallAdmission {
        let ref = ref(handle)
        let (admission, after) = step { m, now, facts in m.admit(ref, turn: turn, at: now, facts: &facts) }
        return await begun(admission, after)
    }

    /// The admission's answer as a call in flight, once what it caused is durable.
    func begun(_ admission: Admission, _ after: Aftermath?) async -> CallAdmission {
        switch admission {
        case .admitted(let permit):
            _ = try? await finish(after, timeout: .milliseconds(permit.callTimeoutMs))
            // The call's time starts when its caller may start it: after the wait for the log.
            return .admitted(InFlightCall(permit: permit, admitted: ticks()))
        case .rejected(let r):
            let timeout = inner.withLock { $0.machine.settings(of: r.key).callTimeoutMs }
            _ = try? await finish(after, timeout: .milliseconds(timeout))
            return .rejected(r)
        case .untracked:
            untrackedCalls.increment(by: 1)
            return .untracked
        }
    }

    /// Ends `call` as `ending`, judged now against its deadline (``InFlightCall/recording(_:at:)``),
    /// and returns once every transition it caused is durable or its call timeout has passed.
    @discardableResult
    public func end(_ call: InFlightCall, _ ending: CallEnding) async -> CallEnd {
        let recording = call.recording(ending, at: ticks())
        let completion = await record(call.permit, recording.outcome, at: recording.time, latencyUs: recording.latencyUs)
        return CallEnd(recording: recording, completion: completion)
    }

    /// Records `outcome` for `permit` (at `time`, or now) and waits for what it caused to be
    /// durable, at most the permit's call timeout. The one place a completion is stepped.
    package func record(_ permit: Permit, _ outcome: CallOutcome, at time: Timestamp? = nil, latencyUs: Int64? = nil) async
        -> Completion
    {
        let (completion, after, measured) = step(at: time, metricsOf: permit.key) { m, now, facts in
            m.complete(permit, outcome, at: now, facts: &facts)
        }
        if let measured {
            let us: Int64
            switch outcome {
            case .success(let l), .failure(_, let l), .cancelled(let l): us = latencyUs ?? l
            case .timeout: us = latencyUs ?? permit.callTimeoutMs * 1000
            }
            measured.recordNanoseconds(us * 1000)
        }
        _ = try? await finish(after, timeout: .milliseconds(permit.callTimeoutMs))
        return completion
    }

    /// The tool of the key `permit` was issued for.
    public func tool(of permit: Permit) -> ToolID { tool(of: permit.key) }

    /// The key `permit` was issued for.
    public func key(of permit: Permit) -> BreakerKey { inner.withLock { $0.machine.key(permit.key) } }
}
