public import BreakerCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The system's wall clock: `now` reads `CLOCK_REALTIME`; sleeping waits on the monotonic
/// clock, so a wall-clock step does not stretch or cut a sleep.
public struct SystemWallClock: WallClock {
    public init() {}

    /// The current wall time, ms since the Unix epoch (UTC).
    public var now: Timestamp {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Timestamp(milliseconds: Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000)
    }

    public var minimumResolution: Duration { .milliseconds(1) }

    /// Sleeps until the wall clock reads `deadline`, measured as a monotonic duration from now.
    public func sleep(until deadline: Timestamp, tolerance: Duration?) async throws {
        let remaining = deadline.milliseconds - now.milliseconds
        if remaining > 0 {
            try await ContinuousClock().sleep(for: .milliseconds(remaining), tolerance: tolerance)
        }
    }
}
