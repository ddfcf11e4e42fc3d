/// The schema migrations, embedded so `breakerctl` works when copied alone.
///
/// `migrations/*.sql` is the source of truth; a test proves these copies byte-equal to it.
enum Migrations {
    /// (version, file name, SQL), in order.
    static let all: [(version: Int, file: String, sql: String)] = [
        (1, "001_event_log.sql", migration001),
        (2, "002_inbox_claims.sql", migration002),
        (3, "003_log_gaps.sql", migration003),
        (4, "004_configuration_changes.sql", migration004),
        (5, "005_log_gap_states.sql", migration005),
        (6, "006_fleet_records.sql", migration006),
        (7, "007_fleet_cursor.sql", migration007),
        (8, "008_fleet_actions.sql", migration008),
        (9, "009_shadow_calls.sql", migration009),
        (10, "010_would_block_counts.sql", migration010),
        (11, "011_turn_times.sql", migration011),
    ]

    static let migration001 = #"""
        -- TenantBreaker event log, schema version 1.
        -- Times are ms since the Unix epoch (UTC); calls.ts is relative to meta 'ts_base'.
        -- seq is the position in the log, shared by calls, transitions, operator_actions and global_outages.

        CREATE TABLE meta (
            key   TEXT PRIMARY KEY,
            value TEXT NOT NULL
        ) WITHOUT ROWID;

        -- Dictionary of tenant, tool and error-type names.
        CREATE TABLE names (
            id   INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE
        );

        -- One row per (tenant, tool) key.
        CREATE TABLE keys (
            id        INTEGER PRIMARY KEY,
            tenant_id INTEGER NOT NULL REFERENCES names(id),
            tool_id   INTEGER NOT NULL REFERENCES names(id),
            UNIQUE (tenant_id, tool_id)
        );

        -- One row per agent turn, keyed by (tenant, turn name).
        -- first_hour: the hour of the turn's first call record (the turn belongs to it), counted in hours
        -- since meta 'ts_base';
        -- flags: 1 = has a rejected call, 2 = has a rejected, failed or timed-out call.
        CREATE TABLE turns (
            tenant_id  INTEGER NOT NULL,
            name       TEXT NOT NULL,
            id         INTEGER NOT NULL,
            first_hour INTEGER NOT NULL,
            flags      INTEGER NOT NULL,
            PRIMARY KEY (tenant_id, name)
        ) WITHOUT ROWID;

        -- Call records, compact: packed = key_id << 6 | outcome << 2 | probe << 1 | stale, where outcome is
        -- 0 success, 1 failure, 2 timeout, 3 cancelled, 4 rejected circuit_open, 5 rejected
        -- half_open_probe_in_flight, 6 rejected forced_open, 7 rejected awaiting_health_probe.
        -- turn is turns.id (NULL for a health-check probe).
        CREATE TABLE calls (
            seq        INTEGER PRIMARY KEY,
            ts         INTEGER NOT NULL,
            packed     INTEGER NOT NULL,
            turn       INTEGER,
            latency_us INTEGER,
            generation INTEGER NOT NULL
        );

        -- The error type (names.id) of each failed call, by the call's seq: kept apart so that the
        -- common call row carries no column for it.
        CREATE TABLE call_errors (
            seq   INTEGER PRIMARY KEY,
            error INTEGER NOT NULL
        );

        CREATE TABLE transitions (
            seq        INTEGER PRIMARY KEY,
            ts         INTEGER NOT NULL,
            key_id     INTEGER NOT NULL REFERENCES keys(id),
            from_state INTEGER NOT NULL,
            to_state   INTEGER NOT NULL,
            cause      INTEGER NOT NULL,
            generation INTEGER NOT NULL,
            failures   INTEGER,
            calls      INTEGER,
            p95_us     INTEGER,
            actor      TEXT,
            reason     TEXT,
            opened_at  INTEGER
        );

        CREATE TABLE operator_actions (
            seq    INTEGER PRIMARY KEY,
            ts     INTEGER NOT NULL,
            tenant TEXT,
            tool   TEXT NOT NULL,
            op     TEXT NOT NULL,
            actor  TEXT NOT NULL,
            reason TEXT NOT NULL
        );

        CREATE TABLE global_outages (
            seq     INTEGER PRIMARY KEY,
            ts      INTEGER NOT NULL,
            tool    TEXT NOT NULL,
            tenants INTEGER NOT NULL
        );

        -- Per-tenant hourly counts, maintained as calls are logged; the SLA report reads these.
        -- hour is the hour's start in ms since the epoch. turns* count the turns that belong to the hour
        -- (the hour of their first call record); calls* count call records whose own time is in the hour.
        CREATE TABLE hourly_rollups (
            tenant_id       INTEGER NOT NULL,
            hour            INTEGER NOT NULL,
            turns           INTEGER NOT NULL,
            turns_blocked   INTEGER NOT NULL,
            turns_degraded  INTEGER NOT NULL,
            calls           INTEGER NOT NULL,
            calls_blocked   INTEGER NOT NULL,
            calls_failed    INTEGER NOT NULL,
            calls_timed_out INTEGER NOT NULL,
            PRIMARY KEY (tenant_id, hour)
        ) WITHOUT ROWID;

        -- The durable machine state after the record at seq (rebuild = latest snapshot + tail).
        CREATE TABLE snapshots (
            seq        INTEGER PRIMARY KEY,
            created_at INTEGER NOT NULL,
            data       BLOB NOT NULL
        );

        -- Operator actions submitted by the CLI for the running owner to apply.
        CREATE TABLE inbox (
            id           INTEGER PRIMARY KEY,
            submitted_at INTEGER NOT NULL,
            op           TEXT NOT NULL,
            tool         TEXT NOT NULL,
            tenant       TEXT,
            actor        TEXT NOT NULL,
            reason       TEXT NOT NULL
        );

        """#

    static let migration002 = #"""
        -- TenantBreaker event log, schema version 2: operator actions queued for a running owner are
        -- claimed before they are applied, and removed in the transaction that records them.
        -- claimed_by: the owner that took the row ("pid N, <token>"); a row claimed by an owner that no
        -- longer runs is applied by the next owner. error: why the owner refused the action (nothing
        -- was recorded); the CLI that queued it reports it and removes the row.

        ALTER TABLE inbox ADD COLUMN claimed_by TEXT;
        ALTER TABLE inbox ADD COLUMN error TEXT;

        """#

    static let migration003 = #"""
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

        """#

    static let migration004 = #"""
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

        """#

    static let migration005 = #"""
        -- TenantBreaker event log, schema version 5: what a gap keeps of the keys its dropped records named.
        -- A log_gap row is now written where the drops end (ts: the time of the last record before it), and
        -- keys holds, in the snapshot encoding, the live state there of every key a dropped call record
        -- named: a replay lays it over those keys and reaches the live state again (SPEC §8; README "What a
        -- gap means for the window"). NULL in rows written before this version, whose ts is from_ts.
        ALTER TABLE log_gaps ADD COLUMN keys BLOB;

        """#

    static let migration006 = #"""
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

        """#

    static let migration007 = #"""
        -- TenantBreaker event log, schema version 7: what a fleet node needs of its own store (SPEC §14).
        -- fleet_seq: the fleet's sequence number of the episode a fleet record answers (null for one read
        -- from a trace), so that a node restarted from its store knows which fleet entries it applied.
        -- store_id: the store's identity, which the fleet remembers with the node name first used with it.
        ALTER TABLE fleet_records ADD COLUMN fleet_seq INTEGER;
        INSERT OR IGNORE INTO meta(key, value) VALUES ('store_id', lower(hex(randomblob(16))));

        """#

    static let migration008 = #"""
        -- TenantBreaker event log, schema version 8: fleet actions applied by a node (SPEC §14).
        -- fleet_seq: the fleet's sequence number of the fleet action or configuration a row applies
        -- (null for one given to this node alone), so that a restarted node applies each once.
        ALTER TABLE operator_actions ADD COLUMN fleet_seq INTEGER;
        ALTER TABLE config_changes ADD COLUMN fleet_seq INTEGER;

        """#

    static let migration009 = #"""
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

        """#

    static let migration010 = #"""
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

        """#

    static let migration011 = #"""
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

        """#
}
