"""/metrics of a real `breakerctl serve`, read by Prometheus's own Python parser (prometheus-client).

Run: .build/peers/bin/python3 Tests/ServeClients/metrics_test.py PATH/TO/breakerctl WORKDIR
Prints one line per check; exits non-zero on the first failure.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_process import ServeProcess, check, finish, wait_until  # noqa: E402
from tenantbreaker import BreakerClient  # noqa: E402


def scrape(serve):
    with urllib.request.urlopen(serve.url + "/metrics", timeout=10) as r:
        check(r.headers["Content-Type"].startswith("text/plain; version=0.0.4"), "/metrics is Prometheus text 0.0.4")
        text = r.read().decode("utf-8")
    families = {f.name: f for f in text_string_to_metric_families(text)}
    return text, families


def value(families, family, sample, **labels):
    for s in families[family].samples:
        if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items()):
            return s.value
    return None


def main():
    breakerctl, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    config = os.path.join(work, "config.json")
    with open(config, "w") as f:
        # Every tenant has an objective of 90 % (SPEC §16): its budget and burn rates are series too.
        json.dump({"defaults": {"failureThreshold": 2, "openTimeoutMs": 60000}, "slo": {"objective": 90, "minTurns": 1}}, f)
    serve = ServeProcess(breakerctl, os.path.join(work, "metrics.sqlite"), config=config)
    try:
        run_checks(serve)
        check(serve.stop() == 0, "serve stops cleanly")
    finally:
        serve.kill()
    finish("metrics")


def run_checks(serve):
    client = BreakerClient(serve.url)
    # Tenant names are bytes (SPEC §1): quotes, backslashes and non-ASCII must survive the scrape.
    odd = 'ac"me\\corp ü'
    tenants = ["plain", odd, "café", "cafe\u0301"]
    for tenant in tenants:
        for i in range(3):
            a = client.admit(tenant, "web_search", f"turn-{i}")
            check(a["admitted"], f"{tenant!r} call {i} admitted")
            time.sleep(0.03)  # serve measures from admit to complete: at least 30 ms
            client.complete(a["permit"], "success")
    # Every tenant's crm fails twice: its circuit opens (only keys not CLOSED have series of their
    # own, so this is where tenant names meet the scrape); the odd tenant's next call is blocked.
    for tenant in tenants:
        for i in range(2):
            a = client.admit(tenant, "crm", f"down-{i}")
            client.complete(a["permit"], "failure", "E")
    check(not client.admit(odd, "crm", "blocked")["admitted"], "the odd tenant's crm is open")

    text, families = scrape(serve)
    check({"agent_circuit_breaker_state", "agent_circuit_breaker_blocked", "agent_circuit_breaker_open", "agent_tool_call_blocked",
           "agent_tool_call_latency_seconds", "agent_circuit_breaker_keys"} <= set(families),
          f"the parser finds the breaker's families ({sorted(families)})")
    check(families["agent_circuit_breaker_state"].type == "gauge" and families["agent_tool_call_latency_seconds"].type == "histogram"
          and families["agent_circuit_breaker_open"].type == "counter", "each family has its type")
    check(value(families, "agent_circuit_breaker_state", "agent_circuit_breaker_state", tenant_id=odd, tool_name="crm") == 2,
          "the odd tenant's crm state gauge reads 2 (open), its name intact")
    check(value(families, "agent_circuit_breaker_blocked", "agent_circuit_breaker_blocked_total", tenant_id=odd, tool_name="crm") == 1,
          "the odd tenant's blocked call counted on its key")
    check(value(families, "agent_circuit_breaker_open", "agent_circuit_breaker_open_total", tool_name="crm") == len(tenants),
          "every opening counted on the tool")
    check(value(families, "agent_tool_call_blocked", "agent_tool_call_blocked_total", tool_name="crm") == 1,
          "one blocked call counted on the tool")
    check(value(families, "agent_circuit_breaker_keys", "agent_circuit_breaker_keys", tool_name="crm", state="open") == len(tenants)
          and value(families, "agent_circuit_breaker_keys", "agent_circuit_breaker_keys", tool_name="web_search", state="closed")
          == len(tenants), "keys by state per tool")
    check(not any("tenant_id" in s.labels and s.labels.get("tool_name") == "web_search"
                  for f in families.values() for s in f.samples), "closed keys have no series of their own")
    latency = families["agent_tool_call_latency_seconds"]
    count = value(families, "agent_tool_call_latency_seconds", "agent_tool_call_latency_seconds_count", tool_name="web_search")
    check(count == 3 * len(tenants), f"web_search: every latency observed ({count})")
    buckets = [(float(s.labels["le"]), s.value) for s in latency.samples
               if s.name == "agent_tool_call_latency_seconds_bucket" and s.labels["tool_name"] == "web_search"]
    counts = [c for _, c in sorted(buckets)]
    check(counts == sorted(counts) and counts[-1] == count, f"buckets are cumulative up to +Inf ({buckets})")
    check(dict(buckets)[0.025] == 0, "calls of 30 ms or more are not in the 25 ms bucket")
    total = value(families, "agent_tool_call_latency_seconds", "agent_tool_call_latency_seconds_sum", tool_name="web_search")
    check(0.03 * count <= total < 60, f"the latency sum is in seconds ({total})")
    states = [s for s in families["agent_circuit_breaker_state"].samples]
    check({s.labels["tenant_id"] for s in states} == set(tenants),
          "every tenant name intact; NFC and NFD spellings of café are two tenants in the scrape too")
    check(value(families, "agent_circuit_breaker_log_errors", "agent_circuit_breaker_log_errors_total") == 0,
          "the log error counter is there, at 0")

    # The odd tenant: 6 turns, 1 blocked, against 10 % allowed: 0.6 of a turn of budget, overspent to
    # 1 − 1/0.6; every turn within 5 minutes, so each window burns (1/6) ÷ 0.1. The others: 5 turns, none bad.
    def budget():
        _, fams = scrape(serve)
        return {s.labels["tenant_id"]: s.value for s in fams["agent_tenant_slo_budget_remaining"].samples} \
            if "agent_tenant_slo_budget_remaining" in fams else {}
    budgets = wait_until(lambda: (lambda b: b if abs(b.get(odd, 1) - (1 - 1 / 0.6)) < 1e-3 else None)(budget()), timeout=5)
    check(budgets and set(budgets) == set(tenants) and all(budgets[t] == 1 for t in tenants if t != odd),
          f"agent_tenant_slo_budget_remaining per tenant: the odd tenant overspent, the others untouched ({budgets})")
    _, families = scrape(serve)
    burns = {(s.labels["tenant_id"], s.labels["window"]): s.value for s in families["agent_tenant_slo_burn_rate"].samples}
    check(families["agent_tenant_slo_burn_rate"].type == "gauge"
          and {w for (t, w) in burns if t == odd} == {"5m", "30m", "1h", "6h", "3d"}
          and all(abs(burns[(odd, w)] - (1 / 6) / 0.1) < 1e-3 for w in ("5m", "1h", "3d")),
          f"agent_tenant_slo_burn_rate by window ({sorted((w, v) for (t, w), v in burns.items() if t == odd)})")
    with urllib.request.urlopen(serve.url + "/v1/slo") as r:
        slo = json.loads(r.read())
    check([row["tenant"] for row in slo] == sorted(tenants, key=lambda t: t.encode()) and
          [row for row in slo if row["tenant"] == odd][0]["bad_turns"] == 1,
          f"/v1/slo lists every tenant in byte order with its bad turns ({[(r['tenant'], r['bad_turns']) for r in slo]})")

    promtool_checks(serve)


REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def promtool_checks(serve):
    """Prometheus's own linter on a scrape during the outage, and the example alert rules."""
    promtool = shutil.which("promtool")
    check(promtool is not None, "promtool is installed (Debian's prometheus package; `bash .ci/run` installs it)")
    with urllib.request.urlopen(serve.url + "/metrics", timeout=10) as r:
        text = r.read()
    p = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, timeout=60)
    check(p.returncode == 0 and not p.stdout.strip() and not p.stderr.strip(),
          f"promtool check metrics passes on a scrape during the outage: {p.stdout.decode()}{p.stderr.decode()}")
    lines = text.decode("utf-8").splitlines()
    typed = {line.split()[2] for line in lines if line.startswith("# TYPE ")}
    helped = {line.split()[2] for line in lines if line.startswith("# HELP ")}
    check(typed == helped and len(typed) >= 12, f"every family has # HELP and # TYPE ({sorted(typed ^ helped)})")
    with open(os.path.join(REPO, "README.md"), encoding="utf-8") as f:
        listed = set(re.findall(r"^\| `(agent_[a-z_]+)` \|", f.read(), re.M))
    check(typed <= listed, f"the README lists each metric of the scrape (missing: {sorted(typed - listed)})")
    rules = os.path.join(REPO, "reports", "prometheus-alerts.yml")
    p = subprocess.run([promtool, "check", "rules", rules], capture_output=True, text=True, timeout=60)
    check(p.returncode == 0, f"promtool check rules accepts the example alert rules: {p.stdout}{p.stderr}")
    used = set(re.findall(r"\b(agent_[a-z_]+)", open(rules, encoding="utf-8").read()))
    check(used <= typed, f"the rules use only metrics the scrape has ({sorted(used - typed)})")
    p = subprocess.run([promtool, "test", "rules", os.path.join(os.path.dirname(os.path.abspath(__file__)), "prometheus-alerts-test.yml")],
                       capture_output=True, text=True, timeout=60)
    check(p.returncode == 0, f"promtool test rules: the example alerts fire on an outage's series: {p.stdout}{p.stderr}")


if __name__ == "__main__":
    main()
