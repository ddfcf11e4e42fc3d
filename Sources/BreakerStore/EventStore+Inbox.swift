public import BreakerCore
import GRDB

/// An operator action waiting in the store's inbox for the running owner.
public struct InboxAction: Sendable, Hashable {
    public var id: Int64
    public var op: OperatorOp
    public var tool: String
    public var tenant: String?
    public var actor: String
    public var reason: String
}

extension EventStore {
    /// Queues an operator action for the process that owns `path` (no ownership needed).
    /// Returns the inbox id; the owner applies and removes it within a second.
    public static func submit(
        path: String, op: OperatorOp, tool: String, tenant: String?, actor: String, reason: String
    ) throws(BreakerError) -> Int64 {
        do {
            var config = Configuration()
            config.busyMode = .timeout(5)
            let queue = try DatabaseQueue(path: path, configuration: config)
            return try queue.write { db in
                try db.execute(
                    sql:
                        "INSERT INTO inbox(submitted_at, op, tool, tenant, actor, reason) VALUES (strftime('%s','now') * 1000, ?, ?, ?, ?, ?)",
                    arguments: [op.rawValue, tool, tenant, actor, reason])
                return db.lastInsertedRowID
            }
        } catch {
            throw storeError(error, path: path)
        }
    }

    /// Whether the inbox still holds action `id` (not yet applied by the owner).
    public static func isPending(path: String, id: Int64) throws(BreakerError) -> Bool {
        do {
            var config = Configuration()
            config.readonly = true
            config.busyMode = .timeout(5)
            let queue = try DatabaseQueue(path: path, configuration: config)
            return try queue.read { db in
                try Int64.fetchOne(db, sql: "SELECT count(*) FROM inbox WHERE id = ?", arguments: [id]) ?? 0 > 0
            }
        } catch {
            throw storeError(error, path: path)
        }
    }

    /// The owner takes every queued action, oldest first, removing them from the inbox.
    public func takeInbox() throws(BreakerError) -> [InboxAction] {
        do {
            return try db.write { db in
                let rows = try Row.fetchAll(db, sql: "SELECT id, op, tool, tenant, actor, reason FROM inbox ORDER BY id")
                try db.execute(sql: "DELETE FROM inbox")
                return rows.compactMap { r in
                    guard let op = OperatorOp(rawValue: r[1]) else { return nil }
                    return InboxAction(id: r[0], op: op, tool: r[2], tenant: r[3], actor: r[4], reason: r[5])
                }
            }
        } catch {
            throw Self.storeError(error, path: path)
        }
    }
}
