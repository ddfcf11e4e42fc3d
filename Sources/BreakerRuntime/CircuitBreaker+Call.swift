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
        await run(await begin(tenant: tenant, tool: tool, turn: turn), tool: tool, body)
    }

    /// ``call(tenant:tool:turn:_:)`` for the key of `handle`.
    public func call<Value: Sendable>(
        _ handle: KeyHandle, turn: TurnID, _ body: @escaping @Sendable () async throws -> Value
    ) async -> ToolCallResult<Value> {
        await run(await begin(handle, turn: turn), tool: handle.key.tool, body)
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
        _ admission: CallAdmission, tool: ToolID, _ body: @escaping @Sendable () async throws -> Value
    ) async -> ToolCallResult<Value> {
        let call: InFlightCall
        switch admission {
        case .rejected(let rejection):
            return .unavailable(DegradationSignal(tool: tool, rejection: rejection))
        case .admitted(let c):
            call = c
        case .untracked:
            // Beyond limits.maxKeys: the call runs unguarded and only the counter knows of it.
            do {
                return .success(try await body())
            } catch is CancellationError {
                return .cancelled
            } catch {
                let signal = DegradationSignal(tool: tool, reason: .failure(ErrorType.of(error)), retryAfterMs: 0, minimumOneSecond: false)
                return .failed(signal, error)
            }
        }
        let (outcome, ending) = await race(call, body)
        let end = await self.end(call, ending)
        let retry = end.completion.state == .closed ? 0 : end.completion.retryAfterMs
        let degraded = end.completion.state != .closed
        if end.recording.isTimeout {
            return .unavailable(DegradationSignal(tool: tool, reason: .timeout, retryAfterMs: retry, minimumOneSecond: degraded))
        }
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

    /// Runs `body` for `call` until it ends or its deadline: how it ended, and as what the
    /// call protocol ends it.
    func race<Value: Sendable>(
        _ call: InFlightCall, _ body: @escaping @Sendable () async throws -> Value
    ) async -> (Race<Value>, CallEnding) {
        let outcome = await Race.run(timeoutMs: call.callTimeoutMs, clock: monotonicClock, body)
        switch outcome {
        case .value: return (outcome, .success)
        case .error(let e): return (outcome, .failure(ErrorType.of(e)))
        case .timeout: return (outcome, .timeout)
        case .cancelled: return (outcome, .cancelled)
        }
    }

    /// The name recorded for a tool's error: its type's name, e.g. `ConnectionError`.
    public static func typeName(of error: any Error) -> String { ErrorType.of(error).rawValue }
}
