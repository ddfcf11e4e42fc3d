/// An error raised by TenantBreaker: a stable ``Code``, a message for people, and context.
///
/// The message names the field at fault and what is allowed, so an operator can fix the
/// input without reading source.
public struct BreakerError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stable, extensible identifier for the kind of error.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The code's name, e.g. `invalid_name`.
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// A tenant, tool or turn name breaks SPEC §1.
        public static let invalidName = Code("invalid_name")
        /// A configuration key, type or value is not allowed.
        public static let invalidConfiguration = Code("invalid_configuration")
        /// Text that should be JSON is not.
        public static let malformedJSON = Code("malformed_json")
        /// A simulation trace line is wrong.
        public static let invalidTrace = Code("invalid_trace")
        /// An operator action is not allowed as given.
        public static let invalidOperation = Code("invalid_operation")
        /// The event store cannot be opened, read or written.
        public static let storeUnavailable = Code("store_unavailable")
        /// The store is owned by another process.
        public static let storeLocked = Code("store_locked")
        /// The store was written by a newer schema.
        public static let schemaTooNew = Code("schema_too_new")
        /// The store's content is inconsistent.
        public static let storeCorrupt = Code("store_corrupt")
        /// A report or audit argument is wrong.
        public static let invalidArgument = Code("invalid_argument")
        /// An answer would be larger than its limit allows.
        public static let tooLarge = Code("too_large")
        /// The fleet's PostgreSQL cannot be reached, or refuses what this node asks (SPEC §14).
        public static let fleetUnavailable = Code("fleet_unavailable")
        /// The fleet refuses this node: its name is in use with another store, or its configuration differs.
        public static let fleetRefused = Code("fleet_refused")
    }

    /// What kind of error this is.
    public var code: Code
    /// A human explanation naming the field and the fix.
    public var message: String
    /// Where it happened: tenant, tool, path, line… (empty when nothing applies).
    public var context: [String: String]

    public init(_ code: Code, _ message: String, context: [String: String] = [:]) {
        self.code = code
        self.message = message
        self.context = context
    }

    public var description: String { message }
}
