/// A wall-clock instant: whole milliseconds since the Unix epoch, UTC.
///
/// Every time in the event log, the reports and the simulation is a `Timestamp`.
/// It conforms to `InstantProtocol` so a ``WallClock`` can hand it out and sleep until it.
public struct Timestamp: Sendable, Hashable, Comparable, InstantProtocol, CustomStringConvertible {
    public typealias Duration = Swift.Duration

    /// Milliseconds since 1970-01-01T00:00:00Z.
    public var milliseconds: Int64

    /// Creates an instant from milliseconds since the Unix epoch (UTC).
    @inlinable
    public init(milliseconds: Int64) {
        self.milliseconds = milliseconds
    }

    @inlinable
    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        lhs.milliseconds < rhs.milliseconds
    }

    /// The instant `duration` later, truncated to whole milliseconds.
    public func advanced(by duration: Swift.Duration) -> Timestamp {
        let (seconds, attoseconds) = duration.components
        return Timestamp(milliseconds: milliseconds + seconds * 1000 + attoseconds / 1_000_000_000_000_000)
    }

    /// The duration from this instant to `other`.
    public func duration(to other: Timestamp) -> Swift.Duration {
        .milliseconds(other.milliseconds - milliseconds)
    }

    /// The instant `ms` milliseconds later.
    @inlinable
    public func adding(milliseconds ms: Int64) -> Timestamp {
        Timestamp(milliseconds: milliseconds + ms)
    }

    /// ISO 8601 in UTC with milliseconds, e.g. `2026-11-28T13:05:00.250Z`.
    public var description: String { iso8601 }
}
