import BreakerCore
public import ServiceLifecycle

/// The background prober of SPEC §6 as a swift-service-lifecycle `Service`.
///
/// Every `probeIntervalMs` of the configuration in force (on the injected clock) it runs one
/// round of ``CircuitBreaker/runHealthProbes()``. It stops cleanly on graceful shutdown or
/// cancellation.
public struct HealthProber: Service {
    let breaker: CircuitBreaker
    let clock: any Clock<Duration>

    /// - Parameters:
    ///   - breaker: the breaker whose OPEN keys to probe.
    ///   - clock: what the prober sleeps on between rounds (a manual clock in tests).
    public init(breaker: CircuitBreaker, clock: any Clock<Duration> = ContinuousClock()) {
        self.breaker = breaker
        self.clock = clock
    }

    /// The wait between rounds: read each round, so a configuration change applies to the next.
    var interval: Duration { .milliseconds(breaker.configuration.runtime.probeIntervalMs) }

    /// Probes every interval until graceful shutdown or cancellation, then returns normally.
    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                while !Task.isCancelled {
                    await breaker.runHealthProbes()
                    try await Self.sleep(clock, interval)
                }
            }
        } catch is CancellationError {
            // Stopping is the expected end of the prober, not a failure of the service group.
        }
    }

    private static func sleep<C: Clock<Duration>>(_ clock: C, _ d: Duration) async throws {
        try await clock.sleep(for: d)
    }
}
