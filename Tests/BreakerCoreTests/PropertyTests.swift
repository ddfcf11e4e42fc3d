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
        let sink = InMemoryFactSink()
        let breaker = Fixtures.breaker(RandomWorkload.lively, clock: clock, sink: sink)
        Simulation(breaker: breaker, clock: clock).run(RandomWorkload.trace(seed: seed, lines: 3000, fleetRate: 0.003))
        let replay = BreakerMachine.replaying(sink.events, configuration: RandomWorkload.lively)
        let live = breaker.machine
        #expect(live.hasSameDurableState(as: replay))
        #expect(live.keys.count == replay.keys.count)
        let transitions = sink.events.filter { if case .transition = $0 { return true } else { return false } }.count
        #expect(transitions > 20, "the workload must exercise transitions")
    }

    /// The same with configuration changes in the trace (SPEC §2): replay folds them in order and
    /// ends with the live state and configuration.
    @Test(arguments: 21...26)
    func replayingEventsWithConfigurationChangesGivesTheLiveState(seed: UInt64) {
        let clock = ManualWallClock()
        let sink = InMemoryFactSink()
        let breaker = Fixtures.breaker(RandomWorkload.lively, clock: clock, sink: sink)
        let trace = RandomWorkload.trace(seed: seed, lines: 3000, configureRate: 0.004)
        Simulation(breaker: breaker, clock: clock).run(trace)
        let replay = BreakerMachine.replaying(sink.events, configuration: RandomWorkload.lively)
        #expect(breaker.machine.hasSameDurableState(as: replay))
        let changes = sink.events.filter { if case .configuration = $0 { return true } else { return false } }.count
        #expect(changes >= 4, "the workload must change the configuration several times")
        #expect(breaker.machine.configuration != RandomWorkload.lively)
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

    @Test(arguments: [7, 8, 9] as [UInt64])
    func recordedTimesNeverDecreaseWhenTheWallClockStepsBack(seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        let clock = ManualWallClock(start: Timestamp(milliseconds: 1_795_852_800_000))
        let sink = InMemoryFactSink()
        let breaker = Fixtures.breaker(RandomWorkload.lively, clock: clock, sink: sink)
        var highest = Int64.min  // the highest time the breaker has read
        var permits: [Permit] = []
        var steppedBack = 0
        for i in 0..<3000 {
            // The wall clock moves forward most of the time and steps back now and then.
            let step = Int64.random(in: -5_000...2_000, using: &rng)
            if step < 0 { steppedBack += 1 }
            clock.set(to: clock.now.adding(milliseconds: step))
            highest = max(highest, clock.now.milliseconds)
            let before = sink.events.count
            let tenant = try! TenantID("tenant-\(Int.random(in: 0..<4, using: &rng))")
            let tool = try! ToolID("tool-\(Int.random(in: 0..<2, using: &rng))")
            if Int.random(in: 0..<50, using: &rng) == 0 {
                breaker.apply(OperatorAction(.forceOpen(.allTenants), tool: tool, actor: "a", reason: "r"))
            } else if !permits.isEmpty, Bool.random(using: &rng) {
                let p = permits.remove(at: Int.random(in: 0..<permits.count, using: &rng))
                _ = breaker.complete(
                    p, Bool.random(using: &rng) ? .success(latencyUs: 10) : .failure(errorType: try! ErrorType("E"), latencyUs: 10))
            } else if case .admitted(let p) = breaker.admit(tenant: tenant, tool: tool, turn: try! TurnID("t\(i)")) {
                permits.append(p)
            }
            // Every record of this step carries the highest time the clock has read so far.
            for e in sink.events[before...] {
                #expect(e.time.milliseconds == highest, "step \(i): \(e.time.milliseconds) vs \(highest)")
            }
        }
        #expect(steppedBack > 500, "the clock must have stepped back for the check to mean anything")
        let times = sink.events.map(\.time)
        #expect(times.count > 1000)
        #expect(zip(times, times.dropFirst()).allSatisfy { $0 <= $1 })
    }
}
