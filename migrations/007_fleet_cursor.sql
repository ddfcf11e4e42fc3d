-- TenantBreaker event log, schema version 7: what a fleet node needs of its own store (SPEC §14).
-- fleet_seq: the fleet's sequence number of the episode a fleet record answers (null for one read
-- from a trace), so that a node restarted from its store knows which fleet entries it applied.
-- store_id: the store's identity, which the fleet remembers with the node name first used with it.
ALTER TABLE fleet_records ADD COLUMN fleet_seq INTEGER;
INSERT OR IGNORE INTO meta(key, value) VALUES ('store_id', lower(hex(randomblob(16))));
