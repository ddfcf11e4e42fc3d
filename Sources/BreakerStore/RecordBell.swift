import Dispatch
import Synchronization

/// Rings when records other than calls become durable (SPEC §12: `/v1/events` is pushed, not
/// polled). A subscriber waits for a seq beyond the last it sent; it costs nothing while nothing
/// happens, and is woken by the writer's commit, its own cancellation, a timeout, or the stop.
public final class RecordBell: Sendable {
    private struct Waiting {
        let after: Int64
        let token: UInt64
        let continuation: CheckedContinuation<Void, Never>
    }

    private struct State {
        /// The seq of the latest durable record other than a call (0: none yet, or not known).
        var seq: Int64 = 0
        var stopped = false
        var nextID = 0
        var nextToken: UInt64 = 0
        var waiting: [Int: Waiting] = [:]
        var cancelled: Set<Int> = []
    }

    private let state = Mutex(State())

    public init() {}

    /// One subscriber's place at the bell: ``wait(after:timeout:)`` until something new, then
    /// ``cancel()`` once (when its client goes away) and ``leave()`` at the end.
    public struct Waiter: Sendable {
        let bell: RecordBell
        /// The waiter's number, unique at its bell.
        public let id: Int

        /// Returns when a record after `after` is durable, or after `timeout`, or at once when
        /// the waiter is cancelled or the bell stopped.
        public func wait(after: Int64, timeout: Duration) async { await bell.wait(id, after: after, timeout: timeout) }

        /// Ends the current and every later wait at once.
        public func cancel() { bell.cancel(id) }

        /// Whether ``cancel()`` was called.
        public var isCancelled: Bool { bell.state.withLock { $0.cancelled.contains(id) } }

        /// Forgets the waiter (its cancellation included).
        public func leave() { bell.leave(id) }
    }

    public func waiter() -> Waiter {
        Waiter(
            bell: self,
            id: state.withLock { s in
                defer { s.nextID += 1 }
                return s.nextID
            })
    }

    /// The seq of the latest durable record other than a call that this bell has rung for.
    public var seq: Int64 { state.withLock { $0.seq } }

    /// Whether the writer has stopped (no more records will come).
    public var stopped: Bool { state.withLock { $0.stopped } }

    /// Records up to `seq` are durable, some of them other than calls.
    func ring(seq: Int64) {
        let ready = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            guard seq > s.seq else { return [] }
            s.seq = seq
            let due = s.waiting.filter { $0.value.after < seq }
            for id in due.keys { s.waiting[id] = nil }
            return due.values.map(\.continuation)
        }
        for c in ready { c.resume() }
    }

    /// The writer stopped: every wait ends now and later ones return at once.
    func stop() {
        let ready = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.stopped = true
            defer { s.waiting.removeAll() }
            return s.waiting.values.map(\.continuation)
        }
        for c in ready { c.resume() }
    }

    private func wait(_ id: Int, after: Int64, timeout: Duration) async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let token = state.withLock { s -> UInt64? in
                guard !s.stopped, !s.cancelled.contains(id), s.seq <= after else { return nil }
                s.nextToken += 1
                s.waiting[id] = Waiting(after: after, token: s.nextToken, continuation: c)
                return s.nextToken
            }
            guard let token else { return c.resume() }
            let (seconds, attoseconds) = timeout.components
            let nanoseconds = Int(clamping: seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
            DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(nanoseconds)) { [self] in
                let due = state.withLock { s -> CheckedContinuation<Void, Never>? in
                    guard let w = s.waiting[id], w.token == token else { return nil }
                    s.waiting[id] = nil
                    return w.continuation
                }
                due?.resume()
            }
        }
    }

    private func cancel(_ id: Int) {
        let due = state.withLock { s -> CheckedContinuation<Void, Never>? in
            s.cancelled.insert(id)
            return s.waiting.removeValue(forKey: id)?.continuation
        }
        due?.resume()
    }

    private func leave(_ id: Int) {
        let due = state.withLock { s -> CheckedContinuation<Void, Never>? in
            s.cancelled.remove(id)
            return s.waiting.removeValue(forKey: id)?.continuation
        }
        due?.resume()
    }
}
