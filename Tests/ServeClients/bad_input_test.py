"""Security and bad input against a real `breakerctl serve` (SPEC §12).

Run: python3 Tests/ServeClients/bad_input_test.py PATH/TO/breakerctl WORKDIR
Every answer is checked to be below 500; nothing is recorded for a refused request; the store
verifies at the end.
"""

import http.client
import json
import os
import resource
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_process import ServeProcess, check, finish  # noqa: E402

OPERATOR = "operator-" + "k" * 40
AGENT = "agent-" + "a" * 40
statuses = []


def request(port, method, path, body=None, headers=None, raw_body=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    data = raw_body if raw_body is not None else (None if body is None else json.dumps(body).encode("utf-8"))
    headers = dict(headers or {})
    if data is not None:
        headers.setdefault("Content-Type", "application/json")
    conn.request(method, path, body=data, headers=headers)
    r = conn.getresponse()
    payload = r.read()
    conn.close()
    statuses.append((r.status, method, path))
    try:
        parsed = json.loads(payload)
    except ValueError:
        parsed = payload
    return r.status, parsed


def bearer(token):
    return {"Authorization": "Bearer " + token}


def main():
    breakerctl, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)

    # 1. No operator token configured: operator endpoints are forbidden.
    plain = ServeProcess(breakerctl, os.path.join(work, "plain.sqlite"))
    try:
        s, b = request(plain.port, "POST", "/v1/operator/force-open", {"tool": "x", "actor": "a", "reason": "r"})
        check(s == 403 and "operator-token-file" in b["error"], "without --operator-token-file operator endpoints answer 403")
    finally:
        check(plain.stop() == 0, "the plain serve stops cleanly")

    agent_file = os.path.join(work, "agent.token")
    with open(agent_file, "w") as f:
        f.write(AGENT + "\n")
    serve = ServeProcess(
        breakerctl, os.path.join(work, "guarded.sqlite"), operator_token=OPERATOR,
        extra=["--agent-token-file", agent_file, "--idle-timeout", "2", "--body-timeout", "1"])
    try:
        run_checks(serve)
    finally:
        serve.kill()


def run_checks(serve):
    port = serve.port
    admit = {"tenant": "acme", "tool": "web_search", "turn": "t-1"}
    action = {"tool": "crm", "actor": "oncall", "reason": "test"}

    # 2. Tokens.
    check(request(port, "GET", "/livez")[0] == 200 and request(port, "GET", "/readyz")[0] == 200, "/livez and /readyz need no token")
    check(request(port, "POST", "/v1/admit", admit)[0] == 401, "an agent endpoint without a token answers 401")
    check(request(port, "POST", "/v1/admit", admit, bearer(AGENT[:-1] + "b"))[0] == 401, "an almost-right agent token (last byte) answers 401")
    check(request(port, "POST", "/v1/admit", admit, bearer(AGENT + "a"))[0] == 401, "the agent token with one byte more answers 401")
    check(request(port, "POST", "/v1/admit", admit, bearer(AGENT[:-1]))[0] == 401, "the agent token with one byte less answers 401")
    check(request(port, "POST", "/v1/admit", admit, {"Authorization": AGENT})[0] == 401, "a token without the Bearer scheme answers 401")
    check(request(port, "GET", "/v1/status", headers=bearer(AGENT))[0] == 200, "the agent token opens agent endpoints")
    check(request(port, "GET", "/v1/status", headers=bearer(OPERATOR))[0] == 200, "the operator token opens agent endpoints too")
    check(request(port, "POST", "/v1/operator/force-open", action, bearer(AGENT))[0] == 401, "the agent token does not open operator endpoints")
    check(request(port, "POST", "/v1/operator/force-open", action)[0] == 401, "an operator endpoint without a token answers 401")
    check(request(port, "POST", "/v1/operator/force-open", action, bearer(OPERATOR[:-1] + "j"))[0] == 401, "an almost-right operator token answers 401")
    s, b = request(port, "POST", "/v1/operator/force-open", action, bearer(OPERATOR))
    check(s == 200 and b == {"applied": "force_open"}, "the operator token applies a force-open")

    # 3. Bodies.
    A = bearer(AGENT)
    big = json.dumps({"tenant": "acme", "tool": "web_search", "turn": "x" * 70000}).encode()
    check(request(port, "POST", "/v1/admit", raw_body=big, headers=A)[0] == 413, "a body over 64 KiB answers 413")
    s, _ = chunked(port, "/v1/admit", big, A)
    check(s == 413, "a chunked body over 64 KiB answers 413")
    for raw, what in [(b"{", "truncated JSON"), (b"[]", "an array"), (b"null", "null"), (b"", "an empty body"),
                      (b'{"tenant": "acme", "tool": "web_search", "turn": "t", "extra": 1}', "an unknown field"),
                      (b'{"tenant": 5, "tool": "web_search", "turn": "t"}', "a number for a name"),
                      (b'{"tool": "web_search", "turn": "t"}', "a missing tenant"),
                      (b'{"tenant": "", "tool": "web_search", "turn": "t"}', "an empty name"),
                      (b'{"tenant": "a\\u0007b", "tool": "web_search", "turn": "t"}', "a control character in a name"),
                      (json.dumps({"tenant": "a" * 129, "tool": "w", "turn": "t"}).encode(), "a 129-byte name"),
                      (b'{"tenant": "\xff\xfe", "tool": "w", "turn": "t"}', "bytes that are not UTF-8")]:
        s, b = request(port, "POST", "/v1/admit", raw_body=raw, headers=A)
        check(s == 400 and isinstance(b, dict) and b.get("error"), f"{what} answers 400 with an error ({b.get('error') if isinstance(b, dict) else b})")
    s, b = request(port, "POST", "/v1/admit", raw_body=b'{"tenant": 5, "tool": "w", "turn": "t"}', headers=A)
    check("tenant" in b["error"], "the error names the field")
    s, b = request(port, "GET", "/v1/tenants/%FF/unavailable-tools", headers=A)
    check(s == 400, "a path name that is not UTF-8 answers 400")
    s, b = request(port, "GET", "/v1/status?tenant=%07", headers=A)
    check(s == 400, "a query name with a control character answers 400")
    s, b = request(port, "GET", "/v1/status?tenantt=acme", headers=A)
    check(s == 400 and "tenantt" in b["error"], "an unknown query parameter answers 400 naming it")
    s, b = request(port, "POST", "/v1/operator/configure", {"config": {"defaults": {"failureTreshold": 3}}, "actor": "a", "reason": "r"}, bearer(OPERATOR))
    check(s == 400 and "failureTreshold" in b["error"], f"an invalid configuration answers 400 naming the key ({b['error']})")
    check(request(port, "DELETE", "/v1/admit", headers=A)[0] == 405, "a wrong method answers 405")
    check(request(port, "GET", "/v2/admit", headers=A)[0] == 404, "an unknown path answers 404")

    # 4. Permits.
    s, adm = request(port, "POST", "/v1/admit", admit, A)
    permit = adm["permit"]
    check(len(permit) >= 32, "a permit carries at least 128 random bits")
    forged = permit[:-1] + ("0" if permit[-1] != "0" else "1")
    check(request(port, "POST", "/v1/complete", {"permit": forged, "outcome": "success"}, A)[0] == 404, "a forged permit answers 404")
    check(request(port, "POST", "/v1/complete", {"permit": "nonsense", "outcome": "success"}, A)[0] == 404, "an unknown permit answers 404")
    check(request(port, "POST", "/v1/complete", {"permit": permit, "outcome": "maybe"}, A)[0] == 400, "an unknown outcome answers 400")
    check(request(port, "POST", "/v1/complete", {"permit": permit, "outcome": "success", "error_type": "X"}, A)[0] == 400,
          "an error_type with a success answers 400")
    s, b = request(port, "POST", "/v1/complete", {"permit": permit, "outcome": "success"}, A)
    check(s == 200 and b["recorded"] == "success", "the real permit still completes after refused attempts")
    check(request(port, "POST", "/v1/complete", {"permit": permit, "outcome": "success"}, A)[0] == 404, "a replayed permit answers 404")

    # 5. Connections.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
    idle = []
    for _ in range(2000):
        idle.append(socket.create_connection(("127.0.0.1", port)))
    started = time.monotonic()
    s, _ = request(port, "GET", "/v1/status", headers=A)
    check(s == 200 and time.monotonic() - started < 5, f"2000 idle connections do not stop a request ({time.monotonic() - started:.3f} s)")
    time.sleep(3)
    closed = sum(1 for c in idle if is_closed(c))
    check(closed == len(idle), f"idle connections are closed after --idle-timeout ({closed}/{len(idle)})")
    for c in idle:
        c.close()

    # A client that sends half a body and stalls, then one that disconnects mid-request.
    c = socket.create_connection(("127.0.0.1", port))
    c.sendall(b"POST /v1/admit HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer " + AGENT.encode() + b"\r\nContent-Length: 100\r\n\r\n{\"tenant\"")
    c.settimeout(10)
    answer = c.recv(4096)
    check(answer.startswith(b"HTTP/1.1 408"), f"a body that stalls answers 408 ({answer[:12]!r})")
    c.close()
    c = socket.create_connection(("127.0.0.1", port))
    c.sendall(b"POST /v1/admit HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer " + AGENT.encode() + b"\r\nContent-Length: 100\r\n\r\n{\"ten")
    c.close()
    c = socket.create_connection(("127.0.0.1", port))
    c.sendall(b"POST /v1/admit HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + AGENT.encode() +
              b"\r\nContent-Length: 51\r\n\r\n" + json.dumps({"tenant": "acme", "tool": "gone", "turn": "tx"}).encode())
    c.close()
    time.sleep(0.5)
    check(request(port, "GET", "/livez")[0] == 200, "the service answers after clients disconnected mid-request")

    # 6. Nothing recorded for refused requests; no 5xx; the store verifies.
    check(all(s < 500 for s, _, _ in statuses), f"no answer was a 5xx ({[x for x in statuses if x[0] >= 500]})")
    check(serve.stop() == 0, "SIGTERM stops serve with status 0")
    serve_log = "\n".join(serve.stderr_lines)
    check(OPERATOR not in serve_log and AGENT not in serve_log and AGENT[:-1] not in serve_log, "no token is ever logged")
    rc, out, err = serve.cli("verify")
    check(rc == 0, f"verify passes ({out.strip()}{err.strip()})")
    rc, out, _ = serve.cli("export")
    records = [json.loads(line) for line in out.splitlines()]
    calls = [r for r in records if r["kind"] == "call"]
    check([(c["tenant"], c["tool"], c["outcome"]) for c in calls] == [("acme", "web_search", "success")],
          f"only the one completed call is recorded ({[(c['tenant'], c['tool'], c['outcome']) for c in calls]})")
    ops = [r for r in records if r["kind"] == "operator"]
    check(len(ops) == 1 and ops[0]["actor"] == "oncall", "only the one authorized operator action is recorded")
    finish("bad input")


def chunked(port, path, body, headers):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.putrequest("POST", path)
    for k, v in headers.items():
        conn.putheader(k, v)
    if "Content-Type" not in headers:
        conn.putheader("Content-Type", "application/json")
    conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders()
    try:
        for i in range(0, len(body), 8192):
            part = body[i:i + 8192]
            conn.send(b"%x\r\n" % len(part) + part + b"\r\n")
        conn.send(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass
    r = conn.getresponse()
    r.read()
    statuses.append((r.status, "POST", path))
    return r.status, None


def is_closed(sock):
    sock.settimeout(0.5)
    try:
        return sock.recv(1) == b""
    except socket.timeout:
        return False
    except OSError:
        return True


if __name__ == "__main__":
    main()
