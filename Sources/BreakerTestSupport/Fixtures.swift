public import BreakerCore
public import BreakerRuntime
public import Logging

/// Ready-made pieces for tests.
public enum Fixtures {
    /// A logger that drops everything (tests never bootstrap logging).
    public static let silentLogger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    /// A breaker on a manual clock with an in-memory sink and no logging.
    public static func breaker(
        _ configuration: BreakerConfiguration = .standard, clock: ManualWallClock = ManualWallClock(),
        sink: InMemoryFactSink = InMemoryFactSink()
    ) -> CircuitBreaker {
        CircuitBreaker(configuration: configuration, wallClock: clock, monotonicClock: clock, sink: sink, logger: silentLogger)
    }
}
