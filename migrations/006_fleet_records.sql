-- TenantBreaker event log, schema version 6: fleet episodes that reached this node (SPEC §14).
-- One row per `fleet` record: the key (tenant, tool) it names, how many nodes voted and their names,
-- one per line (a node name has no control characters). The key's transition to OPEN, when the
-- episode moved it, is a row of transitions after it (cause fleet_quorum).
CREATE TABLE fleet_records (
    seq    INTEGER PRIMARY KEY,
    ts     INTEGER NOT NULL,
    tenant TEXT NOT NULL,
    tool   TEXT NOT NULL,
    votes  INTEGER NOT NULL,
    nodes  TEXT NOT NULL
);
