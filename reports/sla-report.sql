-- The two reads behind `breakerctl report` (see sla-report.md); the rest is computed in Swift.

-- 1. Per-hour turn and call counts of one tenant (or drop the WHERE for --all).
--    Uses the primary key (tenant_id, hour): a range scan of the tenant's hours.
SELECT n.name AS tenant, r.hour, r.turns, r.turns_blocked, r.turns_degraded,
       r.calls, r.calls_blocked, r.calls_failed, r.calls_timed_out
FROM hourly_rollups r JOIN names n ON n.id = r.tenant_id
WHERE r.tenant_id = (SELECT id FROM names WHERE name = :tenant);

-- 2. The tenant's transitions in log order, for open_seconds.
SELECT t.seq, t.ts, tool.name AS tool, t.from_state, t.to_state
FROM transitions t
JOIN keys k ON k.id = t.key_id
JOIN names tenant ON tenant.id = k.tenant_id
JOIN names tool ON tool.id = k.tool_id
WHERE tenant.name = :tenant
ORDER BY t.seq;
-- States: 0 closed, 1 open, 2 half_open, 3 forced_open.
