-- TenantBreaker event log, schema version 4: changes of the configuration of a store in use
-- (SPEC §2). config is the whole configuration in force from ts on, in the file format; actor and
-- reason say who changed it and why. meta 'configuration' stays the configuration the store was
-- created with: a rebuild folds these rows, in log order, over it.
CREATE TABLE config_changes (
    seq    INTEGER PRIMARY KEY,
    ts     INTEGER NOT NULL,
    actor  TEXT NOT NULL,
    reason TEXT NOT NULL,
    config TEXT NOT NULL
);

-- A configure action queued for the owner carries the whole configuration (op 'configure').
ALTER TABLE inbox ADD COLUMN config TEXT;
