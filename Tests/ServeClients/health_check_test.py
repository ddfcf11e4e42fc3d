"""HTTP health checks under a real `breakerctl serve` (SPEC §6): circuits recover with no traffic.

A real HTTP server in this script plays the tool's health endpoint: it is down (nothing listens),
then answers 503, then 200. serve's prober probes the OPEN keys of tools with a `healthCheck` on
its own and closes them once the endpoint is healthy; a `sideEffects` tool never probes with a
real call; a redirect is not followed; a bad URL is a configuration error naming its key.

Run: python3 Tests/ServeClients/health_check_test.py PATH/TO/breakerctl WORKDIR
"""

import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_process import ServeProcess, check, finish, wait_until  # noqa: E402
from tenantbreaker import BreakerClient  # noqa: E402


class HealthEndpoint:
    """A loopback HTTP server on a fixed port that can be stopped and started again."""

    def __init__(self):
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self.status = 200
        self.hang = threading.Event()
        self.requests = []
        self.server = None

    def start(self):
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                owner.requests.append(self.path)
                if owner.hang.is_set():
                    time.sleep(3)
                if self.path == "/moved":
                    self.send_response(301)
                    self.send_header("Location", "/redirected")
                else:
                    self.send_response(owner.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        http.server.ThreadingHTTPServer.allow_reuse_address = True
        http.server.ThreadingHTTPServer.daemon_threads = True
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


def states(serve, tenant):
    with urllib.request.urlopen(f"{serve.url}/v1/status?tenant={tenant}", timeout=10) as r:
        return {line["tool"]: line["state"] for line in json.load(r)}


def probe_records(serve, tool):
    code, out, err = serve.cli("export")
    check(code == 0, f"export reads the store: {err}")
    records = [json.loads(line) for line in out.splitlines()]
    return [r for r in records if r["kind"] == "call" and r["tool"] == tool and r["probe"]]


def open_key(client, tenant, tool):
    for i in range(2):
        a = client.admit(tenant, tool, f"{tool}-turn-{i}")
        check(a["admitted"], f"{tool}: call {i} admitted")
        client.complete(a["permit"], "failure", "UpstreamError")


def main():
    breakerctl, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    endpoint = HealthEndpoint()
    base = f"http://127.0.0.1:{endpoint.port}"
    bad_config(breakerctl, work, base)
    config = os.path.join(work, "health.json")
    with open(config, "w") as f:
        json.dump({
            "defaults": {"failureThreshold": 2, "openTimeoutMs": 400},
            "tools": {
                "web_search": {"healthCheck": {"url": base + "/health", "expectStatus": [200], "timeoutMs": 1000}},
                "crm": {"sideEffects": True, "healthCheck": {"url": base + "/crm-health", "timeoutMs": 1500}},
                "mover": {"healthCheck": {"url": base + "/moved"}},
            },
            "runtime": {"probeIntervalMs": 100},
        }, f)
    serve = ServeProcess(breakerctl, os.path.join(work, "health.sqlite"), config=config)
    try:
        run_checks(serve, endpoint)
        check(serve.stop() == 0, "serve stops cleanly")
    finally:
        serve.kill()
        endpoint.stop()
    audit(serve)
    finish("health check")


def bad_config(breakerctl, work, base):
    for name, check_entry, key in [
        ("ftp", {"url": "ftp://127.0.0.1/health"}, "tools.web_search.healthCheck.url"),
        ("nohost", {"url": "http:///health"}, "tools.web_search.healthCheck.url"),
        ("status", {"url": base, "expectStatus": [200, 42]}, "tools.web_search.healthCheck.expectStatus"),
        ("method", {"url": base, "method": "BREW"}, "tools.web_search.healthCheck.method"),
    ]:
        path = os.path.join(work, f"bad-{name}.json")
        with open(path, "w") as f:
            json.dump({"tools": {"web_search": {"healthCheck": check_entry}}}, f)
        p = subprocess.run(
            [breakerctl, "serve", "--db", os.path.join(work, f"bad-{name}.sqlite"), "--port", "0", "--config", path],
            capture_output=True, text=True, timeout=60)
        check(p.returncode != 0 and key in p.stderr, f"a health check with a bad {name} is refused naming {key}: {p.stderr.strip()!r}")
    path = os.path.join(work, "bad-tenant.json")
    with open(path, "w") as f:
        json.dump({"tenants": {"acme": {"tools": {"crm": {"sideEffects": True}}}}}, f)
    p = subprocess.run(
        [breakerctl, "serve", "--db", os.path.join(work, "bad-tenant.sqlite"), "--port", "0", "--config", path],
        capture_output=True, text=True, timeout=60)
    check(p.returncode != 0 and "tenants.acme.tools.crm.sideEffects" in p.stderr and '"tools"' in p.stderr,
          f"sideEffects in a tenant override is refused, saying where it belongs: {p.stderr.strip()!r}")


def run_checks(serve, endpoint):
    client = BreakerClient(serve.url)
    for tool in ["web_search", "crm", "mover"]:
        open_key(client, "acme", tool)
    check(states(serve, "acme") == {"web_search": "open", "crm": "open", "mover": "open"}, "three tools open for acme")

    # Down: nothing listens. The prober probes on its own, and every probe fails.
    time.sleep(1.5)
    s = states(serve, "acme")
    check(s["web_search"] in ("open", "half_open") and s["crm"] in ("open", "half_open"),
          f"with the endpoint down the circuits stay open: {s}")
    code, out, _ = serve.cli("audit", "--tenant", "acme")
    probes_down = out.count("health_probe") + out.count("half_open")
    check(probes_down >= 2, f"the prober probed with no traffic while the endpoint was down ({probes_down} lines)")

    # The endpoint listens but hangs: a probe is in flight for up to its timeoutMs (1.5 s). A
    # sideEffects tool with a health check never probes with a real call meanwhile.
    endpoint.hang.set()
    endpoint.start()
    check(wait_until(lambda: "/crm-health" in endpoint.requests, timeout=10), "the prober reaches the endpoint once it listens")
    s = states(serve, "acme")
    check(s["crm"] == "half_open", f"crm is HALF_OPEN while its health probe hangs: {s}")
    a = client.admit("acme", "crm", "real-call")
    check(not a["admitted"] and a["signal"]["reason"] == "awaiting_health_probe",
          f"a real call of the sideEffects tool is not a probe: {a}")
    check(wait_until(lambda: states(serve, "acme")["crm"] == "open", timeout=5),
          "the hanging probe ends at its timeoutMs and crm is OPEN again")
    probes = probe_records(serve, "crm")
    check(any(p["outcome"] == "timeout" and p["latency_us"] == 1_500_000 for p in probes),
          f"the hanging probe is recorded as a timeout at its timeoutMs: {probes[-1:]}")
    check(all(p["turn"] is None for p in probes), "every crm probe is a health check (no turn), none a real call")

    # 503: the endpoint answers at once, but not healthy.
    endpoint.status = 503
    endpoint.hang.clear()
    seen = len(endpoint.requests)
    check(wait_until(lambda: len(endpoint.requests) >= seen + 3, timeout=10), "the prober keeps probing the 503s")
    s = states(serve, "acme")
    check(s["web_search"] != "closed" and s["crm"] != "closed", f"a 503 keeps them open: {s}")

    # Up: 200. They close with no traffic at all.
    endpoint.status = 200
    closed = wait_until(lambda: (lambda s: s["web_search"] == "closed" and s["crm"] == "closed")(states(serve, "acme")), timeout=15)
    check(closed, f"with the endpoint healthy both close on their own: {states(serve, 'acme')}")
    time.sleep(1.0)
    check(states(serve, "acme")["mover"] != "closed", "a 301 is not followed: the tool behind a redirect stays open")
    check({"/health", "/crm-health", "/moved"} <= set(endpoint.requests), "the configured paths were requested")
    check("/redirected" not in endpoint.requests, "no request followed a redirect")
    check(any(p["reason"] == "tool_call_exception:UnhealthyStatus" for p in probe_records(serve, "mover")),
          "the redirect's probes are recorded as UnhealthyStatus failures")

    a = client.admit("acme", "web_search", "after")
    check(a["admitted"] and not a.get("probe"), "after recovery a real call is admitted as an ordinary call")
    client.complete(a["permit"], "success")


def audit(serve):
    code, out, err = serve.cli("audit", "--tenant", "acme")
    check(code == 0, f"audit reads the store: {err}")
    check("closed" in out, "the audit shows the recovery")
    code, out, err = serve.cli("verify")
    check(code == 0, f"verify decides the health probes again from the log and its configuration: {out}{err}")


if __name__ == "__main__":
    main()
