-- TenantBreaker event log, schema version 3: gaps in the log (SPEC §8).
-- When the log cannot be written for a while, call records that do not fit the owner's bounded
-- queue are dropped and counted; once writing resumes, one row here says how many, and the times
-- of the first (from_ts) and last (to_ts) of them. ts is from_ts: the gap sits in the log where
-- the first dropped record would have been. Transitions and operator actions are never dropped.
CREATE TABLE log_gaps (
    seq     INTEGER PRIMARY KEY,
    ts      INTEGER NOT NULL,
    from_ts INTEGER NOT NULL,
    to_ts   INTEGER NOT NULL,
    dropped INTEGER NOT NULL
);
