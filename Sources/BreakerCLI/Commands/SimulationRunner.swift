import BreakerCore
import BreakerOwner
import BreakerRuntime
import Logging

/// Runs a parsed trace into a new store through the real runtime and writer (an owner whose
/// wall clock is the trace's virtual time; it reads no inbox and runs no prober).
enum SimulationRunner {
    static func run(
        _ trace: Trace, configuration: BreakerConfiguration, storePath: String, logLevel: Logger.Level = .critical,
        progress: ((Int, Int) -> Void)?
    ) async throws -> Simulation.Summary {
        let clock = ManualWallClock(start: trace.lines.first?.at ?? Timestamp(milliseconds: 0))
        var options = StoreOwner.Options(configuration: configuration)
        options.mustCreate = true
        options.dropsCallRecordsWhenFull = false
        // A simulation keeps every record or fails: a full disk is reported after a short retry.
        options.closeTimeout = .seconds(2)
        options.wallClock = clock
        options.logger = Logger(label: "breakerctl.simulate")
        options.logger.logLevel = logLevel
        let owner = try StoreOwner(path: storePath, options: options)
        let summary = try await owner.withWriter { breaker in
            Simulation(breaker: breaker, clock: clock).run(trace, progress: progress ?? { _, _ in })
        }
        return summary
    }
}
