"""Interop: the Python client against a real `breakerctl serve`, through an outage (SPEC §12).

Run: python3 Tests/ServeClients/interop_test.py PATH/TO/breakerctl WORKDIR
Prints one line per check; exits non-zero on the first failure.
"""

import http.client
import json
import urllib.error
import urllib.request
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_process import ServeProcess, check, finish, wait_until  # noqa: E402
from tenantbreaker import BreakerClient, is_unavailable  # noqa: E402


class ConnectionError_(Exception):
    pass


ConnectionError_.__name__ = "VendorConnectionError"


class EventReader(threading.Thread):
    """Reads /v1/events into `records` (parsed export lines, with their SSE ids)."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port = port
        self.records = []
        self.ids = []

    def run(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        conn.request("GET", "/v1/events")
        response = conn.getresponse()
        event_id = None
        for raw in response:
            line = raw.decode("utf-8").rstrip("\n")
            if line.startswith("id: "):
                event_id = int(line[4:])
            elif line.startswith("data: "):
                self.records.append(json.loads(line[6:]))
                self.ids.append(event_id)


def main():
    breakerctl, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    db = os.path.join(work, "interop.sqlite")
    config = os.path.join(work, "config.json")
    with open(config, "w") as f:
        json.dump({"defaults": {"failureThreshold": 3, "openTimeoutMs": 700, "successThreshold": 2, "latencyThresholdMs": 2000}}, f)
    serve = ServeProcess(breakerctl, db, config=config, operator_token="op-" + "x" * 32)
    try:
        run_checks(serve, breakerctl)
    finally:
        serve.kill()


def run_checks(serve, breakerctl):
    client = BreakerClient(serve.url)
    events = EventReader(serve.port)
    events.start()
    completed = []  # (tenant, tool, turn, outcome) of every call the service confirmed

    def tool_ok(tenant, turn):
        return f"results for {tenant}/{turn}"

    def tool_down():
        raise ConnectionError_("vendor is down")

    def call(tenant, tool, turn, fn, *args):
        admission = client.admit(tenant, tool, turn)
        if not admission["admitted"]:
            return admission["signal"]
        try:
            value = fn(*args)
            outcome, error_type = "success", None
        except Exception as e:
            value, outcome, error_type = e, "failure", type(e).__name__
        answer = client.complete(admission["permit"], outcome, error_type)
        check(answer["recorded"] == outcome, f"{tenant} {turn}: completion recorded as {outcome}")
        completed.append((tenant, tool, turn, outcome))
        return value

    # Healthy traffic for three tenants.
    for i in range(3):
        for tenant in ("acme", "globex", "initech"):
            check(call(tenant, "web_search", f"{tenant}-warm-{i}", tool_ok, tenant, i) == f"results for {tenant}/{i}", f"{tenant} warm call {i}")

    # The vendor fails for acme and globex only: their circuits open, initech's stays closed.
    for tenant in ("acme", "globex"):
        for i in range(3):
            r = call(tenant, "web_search", f"{tenant}-down-{i}", tool_down)
            check(isinstance(r, ConnectionError_), f"{tenant} failure {i} is the tool's exception")
    status = {(s["tenant"], s["tool"]): s["state"] for s in json.loads(http_get(serve.port, "/v1/status"))}
    check(status[("acme", "web_search")] == "open" and status[("globex", "web_search")] == "open", "acme and globex are open")
    check(status[("initech", "web_search")] == "closed", "initech is still closed (isolation)")

    # Rejections carry the signal, through the client's run().
    ran = []
    signal = client.run("acme", "web_search", "acme-rejected", lambda: ran.append(1))
    check(is_unavailable(signal) and signal["reason"] == "circuit_open" and not ran, "a rejected call returns the signal without running the tool")
    check(signal["retry_after_seconds"] >= 1 and signal["tool_name"] == "web_search", "the signal names the tool and a retry time")
    check(client.run("initech", "web_search", "initech-ok", tool_ok, "initech", "ok") == "results for initech/ok", "initech's calls still run")
    tools = client.unavailable_tools("acme")
    check([t["tool_name"] for t in tools] == ["web_search"] and "web_search" in client.system_prompt_note("acme"), "unavailable_tools and the note name web_search for acme")
    check(client.unavailable_tools("initech") == [] and client.system_prompt_note("initech") is None, "nothing is unavailable to initech")

    # The vendor recovers: after the open timeout, probes close the circuits.
    time.sleep(0.8)
    for tenant in ("acme", "globex"):
        for i in range(2):
            r = call(tenant, "web_search", f"{tenant}-probe-{i}", tool_ok, tenant, i)
            check(r == f"results for {tenant}/{i}", f"{tenant} probe {i} succeeds")
    status = {(s["tenant"], s["tool"]): s["state"] for s in json.loads(http_get(serve.port, "/v1/status"))}
    check(all(v == "closed" for v in status.values()), "every circuit closed again")

    # A call that outlives its timeout is recorded as a timeout by the service.
    admission = client.admit("initech", "code_exec", "initech-slow")
    time.sleep(2.2)
    check(client.complete(admission["permit"], "success") == {"recorded": "timeout"}, "a late completion is told it was a timeout")
    completed.append(("initech", "code_exec", "initech-slow", "timeout"))

    # A CLI force-open while serve runs takes effect within a second.
    started = time.monotonic()
    rc, out, err = serve.cli("force-open", "--tool", "crm", "--hold", "--reason", "vendor maintenance", "--actor", "oncall")
    check(rc == 0, f"breakerctl force-open succeeds while serve runs ({err.strip()})")
    rejected = wait_until(lambda: not client.admit("acme", "crm", "acme-crm")["admitted"], timeout=1.0, interval=0.01)
    check(rejected and time.monotonic() - started < 1.0 + 1.0, "the CLI's force-open rejects crm calls within a second")
    signal = client.admit("globex", "crm", "globex-crm").get("signal", {})
    check(signal.get("reason") == "forced_open", f"the rejection says forced_open ({signal})")

    # The report over HTTP is byte-identical to breakerctl report on the same store, but for the
    # open time of keys still open: it runs to the moment each report is made (SPEC §9), and the
    # CLI's comes after the service's.
    def same_report(http, cli):
        h, c = http.decode().split("\r\n"), cli.decode().split("\r\n")
        if len(h) != len(c):
            return False
        for a, b in zip(h, c):
            fa, fb = a.split(","), b.split(",")
            if len(fa) != len(fb):
                return False
            if len(fa) > 9 and fa[9].replace(".", "").isdigit() and fb[9].replace(".", "").isdigit():
                if not float(fa[9]) <= float(fb[9]):
                    return False
                fa[9] = fb[9] = ""
            if fa != fb:
                return False
        return True
    for tenant in ("acme", "globex", "initech"):
        # The service's answer first: it makes every call answered so far durable before reading.
        http_csv = client.report_csv(tenant).encode("utf-8")
        rc, cli_csv, _ = serve.cli("report", "--tenant", tenant, binary=True)
        check(rc == 0 and same_report(http_csv, cli_csv), f"/v1/report.csv is breakerctl report for {tenant}"
              + ("" if http_csv == cli_csv else f" ({http_csv!r} vs {cli_csv!r})"))
    http_all = client.report_csv().encode("utf-8")
    rc, cli_all, _ = serve.cli("report", "--all", binary=True)
    check(same_report(http_all, cli_all), "/v1/report.csv?all=1 is breakerctl report --all")
    # A tenant the store has never seen: 404 naming the closest, as the CLI's exit 1 does.
    for path in ("/v1/report.csv?tenant=acem", "/v1/report.json?tenant=acem", "/v1/audit.csv?tenant=acem"):
        try:
            urllib.request.urlopen(serve.url + path, timeout=10)
            check(False, f"{path} answers an error")
        except urllib.error.HTTPError as e:
            body = json.loads(e.read())
            check(e.code == 404 and "closest: acme" in body["error"], f"{path} answers 404 naming the closest tenant: {body}")

    # Events: every transition, operator action and configuration change, once.
    wait_until(lambda: any(r["kind"] == "operator" for r in events.records), timeout=5)
    # SIGTERM: exit 0, nothing lost.
    check(serve.stop() == 0, "SIGTERM stops serve with status 0")
    rc, out, err = serve.cli("verify")
    check(rc == 0, f"verify passes after SIGTERM ({out.strip()} {err.strip()})")
    rc, out, _ = serve.cli("export")
    exported = [json.loads(line) for line in out.splitlines()]
    calls = [(r["tenant"], r["tool"], r["turn"], r["outcome"]) for r in exported if r["kind"] == "call"]
    missing = [c for c in completed if c not in calls]
    check(not missing, f"every call the client saw completed is in export ({len(completed)} calls; missing {missing})")
    rare = [r for r in exported if r["kind"] != "call"]
    seen = [r for r in events.records]
    check(sorted(json.dumps(r, sort_keys=True) for r in seen) == sorted(json.dumps(r, sort_keys=True) for r in rare),
          f"/v1/events delivered every transition and action once ({len(rare)} records)")
    check(events.ids == [r["seq"] for r in seen], "each event's id is its seq")
    moves = [(r["tenant"], r["from"], r["to"]) for r in rare if r["kind"] == "transition" and r["tool"] == "web_search"]
    expected = [(t, a, b) for t in ("acme", "globex") for a, b in (("closed", "open"), ("open", "half_open"), ("half_open", "closed"))]
    check(sorted(moves) == sorted(expected), f"web_search: acme and globex opened, probed and closed, nothing else ({moves})")
    # Restarted with a different --config: recorded as a configuration change before it is ready.
    config = os.path.join(os.path.dirname(serve.db), "config-2.json")
    with open(config, "w") as f:
        json.dump({"defaults": {"failureThreshold": 8, "openTimeoutMs": 700, "successThreshold": 2, "latencyThresholdMs": 2000}}, f)
    for round in (1, 2):
        again = ServeProcess(breakerctl, serve.db, config=config)
        try:
            check(json.loads(http_get(again.port, "/readyz")) == {"status": "ready"}, f"restart {round} with --config is ready")
            check(again.stop() == 0, f"restart {round} stops cleanly")
        finally:
            again.kill()
    rc, out, _ = serve.cli("export")
    changes = [json.loads(line) for line in out.splitlines() if json.loads(line)["kind"] == "config"]
    check(len(changes) == 1 and changes[0]["actor"] == "serve" and changes[0]["reason"] == "configuration file at start"
          and changes[0]["config"]["defaults"]["failureThreshold"] == 8,
          f"a differing --config is recorded once as a change by serve ({[(c['actor'], c['reason']) for c in changes]})")
    rc, out, _ = serve.cli("config")
    check(json.loads(out)["defaults"]["failureThreshold"] == 8, "breakerctl config shows the file's configuration in force")
    finish("interop")


def http_get(port, path):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path)
    return conn.getresponse().read().decode("utf-8")


if __name__ == "__main__":
    main()
