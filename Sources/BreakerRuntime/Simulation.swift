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

    /// A completion to run: its permit and outcome wait in the run's slots, so that the heap
    /// moves 24 bytes, not a permit and its names.
    fileprivate struct Pending: Comparable {
        let time: Timestamp
        let order: Int
        let slot: Int
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
        var run = Run(self)
        for (n, line) in trace.lines.enumerated() {
            run.feed(line)
            if (n + 1) % progressEvery == 0 { progress(n + 1, trace.lines.count) }
        }
        return run.finish()
    }

    /// A run fed one line at a time, in time order: for input too large to hold as a ``Trace``
    /// (a what-if replay of a store), and for a caller that watches each call's admission.
    public struct Run {
        let simulation: Simulation
        private var summary = Summary()
        private var heap = BinaryHeap<Pending>()
        private var order = 0
        private var slots: [(permit: Permit, outcome: CallOutcome)?] = []
        private var freeSlots: [Int] = []

        public init(_ simulation: Simulation) { self.simulation = simulation }

        /// The completions still pending (admitted calls not yet ended).
        public var pendingCount: Int { heap.count }

        /// Runs every completion due at or before `limit` (all of them when `nil`).
        private mutating func drain(through limit: Timestamp?) {
            while let next = heap.min, limit.map({ next.time <= $0 }) ?? true {
                _ = heap.popMin()
                let (permit, outcome) = slots[next.slot]!
                slots[next.slot] = nil
                freeSlots.append(next.slot)
                simulation.clock.set(to: next.time)
                _ = simulation.breaker.complete(permit, outcome, at: next.time)
                summary.lastTime = next.time
            }
        }

        /// Runs one line (not earlier than the line before): first the completions due by its
        /// time, then the line. Returns a call's admission (`nil` for any other line).
        @discardableResult
        public mutating func feed(_ line: Trace.Line) -> Admission? {
            drain(through: line.at)
            let breaker = simulation.breaker
            simulation.clock.set(to: line.at)
            summary.lines += 1
            summary.firstTime = summary.firstTime ?? line.at
            summary.lastTime = line.at
            switch line {
            case .call(let call):
                summary.calls += 1
                let admission = breaker.admit(tenant: call.tenant, tool: call.tool, turn: call.turn, at: call.at)
                switch admission {
                case .rejected:
                    summary.rejected += 1
                case .untracked:
                    // A new key beyond limits.maxKeys: nothing is kept or recorded for it.
                    summary.untracked += 1
                case .admitted(let permit):
                    let (time, outcome) = Self.completion(of: call, permit: permit)
                    let slot: Int
                    if let free = freeSlots.popLast() {
                        slot = free
                        slots[slot] = (permit, outcome)
                    } else {
                        slot = slots.count
                        slots.append((permit, outcome))
                    }
                    heap.insert(Pending(time: time, order: order, slot: slot))
                    order += 1
                }
                return admission
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
            return nil
        }

        /// Runs every pending completion and returns what the run did.
        public mutating func finish() -> Summary {
            drain(through: nil)
            return summary
        }

        /// When and how an admitted call ends: at `at + latency_ms` with its result, or at
        /// `at + callTimeoutMs` as a timeout; a call of unknown outcome ends at once, cancelled.
        private static func completion(of call: Trace.TraceCall, permit: Permit) -> (Timestamp, CallOutcome) {
            let timeout = permit.callTimeoutMs
            if call.result == .unknown {
                return (call.at, .cancelled(latencyUs: 0))
            }
            if call.result == .hang || (call.latencyMs ?? timeout) >= timeout {
                return (call.at.adding(milliseconds: timeout), .timeout)
            }
            let latency = call.latencyMs ?? 0
            let outcome: CallOutcome
            switch call.result {
            case .ok: outcome = .success(latencyUs: call.latencyUs ?? latency * 1000)
            case .error(let type): outcome = .failure(errorType: type, latencyUs: call.latencyUs ?? latency * 1000)
            case .hang: outcome = .timeout
            case .unknown: outcome = .cancelled(latencyUs: 0)
            }
            return (call.at.adding(milliseconds: latency), outcome)
        }
    }
}

/// A binary min-heap.
struct BinaryHeap<Element: Comparable> {
    private var items: [Element] = []

    var min: Element? { items.first }
    var isEmpty: Bool { items.isEmpty }
    var count: Int { items.count }

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
