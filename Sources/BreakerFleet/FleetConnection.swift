import BreakerCore
import Logging
import PostgresNIO

/// One connection to the fleet's PostgreSQL, opened when first needed and again after a failure,
/// every operation bounded by its own deadline (SPEC §14: 2 s).
///
/// At the deadline the connection is closed, which fails the operation at once whatever the
/// server is doing (stopped, paused, unreachable); the next operation connects again. Each loop
/// of a node has its own: a connection is used by one task at a time.
final class FleetConnection: @unchecked Sendable {
    // Safety: used by one task at a time (the loop that owns it); `current` is touched only
    // from that task and from the deadline's child task, which runs while the loop awaits it.
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
    /// - Throws: ``BreakerError`` (`fleet_unavailable`) saying what failed and why.
    @discardableResult
    func perform<T: Sendable>(_ what: String, _ body: @Sendable @escaping (FleetSession, Logger) async throws -> T)
        async throws(BreakerError) -> T
    {
        do {
            return try await withThrowingTaskGroup(of: T?.self) { group in
                group.addTask {
                    let connection = try await self.connection()
                    return try await body(FleetSession(connection: connection, statements: self.statements), self.logger)
                }
                group.addTask {
                    try await Task.sleep(for: self.deadline)
                    return nil
                }
                guard let first = try await group.next(), let value = first else {
                    // The deadline: closing the connection ends the operation's wait.
                    self.drop()
                    group.cancelAll()
                    throw BreakerError(.fleetUnavailable, "\(what): no answer from the fleet's PostgreSQL within \(self.deadline)")
                }
                group.cancelAll()
                return value
            }
        } catch let error as BreakerError {
            drop()
            throw error
        } catch {
            drop()
            throw BreakerError(.fleetUnavailable, "\(what): \(Self.describe(error))")
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
        lock.withLock { $0 = c }
        return c
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
