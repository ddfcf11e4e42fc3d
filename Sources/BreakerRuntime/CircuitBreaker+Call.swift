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
        let slot = ValueSlot<Value>()
        let (raceEnd, ending) = await race(call) { slot.value = try await body() }
        let end = await self.end(call, ending)
        let retry = end.completion.state == .closed ? 0 : end.completion.retryAfterMs
        let degraded = end.completion.state != .closed
        if end.recording.isTimeout {
            return .unavailable(DegradationSignal(tool: tool, reason: .timeout, retryAfterMs: retry, minimumOneSecond: degraded))
        }
        switch raceEnd {
        case .returned:
            return .success(slot.value!)
        case .error(let e):
            return .failed(
                DegradationSignal(tool: tool, reason: .failure(ErrorType.of(e)), retryAfterMs: retry, minimumOneSecond: degraded), e)
        case .timeout:
            return .unavailable(DegradationSignal(tool: tool, reason: .timeout, retryAfterMs: retry, minimumOneSecond: degraded))
        case .cancelled:
            return .cancelled
        }
    }

    /// Runs `work` for `call` until it ends or its deadline: how it ended, and as what the
    /// call protocol ends it. Not generic: a tool's value travels in a ``ValueSlot``.
    func race(_ call: InFlightCall, _ work: @escaping @Sendable () async throws -> Void) async -> (RaceEnd, CallEnding) {
        let end = await RaceBox.run(timeoutMs: call.callTimeoutMs, clock: monotonicClock, monitored: true, work)
        switch end {
        case .returned: return (end, .success)
        case .error(let e): return (end, .failure(ErrorType.of(e)))
        case .timeout: return (end, .timeout)
        case .cancelled: return (end, .cancelled)
        }
    }

    /// The name recorded for a tool's error: its type's name, e.g. `ConnectionError`.
    public static func typeName(of error: any Error) -> String { ErrorType.of(error).rawValue }
}
