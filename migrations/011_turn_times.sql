-- TenantBreaker event log, schema version 11: when each turn began, to the millisecond (SPEC §16).
-- A tenant's error budget and burn rates count turns in windows as short as five minutes: whole
-- hours come from hourly_rollups, the rest from this column through its index. first_ts is the
-- time of the turn's first call record, ms since the epoch; for turns of older stores it is filled
-- in from the call records kept (NULL when compaction took them: such turns are counted by hour).
ALTER TABLE turns ADD COLUMN first_ts INTEGER;

UPDATE turns SET first_ts = m.first_ts
FROM (
    SELECT turn, min(ts) + (SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'ts_base') AS first_ts
    FROM calls WHERE turn IS NOT NULL
    GROUP BY turn
) AS m
WHERE turns.id = m.turn;

CREATE INDEX turns_by_first_ts ON turns(tenant_id, first_ts);
