public import BreakerCore

/// Runs a ``Trace`` through the real ``CircuitBreaker`` on a virtual clock (SPEC §10).
///
/// A call is admitted at `at`; an admitted call completes at `at + latency_ms` with its
/// result, or times out at `at + callTimeoutMs` when `latency_ms ≥ callTimeoutMs` or the
/// result is `hang`. Events run in time order; at one time, completions first (in admission
/// order), then the trace's lines in file order. After the last line every pending completion
/// runs.
public struct Simulation: Sendable {
    /// Counts of what a run did.
    public struct Summary: Sendable, Hashable {
        public var lines = 0
        public var calls = 0
        public var rejected = 0
        /// Calls for new keys beyond `limits.maxKeys`, run unguarded and recorded nowhere.
        public var untracked = 0
        public var operatorActions = 0
        public var configurationChanges = 0
        public var fleetEpisodes = 0
        public var firstTime: Timestamp?
        public var lastTime: Timestamp?
    }

    private struct Pending: Comparable {
        let time: Timestamp
        let order: Int
        let permit: Permit
        let outcome: CallOutcome
        static func < (a: Pending, b: Pending) -> Bool {
            a.time == b.time ? a.order < b.order : a.time < b.time
        }
        static func == (a: Pending, b: Pending) -> Bool { a.time == b.time && a.order == b.order }
    }

    let breaker: CircuitBreaker
    let clock: ManualWallClock

    /// - Parameters:
    ///   - breaker: a breaker whose wall clock is `clock`.
    ///   - clock: the virtual clock, set to each event's time before it runs.
    public init(breaker: CircuitBreaker, clock: ManualWallClock) {
        self.breaker = breaker
        self.clock = clock
    }

    /// Runs every line of `trace`. `progress` is called every `progressEvery` lines.
    @discardableResult
    public func run(
        _ trace: Trace, progressEvery: Int = 50_000, progress: (Int, Int) -> Void = { _, _ in }
    ) -> Summary {
        var summary = Summary()
        var heap = BinaryHeap<Pending>()
        var order = 0

        func drain(through limit: Timestamp?) {
            while let next = heap.min, limit.map({ next.time <= $0 }) ?? true {
                _ = heap.popMin()
                clock.set(to: next.time)
                _ = breaker.complete(next.permit, next.outcome, at: next.time)
                summary.lastTime = next.time
            }
        }

        for (n, line) in trace.lines.enumerated() {
            drain(through: line.at)
            clock.set(to: line.at)
            summary.lines += 1
            summary.firstTime = summary.firstTime ?? line.at
            summary.lastTime = line.at
            switch line {
            case .call(let call):
                summary.calls += 1
                switch breaker.admit(tenant: call.tenant, tool: call.tool, turn: call.turn, at: call.at) {
                case .rejected:
                    summary.rejected += 1
                case .untracked:
                    // A new key beyond limits.maxKeys: nothing is kept or recorded for it.
                    summary.untracked += 1
                case .admitted(let permit):
                    let timeout = permit.callTimeoutMs
                    let pending: Pending
                    if call.result == .hang || (call.latencyMs ?? timeout) >= timeout {
                        pending = Pending(
                            time: call.at.adding(milliseconds: timeout), order: order, permit: permit, outcome: .timeout)
                    } else {
                        let latency = call.latencyMs ?? 0
                        let outcome: CallOutcome
                        switch call.result {
                        case .ok: outcome = .success(latencyUs: latency * 1000)
                        case .error(let type): outcome = .failure(errorType: type, latencyUs: latency * 1000)
                        case .hang: outcome = .timeout
                        }
                        pending = Pending(time: call.at.adding(milliseconds: latency), order: order, permit: permit, outcome: outcome)
                    }
                    order += 1
                    heap.insert(pending)
                }
            case .operatorAction(let op):
                summary.operatorActions += 1
                breaker.apply(op.action, at: op.at)
            case .configure(let c):
                summary.configurationChanges += 1
                breaker.configure(c.configuration, actor: c.actor, reason: c.reason, at: c.at)
            case .fleet(let episode, _):
                summary.fleetEpisodes += 1
                breaker.receive(fleetEpisode: episode, at: episode.time)
            }
            if (n + 1) % progressEvery == 0 { progress(n + 1, trace.lines.count) }
        }
        drain(through: nil)
        return summary
    }
}

/// A binary min-heap.
struct BinaryHeap<Element: Comparable> {
    private var items: [Element] = []

    var min: Element? { items.first }
    var isEmpty: Bool { items.isEmpty }

    mutating func insert(_ e: Element) {
        items.append(e)
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard items[i] < items[parent] else { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    mutating func popMin() -> Element? {
        guard !items.isEmpty else { return nil }
        items.swapAt(0, items.count - 1)
        let top = items.removeLast()
        var i = 0
        while true {
            let l = 2 * i + 1
            let r = l + 1
            var m = i
            if l < items.count, items[l] < items[m] { m = l }
            if r < items.count, items[r] < items[m] { m = r }
            if m == i { break }
            items.swapAt(i, m)
            i = m
        }
        return top
    }
}
