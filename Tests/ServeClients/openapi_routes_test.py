"""The OpenAPI document and the routes of a real `breakerctl serve` agree (SPEC §12).

Run: python3 Tests/ServeClients/openapi_routes_test.py PATH/TO/breakerctl WORKDIR
- the served /openapi.json is the repository's file, byte for byte;
- every documented operation is routed (never 404/405) and answers a documented status;
- every other method on a documented path answers 405 with an Allow header; unknown paths 404;
- every path the router knows (its `case "/…"` lines) is documented.
"""

import http.client
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_process import ServeProcess, check, finish  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOC = os.path.join(ROOT, "Sources/BreakerServe/Resources/openapi.json")
ROUTER = os.path.join(ROOT, "Sources/BreakerServe/BreakerServer.swift")
TOKEN = "operator-" + "z" * 40
SAMPLE_BODIES = {
    "/v1/admit": {"tenant": "acme", "tool": "web_search", "turn": "t-1"},
    "/v1/complete": {"permit": "0" * 32, "outcome": "success"},
    "/v1/operator/force-open": {"tool": "crm", "actor": "a", "reason": "r"},
    "/v1/operator/release": {"tool": "crm", "actor": "a", "reason": "r"},
    "/v1/operator/reset": {"tool": "crm", "tenant": "acme", "actor": "a", "reason": "r"},
    "/v1/operator/configure": {"config": {}, "actor": "a", "reason": "r"},
}
SAMPLE_QUERIES = {"/v1/report.csv": "?tenant=acme", "/v1/audit.csv": "?tenant=acme"}


def send(port, method, path, body=None, stream=False):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Authorization": "Bearer " + TOKEN}
    conn.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
    r = conn.getresponse()
    data = r.read(1) if stream else r.read()
    conn.close()
    return r.status, r.getheader("Allow"), data


def main():
    breakerctl, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    doc_bytes = open(DOC, "rb").read()
    doc = json.loads(doc_bytes)
    serve = ServeProcess(breakerctl, os.path.join(work, "routes.sqlite"), operator_token=TOKEN)
    try:
        port = serve.port
        status, _, served = send(port, "GET", "/openapi.json")
        check(status == 200 and served == doc_bytes, "/openapi.json serves the repository's document byte for byte")
        check(doc["openapi"].startswith("3.1"), "the document is OpenAPI 3.1")
        # One call of acme first: a report or audit of a tenant the store has never seen is a 404.
        def post(path, body):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json"})
            answer = json.loads(conn.getresponse().read())
            conn.close()
            return answer
        post("/v1/complete", {"permit": post("/v1/admit", {"tenant": "acme", "tool": "crm", "turn": "t-0"})["permit"], "outcome": "success"})
        methods = ["GET", "POST", "PUT", "DELETE", "PATCH"]
        for path, item in doc["paths"].items():
            concrete = path.replace("{tenant}", "acme") + SAMPLE_QUERIES.get(path, "")
            documented = {m.upper() for m in item}
            for method in documented:
                status, _, _ = send(port, method, concrete, SAMPLE_BODIES.get(path) if method == "POST" else None,
                                    stream=path == "/v1/events")
                codes = set(item[method.lower()]["responses"])
                # An unknown permit, and a node not in a fleet, are 404s of a routed path.
                check(status not in (404, 405) or (path in ("/v1/complete", "/v1/fleet") and status == 404),
                      f"{method} {path} is routed ({status})")
                check(str(status) in codes, f"{method} {path} answers a documented status ({status} in {sorted(codes)})")
            for method in methods:
                if method in documented:
                    continue
                status, allow, _ = send(port, method, concrete)
                check(status == 405 and allow in documented, f"{method} {path} answers 405 with Allow: {allow}")
        check(send(port, "GET", "/v1/nothing-here")[0] == 404, "an unknown path answers 404")
        router = open(ROUTER).read()
        routed = set(re.findall(r'"(/[a-z0-9./\-]*)"', router.split("switch path")[1].split("default:")[0]))
        routed.add("/v1/tenants/{tenant}/unavailable-tools")
        check(routed == set(doc["paths"]), f"every routed path is documented and every documented path routed ({sorted(routed ^ set(doc['paths']))})")
        check(serve.stop() == 0, "serve stops cleanly")
    finally:
        serve.kill()
    finish("openapi routes")


if __name__ == "__main__":
    main()
