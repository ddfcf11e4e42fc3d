"""SPEC §12 Limits and HTTP as clients expect, against a real `breakerctl serve`.

Run: python3 Tests/ServeClients/limits_test.py PATH/TO/breakerctl WORKDIR
Raw sockets and http.client only: every check names the limit it is about. Each wait has a
deadline; every loop is bounded in count.
"""

import http.client
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_process import ServeProcess, wait_until, check, finish  # noqa: E402

ADMIT = json.dumps({"tenant": "acme", "tool": "web_search", "turn": "t-1"}).encode()


def request(port, method, path, body=None, headers=None, timeout=30):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    conn.request(method, path, body=body, headers=headers or {})
    r = conn.getresponse()
    payload = r.read()
    conn.close()
    return r.status, payload


def raw(port, data, wait=5.0):
    """Sends `data` on a new connection; returns what came back until the server closed it (or
    the wait ran out) and whether it closed."""
    s = socket.create_connection(("127.0.0.1", port), timeout=wait)
    s.sendall(data)
    out, closed = b"", False
    deadline = time.monotonic() + wait
    try:
        while time.monotonic() < deadline:
            s.settimeout(max(0.01, deadline - time.monotonic()))
            chunk = s.recv(65536)
            if not chunk:
                closed = True
                break
            out += chunk
    except socket.timeout:
        pass
    s.close()
    return out, closed


def keys_known(port):
    s, body = request(port, "GET", "/v1/status")
    check(s == 200, f"/v1/status answers: {s}")
    return json.loads(body)


def cross_site(serve):
    port = serve.port
    # A POST needs application/json: a form or a no-cors fetch cannot send it.
    for headers in ({}, {"Content-Type": "text/plain"}, {"Content-Type": "application/x-www-form-urlencoded"},
                    {"Content-Type": "multipart/form-data; boundary=x"}):
        s, body = request(port, "POST", "/v1/admit", ADMIT, headers)
        check(s == 415 and b"application/json" in body, f"415 for a POST with {headers or 'no Content-Type'}: {s} {body!r}")
    # A foreign Origin is refused; the service's own is not.
    for origin in ("http://evil.test", "null", f"http://127.0.0.1:{port + 1}", f"https://evil.test:{port}"):
        s, body = request(port, "POST", "/v1/admit", ADMIT, {"Content-Type": "application/json", "Origin": origin})
        check(s == 403, f"403 for Origin {origin}: {s} {body!r}")
    s, _ = request(port, "GET", "/v1/status", None, {"Origin": "http://evil.test"})
    check(s == 403, f"403 for a GET with a foreign Origin: {s}")
    # While agent tokens are off, a Host that is not loopback is refused (DNS rebinding).
    for host in ("evil.test", f"evil.test:{port}", "127.0.0.1.evil.test", "127.evil.test", "10.0.0.1", "[::2]:80",
                 "localhost.evil.test", "127.0.0.1:80.evil.test", "localhost:x"):
        s, body = request(port, "POST", "/v1/admit", ADMIT, {"Content-Type": "application/json", "Host": host})
        check(s == 421, f"421 for Host {host}: {s} {body!r}")
    check(keys_known(port) == [], "a refused request records nothing: no key is known")
    for media in ("Application/JSON; charset=utf-8", " application/json ", "application/json;"):
        s, _ = request(port, "POST", "/v1/admit", ADMIT, {"Content-Type": media})
        check(s == 200, f"{media!r}: application/json with parameters, blanks and any case is JSON: {s}")
    for media in ("application/jsonx", "application/json-seq", "text/json", "application/ json"):
        s, _ = request(port, "POST", "/v1/admit", ADMIT, {"Content-Type": media})
        check(s == 415, f"{media!r} is not application/json: {s}")
    s, _ = request(port, "POST", "/v1/admit", ADMIT, {"Content-Type": "application/json", "Origin": f"http://127.0.0.1:{port}"})
    check(s == 200, f"the service's own origin is let in: {s}")
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", "LOCALHOST", "127.1.2.3", f"[::1]:{port}", "app.localhost"):
        s, _ = request(port, "GET", "/livez", None, {"Host": host})
        check(s == 200, f"Host {host} is loopback: {s}")
    print("ok: 415 without application/json, 403 for a foreign Origin, 421 for a foreign Host")


def http_details(serve):
    port = serve.port
    out, closed = raw(port, b"GET /livez HTTP/1.0\r\n\r\n")
    check(out.startswith(b"HTTP/1.0 200") and closed, f"HTTP/1.0 is answered as 1.0 and closed: {out[:40]!r} closed={closed}")
    out, closed = raw(port, b"GET /livez HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", wait=1.0)
    check(out.startswith(b"HTTP/1.0 200") and not closed, f"HTTP/1.0 with keep-alive stays open: closed={closed}")
    out, closed = raw(port, b"GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    check(out.startswith(b"HTTP/1.1 200") and closed, "Connection: close is honoured")
    out, closed = raw(port, b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n")
    head, _, body = out.partition(b"\r\n\r\n")
    length = [int(line.split(b":")[1]) for line in head.lower().split(b"\r\n") if line.startswith(b"content-length:")]
    check(out.startswith(b"HTTP/1.1 405") and length == [len(body)] and closed,
          f"CONNECT gets 405 with a length and the connection closed: {out!r} closed={closed}")
    # Expect: 100-continue: the interim answer comes before the body is sent.
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"POST /v1/admit HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
              b"Content-Length: %d\r\nExpect: 100-continue\r\n\r\n" % len(ADMIT))
    interim = s.recv(4096)
    check(interim.startswith(b"HTTP/1.1 100 Continue"), f"Expect: 100-continue gets 100 Continue first: {interim!r}")
    s.sendall(ADMIT)
    final = b""
    deadline = time.monotonic() + 5
    while b"\r\n\r\n" not in final and time.monotonic() < deadline:
        final += s.recv(4096)
    s.close()
    check(b"HTTP/1.1 200" in final, f"then the answer: {final[:60]!r}")
    print("ok: HTTP/1.0, Connection: close, CONNECT and 100-continue")


def reports(serve):
    port = serve.port
    t0 = time.monotonic()
    s, body = request(port, "GET", "/v1/report.csv?tenant=acme&from=1970-01-01T00:00:00Z&to=9999-01-01T00:00:00Z", timeout=10)
    check(s == 400 and b"--max-report-rows" in body and time.monotonic() - t0 < 5,
          f"a report over --max-report-rows is refused with 400 naming the limit: {s} {body!r}")
    s, body = request(port, "GET", "/v1/report.json?all=1&from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z")
    check(s == 200 and isinstance(json.loads(body), list), f"/v1/report.json answers JSON: {s}")
    print("ok: reports over the limit are refused at once")


def streamed_report_stops(breakerctl, work):
    """A report of 1 000 000 rows streams in bounded memory; the work stops when the client goes
    away, and SIGTERM cuts a stream short instead of waiting it out."""
    serve = ServeProcess(breakerctl, os.path.join(work, "stream.sqlite"))
    try:
        # One call of acme, so that the store knows the tenant (an unknown one is a 404).
        _, admitted = request(serve.port, "POST", "/v1/admit", ADMIT, {"Content-Type": "application/json"})
        request(serve.port, "POST", "/v1/complete", json.dumps({"permit": json.loads(admitted)["permit"], "outcome": "success"}).encode(),
                {"Content-Type": "application/json"})
        # 114 years of hours for one tenant: just under the default limit of 1 000 000 rows.
        path = "/v1/report.csv?tenant=acme&from=1900-01-01T00:00:00Z&to=2014-01-01T00:00:00Z"
        s = socket.create_connection(("127.0.0.1", serve.port), timeout=30)
        s.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        got = s.recv(65536)
        check(got.startswith(b"HTTP/1.1 200") and b"transfer-encoding: chunked" in got.lower(),
              f"a large report is streamed (chunked): {got[:200]!r}")
        # Reading slowly: the server may not run ahead of the client without bound.
        peak = 0
        for _ in range(20):
            s.recv(65536)
            peak = max(peak, rss_mib(serve.process.pid))
            time.sleep(0.05)
        check(peak < 400, f"memory stays bounded while the client reads slowly: {peak} MiB")
        s.close()
        time.sleep(0.5)
        cpu0 = cpu_seconds(serve.process.pid)
        time.sleep(1.5)
        cpu1 = cpu_seconds(serve.process.pid)
        check(cpu1 - cpu0 < 0.5, f"the work stops when the client goes away: {cpu1 - cpu0:.2f} s of CPU in 1.5 s after")

        # SIGTERM during a stream: the answer is cut short (no final chunk), the process exits 0 soon.
        s = socket.create_connection(("127.0.0.1", serve.port), timeout=30)
        s.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        s.recv(65536)
        t0 = time.monotonic()
        serve.process.send_signal(signal.SIGTERM)
        tail = b""
        s.settimeout(10)
        try:
            while True:
                chunk = s.recv(1 << 20)
                if not chunk:
                    break
                tail = (tail + chunk)[-16:]
        except (socket.timeout, ConnectionResetError):
            pass
        status = serve.process.wait(20)
        check(status == 0 and time.monotonic() - t0 < 10, f"SIGTERM during a stream exits 0 soon: {status} after {time.monotonic() - t0:.1f}s")
        check(not tail.endswith(b"0\r\n\r\n"), f"the cut-short answer does not end as if complete: {tail!r}")
    finally:
        serve.kill()
    print("ok: streamed reports stop with their client and with the service")


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
    return 0


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def connections(breakerctl, work):
    """--max-connections closes the ones beyond at once; 450 connections under a descriptor limit
    of 400 leave the service answering, and serve raises its soft limit to the hard one."""
    def limit_400():
        resource.setrlimit(resource.RLIMIT_NOFILE, (400, 400))

    serve = ServeProcess(breakerctl, os.path.join(work, "fds.sqlite"), preexec_fn=limit_400)
    held = []
    try:
        for _ in range(450):
            held.append(socket.create_connection(("127.0.0.1", serve.port), timeout=5))
        time.sleep(1.0)
        open_ones = [c for c in held if not closed_now(c)]
        check(150 <= len(open_ones) <= 200, f"half the 400 descriptors go to connections, the rest are closed at once: {len(open_ones)} open")
        c = open_ones[0]
        c.sendall(b"GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        check(c.recv(4096).startswith(b"HTTP/1.1 200"), "a connection within the limit is answered while 450 are tried")
        status, _, err = serve.cli("force-open", "--tool", "crm", "--actor", "oncall", "--reason", "fd test")
        check(status == 0, f"a CLI operator action applies while the connections are held: {err}")
        for c in held:
            c.close()
        held = []
        check(wait_until(lambda: request(serve.port, "GET", "/livez")[0] == 200, timeout=10),
              "after the flood a new connection is answered")
        s, body = request(serve.port, "POST", "/v1/admit", json.dumps({"tenant": "acme", "tool": "crm", "turn": "t"}).encode(),
                          {"Content-Type": "application/json"})
        check(s == 200 and json.loads(body)["admitted"] is False, f"the forced-open tool is rejected after the flood: {s} {body!r}")
        check(serve.stop() == 0, "serve stops cleanly after the flood")
    finally:
        for c in held:
            c.close()
        serve.kill()

    serve = ServeProcess(breakerctl, os.path.join(work, "max.sqlite"), extra=["--max-connections", "3"])
    held = []
    try:
        for _ in range(6):
            held.append(socket.create_connection(("127.0.0.1", serve.port), timeout=5))
        time.sleep(0.5)
        check(sum(1 for c in held if not closed_now(c)) == 3, "--max-connections 3 keeps three and closes the rest at once")
    finally:
        for c in held:
            c.close()
        serve.kill()
    print("ok: --max-connections and descriptor exhaustion")


def closed_now(sock):
    sock.setblocking(False)
    try:
        data = sock.recv(1)
        return data == b""
    except BlockingIOError:
        return False
    except OSError:
        return True
    finally:
        sock.setblocking(True)


def key_limit(breakerctl, work):
    """limits.maxKeys: a new key beyond it answers 429 and records nothing; the client fails open."""
    from tenantbreaker import BreakerClient
    config = os.path.join(work, "two-keys.json")
    with open(config, "w") as f:
        json.dump({"limits": {"maxKeys": 2}}, f)
    serve = ServeProcess(breakerctl, os.path.join(work, "keys.sqlite"), config=config)
    try:
        for tenant in ("acme", "globex"):
            s, body = request(serve.port, "POST", "/v1/admit", json.dumps({"tenant": tenant, "tool": "crm", "turn": "t"}).encode(),
                              {"Content-Type": "application/json"})
            check(s == 200, f"a key within limits.maxKeys is admitted: {s}")
            done = json.dumps({"permit": json.loads(body)["permit"], "outcome": "success"}).encode()
            check(request(serve.port, "POST", "/v1/complete", done, {"Content-Type": "application/json"})[0] == 200, "and completed")
        s, body = request(serve.port, "POST", "/v1/admit", json.dumps({"tenant": "initech", "tool": "crm", "turn": "t"}).encode(),
                          {"Content-Type": "application/json"})
        check(s == 429 and b"limits.maxKeys" in body, f"a new key beyond limits.maxKeys answers 429 naming the limit: {s} {body!r}")
        check(sorted(k["tenant"] for k in keys_known(serve.port)) == ["acme", "globex"], "and is kept nowhere")
        client = BreakerClient(serve.url)
        check(client.run("initech", "crm", "t2", lambda: "ran") == "ran", "the Python client runs the call unguarded on 429")
        check(serve.stop() == 0, "serve stops cleanly")
        status, out, _ = serve.cli("export")
        check(status == 0 and "initech" not in out, "nothing of the untracked key is in the log")
    finally:
        serve.kill()
    print("ok: limits.maxKeys")


def idle_stop(breakerctl, work):
    serve = ServeProcess(breakerctl, os.path.join(work, "idle.sqlite"))
    time.sleep(1.5)
    t0 = time.monotonic()
    status = serve.stop()
    elapsed = time.monotonic() - t0
    check(status == 0 and elapsed < 1.0, f"SIGTERM on an idle serve exits 0 within 1 s: {status} after {elapsed:.2f} s")
    print(f"ok: an idle serve stops in {elapsed:.2f} s")


def main():
    breakerctl, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    serve = ServeProcess(breakerctl, os.path.join(work, "limits.sqlite"))
    try:
        cross_site(serve)
        http_details(serve)
        reports(serve)
        check(serve.stop() == 0, "serve stops cleanly")
    finally:
        serve.kill()
    key_limit(breakerctl, work)
    idle_stop(breakerctl, work)
    connections(breakerctl, work)
    streamed_report_stops(breakerctl, work)
    finish("limits")


if __name__ == "__main__":
    main()
