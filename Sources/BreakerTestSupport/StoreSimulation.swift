public import BreakerCore
import BreakerOwner
public import BreakerRuntime

/// Runs `trace` through an owner of the store at `path` on a virtual clock, as `simulate` does,
/// and returns the live machine at the end. The log is left as a crash would leave it (no final
/// snapshot), so that a rebuild replays its tail. `snapshotEveryLines` also queues a snapshot
/// after every that many trace lines, at exactly that place in the log.
public func simulate(
    _ trace: Trace, into path: String, configuration: BreakerConfiguration, snapshotEvery: Int = 50_000, batchSize: Int = 4096,
    snapshotEveryLines: Int? = nil
) async throws -> BreakerMachine {
    let clock = ManualWallClock(start: trace.lines.first?.at ?? Timestamp(milliseconds: 0))
    var options = StoreOwner.Options(configuration: configuration)
    options.dropsCallRecordsWhenFull = false
    options.wallClock = clock
    options.logger = Fixtures.silentLogger
    options.batchSize = batchSize
    options.snapshotEvery = snapshotEvery
    let owner = try StoreOwner(path: path, options: options)
    return try await owner.withWriter(finalSnapshot: false) { breaker in
        if let lines = snapshotEveryLines {
            Simulation(breaker: breaker, clock: clock).run(trace, progressEvery: lines) { _, _ in owner.queueSnapshot() }
        } else {
            Simulation(breaker: breaker, clock: clock).run(trace)
        }
        return breaker.machine
    }
}

extension BreakerMachine {
    /// The machine `events` fold into from an empty one under `configuration`.
    public static func replaying(_ events: some Sequence<BreakerEvent>, configuration: BreakerConfiguration) -> BreakerMachine {
        var m = BreakerMachine(configuration: configuration)
        for e in events { m.fold(m.fact(of: e)) }
        return m
    }
}
