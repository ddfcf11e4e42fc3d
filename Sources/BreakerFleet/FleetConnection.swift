import BreakerCore
import BreakerRuntime
import Logging
import PostgresNIO

/// One connection to the fleet's PostgreSQL, opened when first needed and again after a failure,
/// every operation bounded by its own deadline (SPEC §14: 2 s).
///
/// At the deadline the caller gets its answer and the connection is closed, which fails the
/// operation whatever the server is doing (stopped, paused, unreachable, or its path stalled); the
/// next operation connects again. Each loop of a node has its own: operations are run one at a
/// time, and one abandoned while still connecting never runs.
final class FleetConnection: Sendable {
    // The connection in use is under `lock`: an abandoned connect may still finish while the next
    // operation runs.
    private let endpoint: FleetEndpoint
    private let deadline: Duration
    private let logger: Logger
    private let lock = Locked<PostgresConnection?>(nil)
    private let statements: StatementCount
    private static let ids = Locked(0)

    /// `statements` counts what this connection sends (a node's own count, across its loops).
    init(endpoint: FleetEndpoint, deadline: Duration = .seconds(2), logger: Logger, statements: StatementCount = StatementCount()) {
        self.endpoint = endpoint
        self.deadline = deadline
        self.logger = logger
        self.statements = statements
    }

    /// Runs `body` on the connection within the deadline; on failure the connection is dropped.
    ///
    /// The deadline bounds the caller's wait whatever the operation is doing: connecting to a
    /// server that accepted the connection and then says nothing, a query on a path that stalls.
    /// An operation still running then is abandoned (its task cancelled, its connection closed).
    /// - Throws: ``BreakerError`` (`fleet_unavailable`) saying what failed and why.
    @discardableResult
    func perform<T: Sendable>(_ what: String, _ body: @Sendable @escaping (FleetSession, Logger) async throws -> T)
        async throws(BreakerError) -> T
    {
        let (seconds, attoseconds) = deadline.components
        let race = await Race<T>.run(timeoutMs: seconds * 1000 + attoseconds / 1_000_000_000_000_000, clock: ContinuousClock()) {
            let connection = try await self.connection()
            // Abandoned while connecting: the operation is not run late, beside the next one.
            try Task.checkCancellation()
            return try await body(FleetSession(connection: connection, statements: self.statements), self.logger)
        }
        switch race {
        case .value(let value):
            return value
        case .timeout:
            drop()
            throw BreakerError(.fleetUnavailable, "\(what): no answer from the fleet's PostgreSQL within \(deadline)")
        case .error(let error as BreakerError):
            drop()
            throw error
        case .error(let error):
            drop()
            throw BreakerError(.fleetUnavailable, "\(what): \(Self.describe(error))")
        case .cancelled:
            drop()
            throw BreakerError(.fleetUnavailable, "\(what): cancelled")
        }
    }

    /// Closes the connection (the node is stopping, or an operation failed).
    func drop() {
        let connection = lock.withLock { c -> PostgresConnection? in
            defer { c = nil }
            return c
        }
        // The completion holds the connection until its channel is closed: PostgresNIO requires a
        // connection to be closed before it goes.
        guard let connection else { return }
        connection.close().whenComplete { _ in withExtendedLifetime(connection) {} }
    }

    private func connection() async throws -> PostgresConnection {
        if let c = lock.withLock({ $0 }), !c.isClosed { return c }
        let id = Self.ids.withLock { n -> Int in
            n += 1
            return n
        }
        let c = try await PostgresConnection.connect(
            configuration: try endpoint.configuration(connectTimeout: deadline), id: id, logger: logger)
        // A connection that came after its operation was abandoned finds another in its place:
        // the one in place is kept, this one closed.
        let kept = lock.withLock { current -> PostgresConnection? in
            if let current, !current.isClosed { return current }
            current = c
            return nil
        }
        guard let kept else { return c }
        c.close().whenComplete { _ in withExtendedLifetime(c) {} }
        return kept
    }

    /// A PostgreSQL error as one line: the server's message when it sent one.
    static func describe(_ error: any Error) -> String {
        if let e = error as? PSQLError {
            if let message = e.serverInfo?[.message] { return "PostgreSQL says: \(message)" }
            return "\(e.code)" + (e.underlying.map { ": \($0)" } ?? "")
        }
        return "\(error)"
    }
}

/// The statements a node has sent to the fleet's PostgreSQL (SPEC §14: heartbeats and rollups,
/// never per call): `agent_circuit_breaker_fleet_statements_total`, and `bench serve --fleet`'s figure.
final class StatementCount: Sendable {
    private let count = Locked(0)
    private let onAdd: (@Sendable (Int) -> Void)?

    init(onAdd: (@Sendable (Int) -> Void)? = nil) { self.onAdd = onAdd }

    var value: Int { count.withLock { $0 } }

    func add(_ n: Int) {
        count.withLock { $0 += n }
        onAdd?(n)
    }
}

/// A connection as a fleet operation uses it: every statement it sends is counted, a
/// transaction's `BEGIN` and `COMMIT` too.
struct FleetSession: Sendable {
    let connection: PostgresConnection
    let statements: StatementCount

    @discardableResult
    func query(_ query: PostgresQuery, logger: Logger, file: String = #fileID, line: Int = #line) async throws
        -> PostgresRowSequence
    {
        statements.add(1)
        return try await connection.query(query, logger: logger, file: file, line: line)
    }

    func withTransaction<R: Sendable>(logger: Logger, _ body: (FleetSession) async throws -> R) async throws -> R {
        statements.add(2)
        let counted = statements
        return try await connection.withTransaction(logger: logger) { c in
            try await body(FleetSession(connection: c, statements: counted))
        }
    }
}
