import BreakerCore
import BreakerRuntime

/// The permits `serve` has issued (SPEC §12): unguessable strings, each bound to the one call it
/// was issued for and completed once — by the agent, or at its deadline as a `timeout`.
///
/// Deadlines are the calls' own (``InFlightCall/deadline``), on the breaker's monotonic clock.
final class PermitTable: Sendable {
    /// What a completion finds under a permit string.
    enum Lookup: Sendable {
        /// Issued and not yet completed: now taken, so nobody else completes it.
        case live(InFlightCall)
        /// Recorded as a `timeout` at its deadline.
        case expired
        /// Never issued, already completed, or issued before a restart.
        case unknown
    }

    private struct State {
        var live: [String: InFlightCall] = [:]
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
    /// The breaker's monotonic clock.
    private let now: @Sendable () -> Duration

    init(expiredCapacity: Int = 100_000, now: @escaping @Sendable () -> Duration) {
        self.expiredCapacity = expiredCapacity
        self.now = now
    }

    /// Issues a permit string for `call`.
    func issue(_ call: InFlightCall) -> String {
        let token = Self.newToken()
        let tick = Self.tick(of: call.deadline)
        state.withLock { s in
            s.live[token] = call
            s.due[max(tick, s.nextTick), default: []].append(token)
        }
        return token
    }

    /// Takes the permit `token` for its completion.
    func take(_ token: String) -> Lookup {
        state.withLock { s in
            if let call = s.live.removeValue(forKey: token) { return .live(call) }
            return s.expired.contains(token) ? .expired : .unknown
        }
    }

    /// Takes every live permit whose deadline has passed at `now`, moving them to expired: the
    /// caller records their timeouts.
    func expire(at now: Duration) -> [InFlightCall] {
        let last = Self.tick(of: now)
        return state.withLock { s in
            var out: [InFlightCall] = []
            while s.nextTick <= last {
                for token in s.due.removeValue(forKey: s.nextTick) ?? [] {
                    guard let call = s.live[token] else { continue }
                    guard call.deadline <= now else {
                        s.due[s.nextTick + 1, default: []].append(token)
                        continue
                    }
                    s.live[token] = nil
                    remember(token, &s)
                    out.append(call)
                }
                s.nextTick += 1
            }
            return out
        }
    }

    /// Records the timeout of every permit past its deadline every `tick` until cancelled (SPEC
    /// §12: at admission + callTimeoutMs, give or take one tick).
    func sweep(_ record: @Sendable (InFlightCall) async -> Void) async {
        while !Task.isCancelled {
            for call in expire(at: now()) { await record(call) }
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

    private static func tick(of instant: Duration) -> Int64 {
        let d = instant.components
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
