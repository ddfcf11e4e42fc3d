package import BreakerCore
import GRDB

/// A request waiting in the store's inbox for the owner to apply (SPEC §8), as the owner gets
/// it: typed and checked. The store alone spells it as a row.
package struct InboxAction: Sendable, Hashable {
    /// What is asked.
    package enum Request: Sendable, Hashable {
        /// An operator action; its `requestID` is the row's id.
        case operatorAction(OperatorAction)
        /// A configuration change, validated as a whole (SPEC §2).
        case configure(BreakerConfiguration, actor: String, reason: String)
    }

    package var id: Int64
    package var request: Request
}

/// Where a queued action stands, as the CLI that queued it sees it.
package enum InboxState: Sendable, Hashable {
    /// Waiting for an owner to take it.
    case pending
    /// An owner took it; it is gone once its record is durable.
    case claimed(by: String)
    /// The owner refused it (nothing was recorded), for this reason.
    case refused(String)
    /// Applied: its operator record is durable (the row goes in the same transaction).
    case applied
}

extension EventStore {
    /// A short write connection to the store, for a process that does not own it.
    private static func withQueue<T>(path: String, _ body: (DatabaseQueue) throws -> T) throws(BreakerError) -> T {
        do {
            var config = Configuration()
            config.busyMode = .timeout(5)
            return try body(try DatabaseQueue(path: path, configuration: config))
        } catch {
            throw storeError(error, path: path)
        }
    }

    /// Queues an operator action for whichever process owns `path` (no ownership needed).
    /// Returns the inbox id; the owner applies it within a second and removes the row in the
    /// transaction that records it.
    package static func submit(path: String, action: OperatorAction) throws(BreakerError) -> Int64 {
        try insert(
            path: path, op: action.op.name, tool: action.tool.rawValue, tenant: action.tenant?.rawValue, config: nil,
            actor: action.actor, reason: action.reason)
    }

    /// Queues a configuration change (SPEC §2) for whichever process owns `path`.
    package static func submit(path: String, configuration: BreakerConfiguration, actor: String, reason: String) throws(BreakerError)
        -> Int64
    {
        try insert(path: path, op: "configure", tool: "", tenant: nil, config: configuration.jsonText, actor: actor, reason: reason)
    }

    private static func insert(
        path: String, op: String, tool: String, tenant: String?, config: String?, actor: String, reason: String
    ) throws(BreakerError) -> Int64 {
        try withQueue(path: path) { queue in
            try queue.write { db in
                try db.execute(
                    sql: """
                        INSERT INTO inbox(submitted_at, op, tool, tenant, config, actor, reason)
                        VALUES (strftime('%s','now') * 1000, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [op, tool, tenant, config, actor, reason])
                return db.lastInsertedRowID
            }
        }
    }

    /// Where the queued action `id` stands.
    package static func inboxState(path: String, id: Int64) throws(BreakerError) -> InboxState {
        try withQueue(path: path) { queue in
            try queue.read { db in
                guard let row = try Row.fetchOne(db, sql: "SELECT claimed_by, error FROM inbox WHERE id = ?", arguments: [id]) else {
                    return .applied
                }
                if let error: String = row[1] { return .refused(error) }
                if let owner: String = row[0] { return .claimed(by: owner) }
                return .pending
            }
        }
    }

    /// Removes the queued action `id` unless an owner has taken it (or removes it once refused).
    /// Returns whether it was removed: an action an owner took is applied, never withdrawn.
    package static func withdraw(path: String, id: Int64) throws(BreakerError) -> Bool {
        try withQueue(path: path) { queue in
            try queue.write { db in
                try db.execute(sql: "DELETE FROM inbox WHERE id = ? AND (claimed_by IS NULL OR error IS NOT NULL)", arguments: [id])
                return db.changesCount == 1
            }
        }
    }

    /// The owner takes every queued action it has not taken yet, oldest first: unclaimed ones,
    /// and ones an earlier owner took but did not record (it died). Refused ones stay for their
    /// CLI. A row that is not a valid request (a name SPEC §1 refuses, a reset of every tenant,
    /// an invalid configuration) is refused here, with the reason its CLI reports, and is
    /// returned in `refused`; nothing is recorded for it.
    package func claimInbox(owner: String) throws(BreakerError) -> (actions: [InboxAction], refused: [(id: Int64, message: String)]) {
        do {
            return try db.write { db in
                let rows = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT id, op, tool, tenant, actor, reason, config FROM inbox
                        WHERE error IS NULL AND (claimed_by IS NULL OR claimed_by != ?) ORDER BY id
                        """, arguments: [owner])
                var actions: [InboxAction] = []
                var refused: [(id: Int64, message: String)] = []
                for r in rows {
                    let id: Int64 = r[0]
                    do {
                        let request = try Self.request(op: r[1], tool: r[2], tenant: r[3], actor: r[4], reason: r[5], config: r[6], id: id)
                        try db.execute(sql: "UPDATE inbox SET claimed_by = ? WHERE id = ?", arguments: [owner, id])
                        actions.append(InboxAction(id: id, request: request))
                    } catch let e as BreakerError {
                        try db.execute(sql: "UPDATE inbox SET error = ? WHERE id = ?", arguments: [e.message, id])
                        refused.append((id, e.message))
                    }
                }
                return (actions, refused)
            }
        } catch {
            throw Self.storeError(error, path: path)
        }
    }

    /// The request an inbox row spells, checked as the CLI checks it (SPEC §1, §2, §7).
    private static func request(
        op: String, tool: String, tenant: String?, actor: String, reason: String, config: String?, id: Int64
    ) throws(BreakerError) -> InboxAction.Request {
        if op == "configure" {
            return .configure(try BreakerConfiguration(json: config ?? ""), actor: actor, reason: reason)
        }
        guard let op = OperatorOp(name: op) else {
            throw BreakerError(.invalidOperation, "unknown operator action \(String(reflecting: op))")
        }
        let tool = try ToolID(tool)
        let tenant = try tenant.map { (t) throws(BreakerError) in try TenantID(t) }
        let command: OperatorCommand
        do {
            command = try OperatorCommand(op: op, tenant: tenant)
        } catch {
            throw BreakerError(error.code, error.message, context: ["tool": tool.rawValue])
        }
        return .operatorAction(OperatorAction(command, tool: tool, actor: actor, reason: reason, requestID: id))
    }

    /// The owner refuses queued action `id`: nothing is recorded; its CLI reports `message`.
    package func refuseInbox(id: Int64, message: String) throws(BreakerError) {
        do {
            try db.write { db in try db.execute(sql: "UPDATE inbox SET error = ? WHERE id = ?", arguments: [message, id]) }
        } catch {
            throw Self.storeError(error, path: path)
        }
    }
}
