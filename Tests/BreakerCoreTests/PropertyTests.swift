import BreakerCore
import BreakerRuntime
import BreakerTestSupport
import Testing

@Suite struct PropertyTests {
    /// The O(1) p95 decision agrees with sorting the window, on thousands of random windows.
    @Test(arguments: [1, 2, 3])
    func theP95DecisionMatchesASortBasedReference(seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        for _ in 0..<2000 {
            let threshold = Int64.random(in: 100...3000, using: &rng) * 1000
            let n = Int.random(in: 1...120, using: &rng)
            var entries: [SlidingWindow.Entry] = []
            for i in 0..<n {
                let timedOut = Int.random(in: 0..<10, using: &rng) == 0
                let latency = timedOut ? threshold + 1000 : Int64.random(in: 0...(threshold * 2), using: &rng)
                let e = SlidingWindow.Entry(
                    time: Int64(i), latencyUs: latency, failed: timedOut, slow: timedOut || latency > threshold, timedOut: timedOut)
                entries.append(e)
            }
            let window = SlidingWindow(entries: entries)
            let sorted = entries.sorted { a, b in a.timedOut == b.timedOut ? a.latencyUs < b.latencyUs : !a.timedOut }
            let element = sorted[min(n * 95 / 100, n - 1)]
            let reference = element.timedOut || element.latencyUs > threshold
            #expect(window.p95IsSlow == reference, "n=\(n)")
            #expect(window.p95LatencyUs == element.latencyUs)
        }
    }

    @Test func theP95IndexIsFloorOfNTimesPointNineFive() {
        for n in 1...5000 {
            let expected = min(Int((Double(n) * 0.95).rounded(.down)), n - 1)
            #expect(SlidingWindow.p95Index(n) == expected)
        }
    }

    /// Folding the emitted facts gives exactly the live state (the basis of rebuild).
    @Test(arguments: 1...12)
    func replayingTheEventsGivesTheLiveState(seed: UInt64) {
        let clock = ManualWallClock()
        let sink = InMemoryEventSink()
        let breaker = Fixtures.breaker(RandomWorkload.lively, clock: clock, sink: sink)
        Simulation(breaker: breaker, clock: clock).run(RandomWorkload.trace(seed: seed, lines: 3000))
        var replay = BreakerMachine(configuration: RandomWorkload.lively)
        for e in sink.events { replay.apply(e) }
        let live = breaker.machine
        #expect(live.hasSameDurableState(as: replay))
        #expect(live.keys.count == replay.keys.count)
        let transitions = sink.events.filter { if case .transition = $0 { return true } else { return false } }.count
        #expect(transitions > 20, "the workload must exercise transitions")
    }

    @Test(arguments: 1...5)
    func aSnapshotRoundTripsThroughItsEncoding(seed: UInt64) throws {
        let clock = ManualWallClock()
        let breaker = Fixtures.breaker(RandomWorkload.lively, clock: clock)
        Simulation(breaker: breaker, clock: clock).run(RandomWorkload.trace(seed: seed, lines: 2000))
        let snapshot = breaker.machine.snapshot
        let decoded = try BreakerMachine.Snapshot(decoding: snapshot.encoded())
        #expect(decoded == snapshot)
        let restored = BreakerMachine(configuration: RandomWorkload.lively, snapshot: decoded)
        #expect(restored.hasSameDurableState(as: breaker.machine))
    }

    @Test func recordedTimesNeverDecrease() {
        let clock = ManualWallClock()
        let sink = InMemoryEventSink()
        let breaker = Fixtures.breaker(RandomWorkload.lively, clock: clock, sink: sink)
        Simulation(breaker: breaker, clock: clock).run(RandomWorkload.trace(seed: 99, lines: 3000))
        let times = sink.events.map(\.time)
        #expect(zip(times, times.dropFirst()).allSatisfy { $0 <= $1 })
    }
}
