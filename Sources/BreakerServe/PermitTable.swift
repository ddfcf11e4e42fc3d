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
        var live: [String: Issued] = [:]
        /// Live permits by the sweep tick of their deadline (a timer wheel: no timer per permit).
        var due: [Int64: [String]] = [:]
        /// The first tick not yet swept.
        var nextTick: Int64 = 0
        /// Expired permits, remembered so a late completion is told `timeout` (SPEC §12), oldest
        /// forgotten first beyond `expiredCapacity`.
        var expired: Set<String> = []
        var expiredOrder: [String] = []
        var expiredHead = 0
    }

    private let state = Locked(State())
    private let expiredCapacity: Int
    private let origin = ContinuousClock.now

    init(expiredCapacity: Int = 100_000) {
        self.expiredCapacity = expiredCapacity
    }

    /// Issues a permit string for `permit`, admitted at `started`.
    func issue(_ permit: Permit, started: ContinuousClock.Instant) -> String {
        let token = Self.newToken()
        let tick = Self.tick(of: started.advanced(by: .milliseconds(permit.callTimeoutMs)), origin: origin)
        state.withLock { s in
            s.live[token] = Issued(permit: permit, started: started)
            s.due[max(tick, s.nextTick), default: []].append(token)
        }
        return token
    }

    /// Takes the permit `token` for its completion.
    func take(_ token: String) -> Lookup {
        state.withLock { s in
            if let issued = s.live.removeValue(forKey: token) { return .live(issued) }
            return s.expired.contains(token) ? .expired : .unknown
        }
    }

    /// Takes every live permit whose deadline has passed at `now`, moving them to expired: the
    /// caller records their timeouts.
    func expire(at now: ContinuousClock.Instant) -> [Permit] {
        let last = Self.tick(of: now, origin: origin)
        return state.withLock { s in
            var out: [Permit] = []
            while s.nextTick <= last {
                for token in s.due.removeValue(forKey: s.nextTick) ?? [] {
                    guard let issued = s.live[token] else { continue }
                    guard issued.started.advanced(by: .milliseconds(issued.permit.callTimeoutMs)) <= now else {
                        s.due[s.nextTick + 1, default: []].append(token)
                        continue
                    }
                    s.live[token] = nil
                    remember(token, &s)
                    out.append(issued.permit)
                }
                s.nextTick += 1
            }
            return out
        }
    }

    /// Records the timeout of every permit past its deadline every `tick` until cancelled (SPEC
    /// §12: at admission + callTimeoutMs, give or take one tick).
    func sweep(_ record: @Sendable (Permit) async -> Void) async {
        while !Task.isCancelled {
            for permit in expire(at: .now) { await record(permit) }
            try? await Task.sleep(for: Self.tickLength)
        }
    }

    /// Permits issued and not completed.
    var liveCount: Int { state.withLock { $0.live.count } }

    /// Forgets every live permit without recording anything (shutdown: after a restart they are
    /// unknown, SPEC §12).
    func forgetAll() {
        state.withLock { s in
            s.live.removeAll()
            s.due.removeAll()
        }
    }

    private func remember(_ token: String, _ s: inout State) {
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
    }

    static let tickLength: Duration = .milliseconds(10)

    private static func tick(of instant: ContinuousClock.Instant, origin: ContinuousClock.Instant) -> Int64 {
        let d = (instant - origin).components
        return (d.seconds * 1000 + d.attoseconds / 1_000_000_000_000_000) / 10
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
