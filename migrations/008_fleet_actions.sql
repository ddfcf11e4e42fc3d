-- TenantBreaker event log, schema version 8: fleet actions applied by a node (SPEC §14).
-- fleet_seq: the fleet's sequence number of the fleet action or configuration a row applies
-- (null for one given to this node alone), so that a restarted node applies each once.
ALTER TABLE operator_actions ADD COLUMN fleet_seq INTEGER;
ALTER TABLE config_changes ADD COLUMN fleet_seq INTEGER;
