-- TenantBreaker event log, schema version 2: operator actions queued for a running owner are
-- claimed before they are applied, and removed in the transaction that records them.
-- claimed_by: the owner that took the row ("pid N, <token>"); a row claimed by an owner that no
-- longer runs is applied by the next owner. error: why the owner refused the action (nothing
-- was recorded); the CLI that queued it reports it and removes the row.

ALTER TABLE inbox ADD COLUMN claimed_by TEXT;
ALTER TABLE inbox ADD COLUMN error TEXT;
