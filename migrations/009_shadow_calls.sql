-- TenantBreaker event log, schema version 9: shadow calls (SPEC §15).
-- A shadow call is a call a key in shadow would have rejected and ran instead; it changes nothing
-- in the key, so its calls row has the stale bit set (a replay passes over it as over a stale
-- outcome). This row says it was a shadow call: reason is the rejection it stood in for
-- (0 circuit_open, 1 half_open_probe_in_flight, 2 forced_open, 3 awaiting_health_probe) and stale
-- whether the key's generation had also moved on by its end.
CREATE TABLE shadow_calls (
    seq    INTEGER PRIMARY KEY,
    reason INTEGER NOT NULL,
    stale  INTEGER NOT NULL
);
