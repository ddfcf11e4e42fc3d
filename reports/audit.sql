-- The reads behind `breakerctl audit` (merged by seq in Swift).
SELECT seq, ts, key_id, from_state, to_state, cause, generation, failures, calls, p95_us, actor, reason
FROM transitions ORDER BY seq;                       -- kept: keys of the tenant (and tool)
SELECT seq, ts, tenant, tool, op, actor, reason
FROM operator_actions ORDER BY seq;                  -- kept: tenant = :tenant or tenant IS NULL
SELECT seq, ts, tool, tenants FROM global_outages ORDER BY seq;  -- kept: the tenant's key was open
SELECT seq, ts, actor, reason, config FROM config_changes ORDER BY seq;  -- all kept

-- audit --turn: the turn, then its calls from its first hour on.
SELECT id, first_hour FROM turns WHERE tenant_id = (SELECT id FROM names WHERE name = :tenant) AND name = :turn;
SELECT ts, packed, turn, latency_us, generation FROM calls WHERE seq >= :first_seq_of_hour AND turn = :id;
