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
