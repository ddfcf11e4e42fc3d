-- TenantBreaker event log, schema version 5: what a gap keeps of the keys its dropped records named.
-- A log_gap row is now written where the drops end (ts: the time of the last record before it), and
-- keys holds, in the snapshot encoding, the live state there of every key a dropped call record
-- named: a replay lays it over those keys and reaches the live state again (SPEC §8; README "What a
-- gap means for the window"). NULL in rows written before this version, whose ts is from_ts.
ALTER TABLE log_gaps ADD COLUMN keys BLOB;
