public import BreakerCore

/// A wall clock that moves only when told: the simulation's virtual time, and tests.
///
/// Sleepers wake when ``advance(by:)`` or ``set(to:)`` moves the time to or past their
/// deadline; a cancelled sleeper throws `CancellationError`. Setting the time backwards is
/// allowed, to test how the runtime handles a wall clock that steps back.
public final class ManualWallClock: WallClock {
    private struct Sleeper {
        let id: UInt64
        let deadline: Timestamp
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now: Timestamp
        var sleepers: [Sleeper] = []
        var nextID: UInt64 = 0
    }

    private let state: Locked<State>

    /// A clock reading `start`.
    public init(start: Timestamp = Timestamp(milliseconds: 1_795_852_800_000)) {
        state = Locked(State(now: start))
    }

    public var now: Timestamp { state.withLock { $0.now } }

    public var minimumResolution: Duration { .milliseconds(1) }

    /// Sleepers waiting now.
    public var sleeperCount: Int { state.withLock { $0.sleepers.count } }

    public func sleep(until deadline: Timestamp, tolerance: Duration?) async throws {
        let id = state.withLock { s -> UInt64 in
            s.nextID += 1
            return s.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
                let resumeNow = state.withLock { s -> Bool in
                    if deadline <= s.now { return true }
                    s.sleepers.append(Sleeper(id: id, deadline: deadline, continuation: c))
                    return false
                }
                if resumeNow { c.resume() }
            }
        } onCancel: {
            let c = state.withLock { s -> CheckedContinuation<Void, any Error>? in
                guard let i = s.sleepers.firstIndex(where: { $0.id == id }) else { return nil }
                return s.sleepers.remove(at: i).continuation
            }
            c?.resume(throwing: CancellationError())
        }
    }

    /// Moves the time forward by `duration` and wakes every sleeper now due.
    public func advance(by duration: Duration) {
        let due = state.withLock { s -> [Sleeper] in
            s.now = s.now.advanced(by: duration)
            return Self.takeDue(&s)
        }
        for s in due { s.continuation.resume() }
    }

    /// Sets the time (forwards or backwards) and wakes every sleeper now due.
    public func set(to time: Timestamp) {
        let due = state.withLock { s -> [Sleeper] in
            s.now = time
            return Self.takeDue(&s)
        }
        for s in due { s.continuation.resume() }
    }

    /// Waits (yielding, never sleeping) until at least `count` sleepers are waiting.
    public func waitForSleepers(_ count: Int) async {
        while sleeperCount < count { await Task.yield() }
    }

    private static func takeDue(_ s: inout State) -> [Sleeper] {
        let now = s.now
        // Most settings wake no one (a simulation sets the clock once a line).
        guard s.sleepers.contains(where: { $0.deadline <= now }) else { return [] }
        let due = s.sleepers.filter { $0.deadline <= now }.sorted { $0.deadline < $1.deadline }
        s.sleepers.removeAll { $0.deadline <= now }
        return due
    }
}
