/// A clock whose instants are wall times (``Timestamp``, ms since the Unix epoch, UTC).
///
/// The core never reads a clock; the runtime is handed one. Production uses the system
/// clock; tests and simulation use a manual clock that only moves when told.
public protocol WallClock: Clock where Instant == Timestamp {}
