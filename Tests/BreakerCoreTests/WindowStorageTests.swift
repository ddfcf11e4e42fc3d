import BreakerCore
import BreakerTestSupport
import Testing

/// The machine keeps windows in rings of its own (growing, wrapping, shared between copies
/// until one writes); these tests hold them to a plain list of entries and to value semantics.
@Suite struct WindowStorageTests {
    /// A machine whose windows never open: only the window's contents are under test.
    static func neverOpening(windowMs: Int64) -> BreakerConfiguration {
        try! BreakerConfiguration(
            defaults: SettingsOverride(failureThreshold: 1_000_000, minimumCalls: 1_000_000, windowMs: windowMs))
    }

    /// A call on `key` at `now` with a random latency (0–6 s) and outcome, completed at once;
    /// returns the entry SPEC §3 appends to the key's window (`nil`, and an issue, if rejected).
    static func randomCall(_ h: inout Harness, _ key: BreakerKey, at now: Int64, _ rng: inout SeededGenerator) -> SlidingWindow.Entry? {
        guard let p = h.permit(key, at: now) else {
            Issue.record("a never-opening key rejected a call")
            return nil
        }
        let latencyMs = Int64.random(in: 0...6000, using: &rng)
        let failed = Bool.random(using: &rng)
        let outcome: CallOutcome =
            failed ? .failure(errorType: try! ErrorType("E"), latencyUs: latencyMs * 1000) : .success(latencyUs: latencyMs * 1000)
        h.complete(p, outcome, at: now)
        return SlidingWindow.Entry(
            time: Harness.t(now).milliseconds, latencyUs: latencyMs * 1000, failed: failed, slow: latencyMs > 3000, timedOut: false)
    }

    /// A plain window after `entry`: every entry, minus those older than `entry.time − windowMs`.
    static func appending(_ entry: SlidingWindow.Entry, to window: SlidingWindow, windowMs: Int64) -> SlidingWindow {
        SlidingWindow(entries: (window.entries + [entry]).filter { $0.time >= entry.time - windowMs })
    }

    /// Random outcomes at random, sometimes bursty, sometimes sparse times: the ring grows,
    /// wraps and evicts, and must hold exactly what a plain window holds after the same appends.
    @Test(arguments: [11, 12, 13, 14])
    func theMachinesWindowMatchesAPlainWindow(seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        let windowMs = Int64.random(in: 300...1500, using: &rng)
        var h = Harness.machine(Self.neverOpening(windowMs: windowMs))
        let keys = (0..<3).map { Harness.key("tenant-\($0)", "search") }
        // Per key, the entries SPEC §3 keeps: every outcome, minus those older than the newest − windowMs.
        var references = Array(repeating: SlidingWindow(), count: keys.count)
        var now: Int64 = 0
        var maxCount = 0
        for step in 0..<6000 {
            now +=
                Int.random(in: 0..<500, using: &rng) == 0
                ? Int64.random(in: 0...(windowMs * 2), using: &rng) : Int64.random(in: 0...1, using: &rng)
            let k = Int.random(in: 0..<keys.count, using: &rng)
            guard let entry = Self.randomCall(&h, keys[k], at: now, &rng) else { return }
            references[k] = Self.appending(entry, to: references[k], windowMs: windowMs)
            maxCount = max(maxCount, references[k].count)
            if step % 97 == 0 || step == 5999 {
                for (i, key) in keys.enumerated() {
                    // A key not called yet has no state; its reference window is empty.
                    #expect((h.state(key)?.window ?? SlidingWindow()) == references[i], "seed \(seed) step \(step) key \(i)")
                    #expect((h.machine.status(of: key)?.windowCalls ?? 0) == references[i].count)
                    #expect((h.machine.status(of: key)?.windowFailures ?? 0) == references[i].failures)
                }
            }
        }
        #expect(maxCount > 100, "the workload must grow a window past several ring sizes")
    }

    /// Idle compaction (buffers cut to their entries; one entry kept without a buffer) changes
    /// nothing a window holds: the same sparse workload, compacted at random moments and copied
    /// (a snapshot) at others, matches a plain window, and the copy keeps its own entries while
    /// the machine goes on.
    @Test(arguments: [31, 32, 33])
    func compactingIdleWindowsKeepsExactlyTheirEntries(seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        let windowMs: Int64 = 1_000
        var h = Harness.machine(Self.neverOpening(windowMs: windowMs))
        let keys = (0..<4).map { Harness.key("tenant-\($0)", "search") }
        var references = Array(repeating: SlidingWindow(), count: keys.count)
        var copies: [(machine: BreakerMachine, windows: [SlidingWindow])] = []
        var now: Int64 = 0
        var compacted = 0
        var inline = 0
        for step in 0..<4000 {
            // Mostly quiet: a key often has zero, one or a few entries when the sweep comes.
            now += Int64.random(in: 0...(windowMs / 2), using: &rng)
            let k = Int.random(in: 0..<keys.count, using: &rng)
            guard let entry = Self.randomCall(&h, keys[k], at: now, &rng) else { return }
            references[k] = Self.appending(entry, to: references[k], windowMs: windowMs)
            if Int.random(in: 0..<5, using: &rng) == 0 {
                // The sweep runs a little later, when some keys are past their window.
                let sweepAt = Harness.t(now + Int64.random(in: 0...(windowMs * 2), using: &rng))
                let before = h.machine.windowBufferBytes
                let idle = h.machine.compactIdleKeys(at: sweepAt, in: 0..<keys.count)
                compacted += idle.count
                inline += idle.count(where: { h.machine.state(of: h.machine.key($0))?.window.count == 1 })
                #expect(h.machine.windowBufferBytes <= before)
            }
            if step % 500 == 250 { copies.append((h.machine, references)) }
            for (i, key) in keys.enumerated() {
                #expect((h.state(key)?.window ?? SlidingWindow()) == references[i], "seed \(seed) step \(step) key \(i)")
            }
        }
        for copy in copies {
            for (i, key) in keys.enumerated() {
                #expect((copy.machine.state(of: key)?.window ?? SlidingWindow()) == copy.windows[i], "a copy kept its entries")
            }
        }
        #expect(compacted > 200 && inline > 50, "the sweep must find idle keys, some with one entry (\(compacted), \(inline))")
    }

    /// A key cut to one entry holds it without a buffer, and a later outcome under a longer
    /// window counts it (SPEC §2: entries are kept until the key's next outcome drops them).
    @Test func anIdleKeysSingleEntryNeedsNoBufferAndStillCounts() throws {
        var h = Harness.machine(try BreakerConfiguration(defaults: SettingsOverride(failureThreshold: 2, windowMs: 1_000)))
        let key = Harness.key()
        let first = h.permit(key, at: 0)
        let p = try #require(first)
        h.complete(p, .failure(errorType: try ErrorType("E"), latencyUs: 10), at: 0)
        #expect(h.machine.windowBufferBytes > 0)
        #expect(h.machine.compactIdleKeys(at: Harness.t(5_000), in: 0..<1).count == 1)
        #expect(h.machine.windowBufferBytes == 0, "one entry, no buffer")
        #expect(h.state(key)?.window.failures == 1)
        h.configure(SettingsOverride(failureThreshold: 2, windowMs: 60_000), at: 5_000)
        let second = h.permit(key, at: 6_000)
        let q = try #require(second)
        h.complete(q, .failure(errorType: try ErrorType("E"), latencyUs: 10), at: 6_000)
        #expect(h.machine.status(of: key)?.state == .open, "the kept entry and the new failure make two")
    }

    /// The slow-call rule as the machine applies it agrees with sorting the window, on
    /// thousands of random windows (the machine's own decision, not only ``SlidingWindow``'s).
    @Test(arguments: [21, 22])
    func theMachineOpensOnSlowCallsExactlyWhenTheSortedP95IsSlow(seed: UInt64) throws {
        var rng = SeededGenerator(seed: seed)
        for round in 0..<1500 {
            let thresholdMs = Int64.random(in: 1...50, using: &rng)
            let n = Int.random(in: 1...60, using: &rng)
            let config = try BreakerConfiguration(
                defaults: SettingsOverride(
                    failureThreshold: 1_000_000, minimumCalls: n, windowMs: 1_000_000, latencyThresholdMs: thresholdMs,
                    callTimeoutMs: thresholdMs * 4))
            var h = Harness.machine(config)
            let key = Harness.key()
            var latencies: [Int64] = []
            for i in 0..<n {
                let us = Int64.random(in: 0...(thresholdMs * 2000), using: &rng)
                latencies.append(us)
                guard let p = h.permit(key, at: Int64(i)) else {
                    Issue.record("round \(round): a closed key rejected a call")
                    return
                }
                h.complete(p, .success(latencyUs: us), at: Int64(i))
                if i < n - 1 { #expect(h.transitions.isEmpty, "opened before minimumCalls") }
            }
            let element = latencies.sorted()[SlidingWindow.p95Index(n)]
            let shouldOpen = element > thresholdMs * 1000
            #expect(h.transitions.count == (shouldOpen ? 1 : 0), "round \(round) n=\(n)")
            if shouldOpen {
                #expect(h.transitions.first?.cause == .slowCalls)
                #expect(h.transitions.first?.p95Us == element)
            }
        }
    }

    /// A copy of a machine keeps its windows when the original writes, and the reverse.
    @Test func aCopiedMachineKeepsItsOwnWindows() throws {
        var h = Harness.machine(Self.neverOpening(windowMs: 60_000))
        let key = Harness.key()
        for i in 0..<20 { h.call(key, at: Int64(i) * 10) }
        let copy = h.machine
        let before = try #require(copy.state(of: key)?.window)
        for i in 20..<40 { h.call(key, at: Int64(i) * 10) }
        #expect(copy.state(of: key)?.window == before)
        #expect(h.state(key)?.window.count == 40)

        var second = h.machine
        var facts: [Fact] = []
        for i in 40..<45 {
            if case .admitted(let p) = second.admit(key, turn: nil, at: Harness.t(Int64(i) * 10), facts: &facts).result {
                _ = second.complete(p, .success(latencyUs: 5), at: Harness.t(Int64(i) * 10), facts: &facts)
            }
        }
        #expect(second.state(of: key)?.window.count == 45)
        #expect(h.state(key)?.window.count == 40)
        #expect(copy.state(of: key)?.window == before)
    }

    /// Thousands of keys, including names that swap tenant and tool, each find their own number.
    @Test func everyKeyFindsItsOwnNumber() {
        var h = Harness.machine(.standard)
        var keys: [BreakerKey] = []
        for i in 0..<3000 {
            keys.append(Harness.key("name-\(i % 60)", "name-\(i / 60)"))
        }
        for (i, key) in keys.enumerated() { h.call(key, at: Int64(i)) }
        #expect(Set(keys.map { h.machine.ref(of: $0) }).count == keys.count)
        for key in keys {
            let ref = h.machine.ref(of: key)
            #expect(ref.map { h.machine.key($0) } == key)
        }
        #expect(h.machine.ref(of: Harness.key("name-0", "name-999")) == nil)
        #expect(h.machine.keys == keys)
    }
}
