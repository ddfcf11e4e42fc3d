public import BreakerCore
import CoreMetrics

extension CircuitBreaker {
    /// Runs `body` as one call of `tool` for `tenant` in `turn`, under the circuit breaker.
    ///
    /// Rejected calls return `.unavailable` at once without running `body`. An admitted call
    /// runs under the key's callTimeoutMs: at the deadline its task is cancelled and the caller
    /// answered with `tool_call_timeout`, even if the tool never returns. A thrown error is
    /// recorded by its type name and returned with the degradation signal. If the caller's task
    /// is cancelled, the call is recorded as `cancelled`. Any transition the call caused is
    /// durable in the sink before this returns — or its call timeout has passed (SPEC §8).
    public func call<Value: Sendable>(
        tenant: TenantID, tool: ToolID, turn: TurnID, _ body: @escaping @Sendable () async throws -> Value
    ) async -> ToolCallResult<Value> {
        let (admission, after) = step { m, now, facts in
            m.admit(BreakerKey(tenant: tenant, tool: tool), turn: turn, at: now, facts: &facts)
        }
        return await run(admission, after, tool: tool, body)
    }

    /// ``call(tenant:tool:turn:_:)`` for the key of `handle`.
    public func call<Value: Sendable>(
        _ handle: KeyHandle, turn: TurnID, _ body: @escaping @Sendable () async throws -> Value
    ) async -> ToolCallResult<Value> {
        let ref = ref(handle)
        let (admission, after) = step { m, now, facts in m.admit(ref, turn: turn, at: now, facts: &facts) }
        return await run(admission, after, tool: handle.key.tool, body)
    }

    /// Same as ``call(tenant:tool:turn:_:)`` with names checked here.
    /// - Throws: ``BreakerError`` (`invalid_name`) for a bad name; nothing is recorded then.
    public func call<Value: Sendable>(
        tenant: String, tool: String, turn: String, _ body: @escaping @Sendable () async throws -> Value
    ) async throws(BreakerError) -> ToolCallResult<Value> {
        let t = try TenantID(tenant)
        let o = try ToolID(tool)
        let u = try TurnID(turn)
        return await call(tenant: t, tool: o, turn: u, body)
    }

    private func run<Value: Sendable>(
        _ admission: Admission, _ admitAfter: Aftermath?, tool: ToolID, _ body: @escaping @Sendable () async throws -> Value
    ) async -> ToolCallResult<Value> {
        let permit: Permit
        switch admission {
        case .rejected(let rejection):
            // SPEC §8: a caller never waits on the log longer than its call timeout.
            let timeout = inner.withLock { $0.machine.settings(of: rejection.key).callTimeoutMs }
            _ = try? await finish(admitAfter, timeout: .milliseconds(timeout))
            return .unavailable(DegradationSignal(tool: tool, rejection: rejection))
        case .admitted(let p):
            permit = p
            if admitAfter != nil { _ = try? await finish(admitAfter, timeout: .milliseconds(p.callTimeoutMs)) }
        case .untracked:
            // Beyond limits.maxKeys: the call runs unguarded and only the counter knows of it.
            untrackedCalls.increment(by: 1)
            do {
                return .success(try await body())
            } catch is CancellationError {
                return .cancelled
            } catch {
                let signal = DegradationSignal(tool: tool, reason: .failure(ErrorType.of(error)), retryAfterMs: 0, minimumOneSecond: false)
                return .failed(signal, error)
            }
        }
        let (outcome, callOutcome, completeAt, elapsedUs) = await runTimed(permit, body)
        let (completion, after, measured) = step(at: completeAt, metricsOf: permit.key) { m, now, facts in
            m.complete(permit, callOutcome, at: now, facts: &facts)
        }
        measured?.recordNanoseconds(elapsedUs * 1000)
        _ = try? await finish(after, timeout: .milliseconds(permit.callTimeoutMs))
        let retry = completion.state == .closed ? 0 : completion.retryAfterMs
        let degraded = completion.state != .closed
        switch outcome {
        case .value(let v):
            return .success(v)
        case .error(let e):
            return .failed(
                DegradationSignal(tool: tool, reason: .failure(ErrorType.of(e)), retryAfterMs: retry, minimumOneSecond: degraded), e)
        case .timeout:
            return .unavailable(DegradationSignal(tool: tool, reason: .timeout, retryAfterMs: retry, minimumOneSecond: degraded))
        case .cancelled:
            return .cancelled
        }
    }

    /// Runs `body` for `permit` under its call timeout: how it ended, as the machine records it,
    /// when to record it (`nil` = now; admission + callTimeoutMs for a timeout) and the latency, µs.
    func runTimed<Value: Sendable>(
        _ permit: Permit, _ body: @escaping @Sendable () async throws -> Value
    ) async -> (Race<Value>, CallOutcome, Timestamp?, Int64) {
        let start = ticks()
        let outcome = await Race.run(timeoutMs: permit.callTimeoutMs, clock: monotonicClock, body)
        let (seconds, attoseconds) = (ticks() - start).components
        let us = max(0, seconds * 1_000_000 + attoseconds / 1_000_000_000_000)
        switch outcome {
        case .value: return (outcome, .success(latencyUs: us), nil, us)
        case .error(let e): return (outcome, .failure(errorType: ErrorType.of(e), latencyUs: us), nil, us)
        case .timeout: return (outcome, .timeout, permit.admittedAt.adding(milliseconds: permit.callTimeoutMs), us)
        case .cancelled: return (outcome, .cancelled(latencyUs: us), nil, us)
        }
    }

    /// The name recorded for a tool's error: its type's name, e.g. `ConnectionError`.
    public static func typeName(of error: any Error) -> String { ErrorType.of(error).rawValue }
}
