-- TenantBreaker fleet, schema version 2: how far each node's hourly rollups reach.
-- rollup_through: the node's own time (ms) up to which its rollups hold every record it had made
-- durable; rollup_at: when it last upserted them (PostgreSQL's clock).
ALTER TABLE fleet_nodes ADD COLUMN rollup_through BIGINT;
ALTER TABLE fleet_nodes ADD COLUMN rollup_at TIMESTAMPTZ;
