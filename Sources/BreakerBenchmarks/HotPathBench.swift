import ArgumentParser
import BreakerCLI
import BreakerCore
import BreakerRuntime
import Foundation

struct HotPathBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hot-path",
        abstract: "admit + record of successful calls on closed circuits, round-robin over K keys.",
        discussion: """
            In-process, single task, no tool work: each call is CircuitBreaker.admit then \
            CircuitBreaker.complete (lock, wall-clock read, state machine, event handed to a \
            discarding sink). Prints {"scenario":"hot-path","calls":N,"keys":K,"ns_per_call":X}.

            --machine-only times the bare state machine instead. --breakdown times, in one run, \
            the full path, the bare machine, a read of the system wall clock as the breaker reads \
            it (wall_clock_read_ns: the kernel is asked a few times per millisecond, the \
            timestamp counter answers the rest), a plain clock_gettime(CLOCK_REALTIME) \
            (clock_gettime_ns) and a round trip of the breaker's lock, so that what each part \
            costs is compared on equal terms.
            """)

    @Option(help: "Distinct (tenant, tool) keys.") var keys = 1000
    @Option(help: "Calls to time (after a warm-up of one call per key).") var calls = 10_000_000
    @Flag(help: "Admit through key handles (breaker.key(tenant:tool:)) instead of by names.")
    var handles = false
    @Flag(help: "Time the bare state machine (no lock, clock or sink) instead, to see what the runtime adds.")
    var machineOnly = false
    @Flag(help: "Time by names, through handles, the bare machine, wall-clock reads and a lock round trip in one run.")
    var breakdown = false

    func validate() throws {
        guard keys >= 1 else { throw ValidationError("--keys must be at least 1") }
        guard calls >= 1 else { throw ValidationError("--calls must be at least 1") }
        guard [machineOnly, breakdown, handles].filter({ $0 }).count <= 1 else {
            throw ValidationError("--handles, --machine-only and --breakdown exclude each other")
        }
    }

    func run() async throws {
        // Plain locals: reading an @Option inside the timed loop would be measured too.
        let keys = self.keys
        let calls = self.calls
        let tools = 10
        var names: [(TenantID, ToolID, TurnID)] = []
        for i in 0..<keys {
            names.append((try TenantID("tenant-\(i / tools)"), try ToolID("tool-\(i % tools)"), try TurnID("turn-\(i)")))
        }
        func line(_ scenario: String, _ ns: Double) -> String {
            "{\"scenario\":\"\(scenario)\",\"calls\":\(calls),\"keys\":\(keys),\"ns_per_call\":\(Self.format(ns))}\n"
        }
        if machineOnly {
            writeOut(line("hot-path-machine-only", Self.timeMachine(names, calls: calls)))
            return
        }
        if handles {
            writeOut(line("hot-path-handles", try Self.timeBreaker(names, calls: calls, handles: true)))
            return
        }
        let full = try Self.timeBreaker(names, calls: calls, handles: false)
        guard breakdown else {
            writeOut(line("hot-path", full))
            return
        }
        let viaHandles = try Self.timeBreaker(names, calls: calls, handles: true)
        let machine = Self.timeMachine(names, calls: calls)
        let clockRead = Self.timeClockReads(calls)
        let lockRoundTrip = Self.timeLockRoundTrips(calls)
        writeOut(
            "{\"scenario\":\"hot-path-breakdown\",\"calls\":\(calls),\"keys\":\(keys),\"ns_per_call\":\(Self.format(full)),"
                + "\"handles_ns_per_call\":\(Self.format(viaHandles)),"
                + "\"machine_only_ns_per_call\":\(Self.format(machine)),\"wall_clock_read_ns\":\(Self.format(clockRead.reader)),"
                + "\"clock_gettime_ns\":\(Self.format(clockRead.kernel)),"
                + "\"lock_round_trip_ns\":\(Self.format(lockRoundTrip))}\n")
    }

    static func format(_ ns: Double) -> String { String(format: "%.1f", ns) }

    static func nanoseconds(_ d: Duration, per n: Int) -> Double { LogBench.seconds(d) * 1e9 / Double(n) }

    /// ns per admit + complete through a ``CircuitBreaker`` with the system wall clock, by
    /// names or through key handles. Every call produces its exact call record (handed to a
    /// discarding sink).
    static func timeBreaker(_ names: [(TenantID, ToolID, TurnID)], calls: Int, handles: Bool) throws -> Double {
        let breaker = CircuitBreaker(configuration: .standard)
        let keyHandles = names.map { breaker.key(tenant: $0.0, tool: $0.1) }
        for (t, o, u) in names {
            if case .admitted(let p) = breaker.admit(tenant: t, tool: o, turn: u) {
                _ = breaker.complete(p, .success(latencyUs: 1000))
            }
        }
        // Separate arrays, read in place: the loop copies no tuple of names per call.
        let tenants = names.map(\.0)
        let tools = names.map(\.1)
        let turns = names.map(\.2)
        var admittedCount = 0
        let elapsed = ContinuousClock().measure {
            var k = 0
            for _ in 0..<calls {
                let admission =
                    handles
                    ? breaker.admit(keyHandles[k], turn: turns[k]) : breaker.admit(tenant: tenants[k], tool: tools[k], turn: turns[k])
                if case .admitted(let p) = admission {
                    _ = breaker.complete(p, .success(latencyUs: 1000))
                    admittedCount += 1
                }
                k += 1
                if k == names.count { k = 0 }
            }
        }
        guard admittedCount == calls else {
            throw BreakerError(.invalidArgument, "only \(admittedCount) of \(calls) calls were admitted; the benchmark is invalid")
        }
        return nanoseconds(elapsed, per: calls)
    }

    /// ns per admit + complete on a bare ``BreakerMachine``, with a virtual clock that
    /// advances 1 ms every 1000 calls.
    static func timeMachine(_ names: [(TenantID, ToolID, TurnID)], calls: Int) -> Double {
        var machine = BreakerMachine(configuration: .standard)
        var facts: [Fact] = []
        let t0 = Timestamp(milliseconds: 1_795_824_000_000)
        let elapsed = ContinuousClock().measure {
            var k = 0
            for i in 0..<calls {
                let (t, o, u) = names[k]
                facts.removeAll(keepingCapacity: true)
                let now = t0.adding(milliseconds: Int64(i / 1000))
                if case .admitted(let p) = machine.admit(BreakerKey(tenant: t, tool: o), turn: u, at: now, facts: &facts).result {
                    _ = machine.complete(p, .success(latencyUs: 1000), at: now, facts: &facts)
                }
                k += 1
                if k == names.count { k = 0 }
            }
        }
        return nanoseconds(elapsed, per: calls)
    }

    /// ns per read of the system wall clock: as the breaker reads it (``SystemWallClock/MillisecondReader``)
    /// and as a `CLOCK_REALTIME` call on every read.
    static func timeClockReads(_ n: Int) -> (reader: Double, kernel: Double) {
        var reader = SystemWallClock.MillisecondReader()
        var sum: Int64 = 0
        let readerElapsed = ContinuousClock().measure {
            for _ in 0..<n { sum &+= reader.read() }
        }
        let wall = SystemWallClock()
        let kernelElapsed = ContinuousClock().measure {
            for _ in 0..<n { sum &+= wall.now.milliseconds }
        }
        blackHole(sum)
        return (nanoseconds(readerElapsed, per: n), nanoseconds(kernelElapsed, per: n))
    }

    /// ns per uncontended lock + unlock of the breaker's lock type.
    static func timeLockRoundTrips(_ n: Int) -> Double {
        let lock = Locked(0)
        let elapsed = ContinuousClock().measure {
            for i in 0..<n { lock.withLock { $0 &+= i } }
        }
        blackHole(lock.withLock { $0 })
        return nanoseconds(elapsed, per: n)
    }

    /// Keeps `value` alive so the loop that computed it is not optimised away.
    @inline(never)
    static func blackHole<T>(_ value: T) {}
}
