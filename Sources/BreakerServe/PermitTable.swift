import BreakerCore

/// The permits `serve` has issued (SPEC §12): unguessable strings, each bound to the one call it
/// was issued for and completed once — by the agent, or at its deadline as a `timeout`.
final class PermitTable: Sendable {
    /// An admitted call waiting for its completion.
    struct Issued: Sendable {
        let permit: Permit
        /// When it was admitted, on the monotonic clock: the latency is measured from here.
        let started: ContinuousClock.Instant
    }

    /// What a completion finds under a permit string.
    enum Lookup: Sendable {
        /// Issued and not yet completed: now taken, so nobody else completes it.
        case live(Issued)
        /// Recorded as a `timeout` at its deadline.
        case expired
        /// Never issued, already completed, or issued before a restart.
        case unknown
    }

    private struct State {
        var live: [String: (issued: Issued, expiry: Task<Void, Never>)] = [:]
        /// Expired permits, remembered so a late completion is told `timeout` (SPEC §12), oldest
        /// forgotten first beyond `expiredCapacity`.
        var expired: Set<String> = []
        var expiredOrder: [String] = []
        var expiredHead = 0
    }

    private let state = Locked(State())
    private let expiredCapacity: Int

    init(expiredCapacity: Int = 100_000) {
        self.expiredCapacity = expiredCapacity
    }

    /// Issues a permit string for `permit`; `onExpiry` records its timeout if nobody completes it
    /// by `permit.callTimeoutMs` after `started`.
    func issue(
        _ permit: Permit, started: ContinuousClock.Instant, onExpiry: @escaping @Sendable (Permit) async -> Void
    ) -> String {
        let token = Self.newToken()
        let deadline = started.advanced(by: .milliseconds(permit.callTimeoutMs))
        state.withLock { s in
            let expiry = Task { [weak self] in
                try? await Task.sleep(until: deadline, clock: .continuous)
                guard !Task.isCancelled, let self, self.expire(token) else { return }
                await onExpiry(permit)
            }
            s.live[token] = (Issued(permit: permit, started: started), expiry)
        }
        return token
    }

    /// Takes the permit `token` for its completion.
    func take(_ token: String) -> Lookup {
        state.withLock { s in
            if let (issued, expiry) = s.live.removeValue(forKey: token) {
                expiry.cancel()
                return .live(issued)
            }
            return s.expired.contains(token) ? .expired : .unknown
        }
    }

    /// Permits issued and not completed.
    var liveCount: Int { state.withLock { $0.live.count } }

    /// Forgets every live permit without recording anything (shutdown: after a restart they are
    /// unknown, SPEC §12).
    func forgetAll() {
        let tasks = state.withLock { s in
            defer { s.live.removeAll() }
            return s.live.values.map(\.expiry)
        }
        for t in tasks { t.cancel() }
    }

    /// Moves `token` from live to expired; `false` if it was completed first.
    private func expire(_ token: String) -> Bool {
        state.withLock { s in
            guard s.live.removeValue(forKey: token) != nil else { return false }
            s.expired.insert(token)
            s.expiredOrder.append(token)
            if s.expiredOrder.count - s.expiredHead > expiredCapacity {
                s.expired.remove(s.expiredOrder[s.expiredHead])
                s.expiredHead += 1
                if s.expiredHead > expiredCapacity {
                    s.expiredOrder.removeFirst(s.expiredHead)
                    s.expiredHead = 0
                }
            }
            return true
        }
    }

    /// 128 random bits from the system's secure generator, as 32 hex digits.
    static func newToken() -> String {
        var rng = SystemRandomNumberGenerator()
        let (a, b) = (rng.next() as UInt64, rng.next() as UInt64)
        return hex(a) + hex(b)
    }

    private static func hex(_ v: UInt64) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }
}
