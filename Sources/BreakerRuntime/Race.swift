import BreakerCore

/// Runs a tool under a deadline without waiting for a tool that ignores cancellation.
///
/// The tool runs in its own task; a timer task sleeps on the monotonic clock. Whichever ends
/// first answers the caller, and the other task is cancelled. A tool that never returns is
/// abandoned at the deadline (its task is cancelled; the caller does not wait for it).
package enum Race<Value: Sendable>: Sendable {
    case value(Value)
    case error(any Error)
    case timeout
    case cancelled

    package static func run(
        timeoutMs: Int64, clock: any Clock<Duration>, _ body: @escaping @Sendable () async throws -> Value
    ) async -> Race<Value> {
        let box = Box()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Race<Value>, Never>) in
                box.install(continuation)
                let work = Task {
                    do {
                        box.finish(.value(try await body()))
                    } catch {
                        box.finish(.error(error))
                    }
                }
                let timer = Task {
                    do {
                        try await Self.sleep(clock, milliseconds: timeoutMs)
                        box.finish(.timeout)
                    } catch {}
                }
                box.track(work: work, timer: timer)
            }
        } onCancel: {
            box.finish(.cancelled)
        }
    }

    private static func sleep<C: Clock<Duration>>(_ clock: C, milliseconds: Int64) async throws {
        try await clock.sleep(for: .milliseconds(milliseconds))
    }

    /// Resumes the caller exactly once and cancels whatever is still running.
    final class Box: Sendable {
        struct State {
            var continuation: CheckedContinuation<Race<Value>, Never>?
            var result: Race<Value>?
            var work: Task<Void, Never>?
            var timer: Task<Void, Never>?
        }
        let state = Locked(State())

        func install(_ c: CheckedContinuation<Race<Value>, Never>) {
            let ready = state.withLock { s -> Race<Value>? in
                if let r = s.result { return r }
                s.continuation = c
                return nil
            }
            if let ready { c.resume(returning: ready) }
        }

        func track(work: Task<Void, Never>, timer: Task<Void, Never>) {
            let done = state.withLock { s -> Bool in
                s.work = work
                s.timer = timer
                return s.result != nil
            }
            if done {
                work.cancel()
                timer.cancel()
            }
        }

        func finish(_ result: Race<Value>) {
            let (c, work, timer) = state.withLock {
                s -> (CheckedContinuation<Race<Value>, Never>?, Task<Void, Never>?, Task<Void, Never>?) in
                guard s.result == nil else { return (nil, nil, nil) }
                s.result = result
                defer { s.continuation = nil }
                return (s.continuation, s.work, s.timer)
            }
            work?.cancel()
            timer?.cancel()
            c?.resume(returning: result)
        }
    }
}
