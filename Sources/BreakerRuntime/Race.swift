import BreakerCore

/// Runs a tool under a deadline without waiting for a tool that ignores cancellation.
///
/// The tool runs in its own task; a tool call's deadline on the continuous clock is watched by
/// the process's ``DeadlineMonitor`` (no task of its own, ``RaceBox``), anything else's by a
/// timer task sleeping on its clock. Whichever comes first answers the caller, and the tool's task is cancelled if it is still
/// running. A tool that never returns is abandoned at the deadline (its task is cancelled; the
/// caller does not wait for it).
///
/// Only the tool's value is generic: the race itself (``RaceBox``) is one concrete type, so a
/// call looks up no generic type's metadata at run time beyond its value's slot.
package enum Race<Value: Sendable>: Sendable {
    case value(Value)
    case error(any Error)
    case timeout
    case cancelled

    package static func run(
        timeoutMs: Int64, clock: any Clock<Duration>, _ body: @escaping @Sendable () async throws -> Value
    ) async -> Race<Value> {
        let slot = ValueSlot<Value>()
        let end = await RaceBox.run(timeoutMs: timeoutMs, clock: clock, monitored: false) { slot.value = try await body() }
        switch end {
        case .returned: return .value(slot.value!)
        case .error(let e): return .error(e)
        case .timeout: return .timeout
        case .cancelled: return .cancelled
        }
    }
}

/// Carries the tool's value from its task to the caller: written before the race ends with
/// ``RaceEnd/returned`` (under the box's lock), read only after that.
final class ValueSlot<Value: Sendable>: @unchecked Sendable {
    // Safety: the tool's task writes `value`, then ends the race under the box's lock; the
    // caller reads it only when resumed with `.returned`, after that lock was released. If the
    // race ended otherwise, the caller never reads it.
    var value: Value?
}

/// How a race ended.
enum RaceEnd: Sendable {
    /// The tool returned (its value is in its slot).
    case returned
    case error(any Error)
    case timeout
    case cancelled
}

/// One race between a tool and its deadline: resumes the caller exactly once and cancels the
/// tool's task when the tool did not end it.
final class RaceBox: Expiring {
    struct State {
        var continuation: CheckedContinuation<RaceEnd, Never>?
        var result: RaceEnd?
        var work: Task<Void, Never>?
        var timer: Task<Void, Never>?
        /// Its deadline is with the ``DeadlineMonitor``, which is told when it ends.
        var monitored = false
    }
    let state = Locked(State())

    /// - Parameter monitored: the deadline is watched by the ``DeadlineMonitor`` (the clock must
    ///   be the continuous clock): it then passes on time even while the cooperative pool is
    ///   busy, as a tool call's must; otherwise a timer task on `clock` watches it.
    static func run(
        timeoutMs: Int64, clock: any Clock<Duration>, monitored: Bool, _ work: @escaping @Sendable () async throws -> Void
    ) async -> RaceEnd {
        let box = RaceBox()
        let monitored = monitored && clock is ContinuousClock
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<RaceEnd, Never>) in
                box.install(continuation)
                if monitored { box.watch(afterMilliseconds: timeoutMs) }
                let task = Task {
                    do {
                        try await work()
                        box.finish(.returned)
                    } catch {
                        box.finish(.error(error))
                    }
                }
                let timer =
                    monitored
                    ? nil
                    : Task {
                        do {
                            try await Self.sleep(clock, milliseconds: timeoutMs)
                            box.finish(.timeout)
                        } catch {}
                    }
                box.track(work: task, timer: timer)
            }
        } onCancel: {
            box.finish(.cancelled)
        }
    }

    private static func sleep<C: Clock<Duration>>(_ clock: C, milliseconds: Int64) async throws {
        try await clock.sleep(for: .milliseconds(milliseconds))
    }

    /// Hands the deadline to the process's monitor (unless the race has already ended).
    func watch(afterMilliseconds milliseconds: Int64) {
        let open = state.withLock { s -> Bool in
            guard s.result == nil else { return false }
            s.monitored = true
            return true
        }
        if open { DeadlineMonitor.shared.add(self, afterMilliseconds: milliseconds) }
    }

    func expire() { finish(.timeout) }

    var hasEnded: Bool { state.withLock { $0.result != nil } }

    func install(_ c: CheckedContinuation<RaceEnd, Never>) {
        let ready = state.withLock { s -> RaceEnd? in
            if let r = s.result { return r }
            s.continuation = c
            return nil
        }
        if let ready { c.resume(returning: ready) }
    }

    func track(work: Task<Void, Never>, timer: Task<Void, Never>?) {
        let done = state.withLock { s -> Bool in
            s.work = work
            s.timer = timer
            return s.result != nil
        }
        if done {
            work.cancel()
            timer?.cancel()
        }
    }

    func finish(_ result: RaceEnd) {
        let (c, work, timer, monitored) = state.withLock {
            s -> (CheckedContinuation<RaceEnd, Never>?, Task<Void, Never>?, Task<Void, Never>?, Bool) in
            guard s.result == nil else { return (nil, nil, nil, false) }
            s.result = result
            defer { s.continuation = nil }
            return (s.continuation, s.work, s.timer, s.monitored)
        }
        if monitored { DeadlineMonitor.shared.ended() }
        // The tool's own task ended it with a value or an error; otherwise it is abandoned.
        switch result {
        case .timeout, .cancelled: work?.cancel()
        case .returned, .error: break
        }
        timer?.cancel()
        c?.resume(returning: result)
    }
}
