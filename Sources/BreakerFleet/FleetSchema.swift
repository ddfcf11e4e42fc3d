import BreakerCore
import Logging
import PostgresNIO

/// The fleet's schema (SPEC §14), embedded so `breakerctl` works when copied alone.
///
/// `migrations/fleet/*.sql` is the source of truth; a test proves these copies byte-equal to it.
/// Each file is a list of statements, one `;` ending each line that ends one.
enum FleetSchema {
    /// (version, file name, SQL), in order.
    static let all: [(version: Int, file: String, sql: String)] = [
        (1, "001_fleet.sql", migration001),
        (2, "002_rollup_cursor.sql", migration002),
        (3, "003_fleet_outages.sql", migration003),
    ]

    /// The newest version this build knows.
    static var newest: Int { all.last!.version }

    /// Creates or upgrades the schema, idempotently: under an advisory lock, so that nodes starting
    /// together apply each version once. Returns the versions applied now.
    static func apply(on connection: FleetSession, logger: Logger) async throws -> [Int] {
        try await connection.withTransaction(logger: logger) { c in
            try await c.query("SELECT pg_advisory_xact_lock(7340000)", logger: logger)
            try await c.query(
                "CREATE TABLE IF NOT EXISTS fleet_schema (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
                logger: logger)
            var current = 0
            for try await v in try await c.query("SELECT COALESCE(MAX(version), 0) FROM fleet_schema", logger: logger).decode(Int.self) {
                current = v
            }
            guard current <= newest else {
                throw BreakerError(
                    .schemaTooNew,
                    "the fleet's schema is version \(current), newer than this breakerctl knows (\(newest)); upgrade breakerctl on this node"
                )
            }
            var applied: [Int] = []
            for migration in all where migration.version > current {
                for statement in statements(of: migration.sql) {
                    try await c.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await c.query("INSERT INTO fleet_schema (version) VALUES (\(migration.version))", logger: logger)
                applied.append(migration.version)
            }
            return applied
        }
    }

    /// The statements of a migration: comments and blank lines between statements dropped, split where
    /// a line ends with `;`.
    static func statements(of sql: String) -> [String] {
        var out: [String] = []
        var current = ""
        for line in sql.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.trimmingPrefix(while: { $0 == " " })
            if trimmed.hasPrefix("--") || (current.isEmpty && trimmed.isEmpty) { continue }
            current += line + "\n"
            if line.hasSuffix(";") {
                out.append(String(current.dropLast(2)))
                current = ""
            }
        }
        return out
    }

    static let migration001 = #"""
        -- TenantBreaker fleet, schema version 1 (SPEC §14): the facts the nodes of a platform share.
        -- Names (node, tenant, tool) compare by their bytes: every name column is COLLATE "C".
        -- Times the fleet decides by (leases, the order of entries) are PostgreSQL's; `ts` columns are
        -- the nodes' own record times, ms since the Unix epoch.

        -- One row per node name: the store it was first used with, its lease (heartbeat_at, lease_ms)
        -- and its cursors: the last fact durable in its log, the last published, the last fleet entry applied.
        CREATE TABLE fleet_nodes (
            node              TEXT COLLATE "C" PRIMARY KEY,
            store_id          TEXT NOT NULL,
            store_path        TEXT NOT NULL,
            joined_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
            heartbeat_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
            lease_ms          BIGINT NOT NULL DEFAULT 10000,
            durable_seq       BIGINT NOT NULL DEFAULT 0,
            published_seq     BIGINT NOT NULL DEFAULT 0,
            published_at      TIMESTAMPTZ,
            applied_fleet_seq BIGINT NOT NULL DEFAULT 0
        );

        -- Every node fact (transition, operator action, configuration change, global outage, fleet
        -- record), once, keyed by (node, seq): seq is the fact's position in the node's own log.
        CREATE TABLE fleet_node_facts (
            node   TEXT COLLATE "C" NOT NULL REFERENCES fleet_nodes(node) ON DELETE CASCADE,
            seq    BIGINT NOT NULL,
            ts     BIGINT NOT NULL,
            kind   TEXT NOT NULL,
            tenant TEXT COLLATE "C",
            tool   TEXT COLLATE "C",
            body   TEXT NOT NULL,
            PRIMARY KEY (node, seq)
        );

        -- A node's vote for a key: from its transition into OPEN on its own evidence (seq) until its
        -- next transition into CLOSED.
        CREATE TABLE fleet_votes (
            node   TEXT COLLATE "C" NOT NULL REFERENCES fleet_nodes(node) ON DELETE CASCADE,
            tenant TEXT COLLATE "C" NOT NULL,
            tool   TEXT COLLATE "C" NOT NULL,
            seq    BIGINT NOT NULL,
            PRIMARY KEY (node, tenant, tool)
        );

        -- The fleet's own sequence: episodes and fleet actions, in the order the fleet took them. Rows
        -- are appended under advisory lock 7340001, so they commit in fleet_seq order and a reader by
        -- cursor never skips one.
        CREATE TABLE fleet_log (
            fleet_seq BIGINT PRIMARY KEY,
            at        TIMESTAMPTZ NOT NULL DEFAULT now(),
            kind      TEXT NOT NULL,
            tenant    TEXT COLLATE "C",
            tool      TEXT COLLATE "C",
            votes     INTEGER,
            nodes     TEXT[] COLLATE "C",
            body      TEXT,
            ended_at  TIMESTAMPTZ
        );

        -- The episodes in progress: one per key at most.
        CREATE TABLE fleet_open_episodes (
            tenant    TEXT COLLATE "C" NOT NULL,
            tool      TEXT COLLATE "C" NOT NULL,
            fleet_seq BIGINT NOT NULL REFERENCES fleet_log(fleet_seq),
            PRIMARY KEY (tenant, tool)
        );

        -- A node's SLA counters (SPEC §9) per tenant and hour (ms of the hour's start).
        CREATE TABLE fleet_rollups (
            node            TEXT COLLATE "C" NOT NULL REFERENCES fleet_nodes(node) ON DELETE CASCADE,
            tenant          TEXT COLLATE "C" NOT NULL,
            hour            BIGINT NOT NULL,
            turns           BIGINT NOT NULL,
            turns_blocked   BIGINT NOT NULL,
            turns_degraded  BIGINT NOT NULL,
            calls           BIGINT NOT NULL,
            calls_blocked   BIGINT NOT NULL,
            calls_failed    BIGINT NOT NULL,
            calls_timed_out BIGINT NOT NULL,
            open_seconds    DOUBLE PRECISION NOT NULL,
            PRIMARY KEY (node, tenant, hour)
        );

        """#

    static let migration002 = #"""
        -- TenantBreaker fleet, schema version 2: how far each node's hourly rollups reach.
        -- rollup_through: the node's own time (ms) up to which its rollups hold every record it had made
        -- durable; rollup_at: when it last upserted them (PostgreSQL's clock).
        ALTER TABLE fleet_nodes ADD COLUMN rollup_through BIGINT;
        ALTER TABLE fleet_nodes ADD COLUMN rollup_at TIMESTAMPTZ;

        """#

    static let migration003 = #"""
        -- TenantBreaker fleet, schema version 3: global outages counted across the fleet (SPEC §14, §7).
        -- A node's keys that are OPEN or FORCED_OPEN, from its transitions: the tenants open on a tool
        -- are counted over the live nodes' rows.
        CREATE TABLE fleet_open_keys (
            node   TEXT COLLATE "C" NOT NULL REFERENCES fleet_nodes(node) ON DELETE CASCADE,
            tenant TEXT COLLATE "C" NOT NULL,
            tool   TEXT COLLATE "C" NOT NULL,
            PRIMARY KEY (node, tenant, tool)
        );

        -- The fleet's global outages in progress, one per tool at most: fleet_seq is the `auto`
        -- force-open it caused, NULL when a tool-wide hold was in force (nothing is recorded then).
        CREATE TABLE fleet_outages (
            tool      TEXT COLLATE "C" PRIMARY KEY,
            fleet_seq BIGINT REFERENCES fleet_log(fleet_seq),
            tenants   INTEGER NOT NULL,
            nodes     INTEGER NOT NULL
        );

        """#
}
