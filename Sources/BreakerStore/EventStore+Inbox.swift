package import BreakerCore
import GRDB

/// An operator action waiting in the store's inbox for the owner to apply (SPEC §8).
package struct InboxAction: Sendable, Hashable {
    /// What is asked: an operator action, or a configuration change (its JSON, not yet checked).
    package enum Request: Sendable, Hashable {
        case operatorAction(OperatorOp)
        case configure(String)
    }

    package var id: Int64
    package var request: Request
    /// The tool and tenant as the CLI wrote them; the owner validates them (SPEC §1).
    package var tool: String
    package var tenant: String?
    package var actor: String
    package var reason: String
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
    package static func submit(
        path: String, op: OperatorOp, tool: String, tenant: String?, actor: String, reason: String
    ) throws(BreakerError) -> Int64 {
        try insert(path: path, op: op.name, tool: tool, tenant: tenant, config: nil, actor: actor, reason: reason)
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
    /// and ones an earlier owner took but did not record (it died). Refused ones stay for their CLI.
    package func claimInbox(owner: String) throws(BreakerError) -> [InboxAction] {
        do {
            return try db.write { db in
                let rows = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT id, op, tool, tenant, actor, reason, config FROM inbox
                        WHERE error IS NULL AND (claimed_by IS NULL OR claimed_by != ?) ORDER BY id
                        """, arguments: [owner])
                var out: [InboxAction] = []
                for r in rows {
                    let id: Int64 = r[0]
                    try db.execute(sql: "UPDATE inbox SET claimed_by = ? WHERE id = ?", arguments: [owner, id])
                    let request: InboxAction.Request
                    if r[1] as String == "configure" {
                        request = .configure(r[6] ?? "")
                    } else if let op = OperatorOp(name: r[1]) {
                        request = .operatorAction(op)
                    } else {
                        try db.execute(
                            sql: "UPDATE inbox SET error = ? WHERE id = ?",
                            arguments: ["unknown operator action \(String(reflecting: r[1] as String))", id])
                        continue
                    }
                    out.append(InboxAction(id: id, request: request, tool: r[2], tenant: r[3], actor: r[4], reason: r[5]))
                }
                return out
            }
        } catch {
            throw Self.storeError(error, path: path)
        }
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
