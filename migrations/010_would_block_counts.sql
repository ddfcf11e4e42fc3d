-- TenantBreaker event log, schema version 10: what shadow keys would have blocked, per tenant and
-- hour (SPEC §15, `report --shadow`), kept with the other hourly counts so that it survives
-- compaction. A turn's flags gain 4: it has a shadow call. Counts of stores written by schema 9
-- are filled in from the shadow calls they keep.
ALTER TABLE hourly_rollups ADD COLUMN turns_would_block INTEGER NOT NULL DEFAULT 0;
ALTER TABLE hourly_rollups ADD COLUMN calls_would_block INTEGER NOT NULL DEFAULT 0;

UPDATE turns SET flags = flags | 4
WHERE id IN (SELECT c.turn FROM shadow_calls s JOIN calls c ON c.seq = s.seq WHERE c.turn IS NOT NULL);

UPDATE hourly_rollups SET calls_would_block = agg.n
FROM (
    SELECT k.tenant_id AS tenant_id,
           ((c.ts + (SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'ts_base')) / 3600000) * 3600000 AS hour,
           count(*) AS n
    FROM shadow_calls s JOIN calls c ON c.seq = s.seq JOIN keys k ON k.id = c.packed >> 6
    GROUP BY 1, 2
) AS agg
WHERE hourly_rollups.tenant_id = agg.tenant_id AND hourly_rollups.hour = agg.hour;

UPDATE hourly_rollups SET turns_would_block = agg.n
FROM (
    SELECT tenant_id,
           (SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'ts_base') + first_hour * 3600000 AS hour,
           count(*) AS n
    FROM turns WHERE flags & 4 = 4
    GROUP BY 1, 2
) AS agg
WHERE hourly_rollups.tenant_id = agg.tenant_id AND hourly_rollups.hour = agg.hour;
