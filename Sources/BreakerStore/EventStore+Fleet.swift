public import BreakerCore
import GRDB

extension EventStore {
    /// The store's identity (meta `store_id`, made by migration 7): a fleet remembers which store
    /// each node name was first used with (SPEC §14).
    public func storeID() throws(BreakerError) -> String {
        try read { db in
            guard let id = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'store_id'") else {
                throw BreakerError(.storeCorrupt, "the store has no store_id in meta; it was not migrated to schema version 7")
            }
            return id
        }
    }

    /// The fleet sequence number of the last fleet entry (episode, action, configuration) this
    /// store recorded (0 when none): a node applies the fleet's entries after it, once.
    public func lastFleetSeq() throws(BreakerError) -> Int64 {
        try read { db in
            try Int64.fetchOne(
                db,
                sql: """
                    SELECT MAX(s) FROM (SELECT MAX(fleet_seq) AS s FROM fleet_records
                        UNION ALL SELECT MAX(fleet_seq) FROM operator_actions UNION ALL SELECT MAX(fleet_seq) FROM config_changes)
                    """) ?? 0
        }
    }
}
