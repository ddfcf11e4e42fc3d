"""`GET /v1/events` is pushed and bounded (SPEC §12), against a real `breakerctl serve`.

Run: python3 Tests/ServeClients/events_test.py PATH/TO/breakerctl WORKDIR
- a record reaches every subscriber soon after it is durable; `Last-Event-ID` resumes after it;
- `HEAD /v1/events` answers at once without a body;
- a subscriber that closes leaves at once (`agent_circuit_breaker_event_subscribers`);
- a subscriber that does not read is disconnected once its connection's buffer stays full for
  --event-write-timeout, while the others go on and the service's memory stays bounded.
Every wait has a deadline; every loop is bounded in count.
"""

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_process import ServeProcess, wait_until, check, finish  # noqa: E402

TOKEN = "operator-" + "e" * 40


def subscribe(port, last_event_id=None, query=""):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    extra = f"Last-Event-ID: {last_event_id}\r\n" if last_event_id is not None else ""
    s.sendall(f"GET /v1/events{query} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}\r\n".encode())
    return s


class Reader:
    """Reads a subscription on a thread of its own, collecting the `id:` lines."""

    def close(self):
        # shutdown first: a plain close() leaves the socket open while the thread is in recv().
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()

    def __init__(self, sock):
        self.sock, self.ids, self.closed = sock, [], False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        buffer = b""
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    break
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    if line.startswith(b"id: "):
                        self.ids.append(int(line[4:]))
        except OSError:
            pass
        self.closed = True


def subscribers(url):
    with urllib.request.urlopen(url + "/metrics", timeout=10) as r:
        for line in r.read().decode().splitlines():
            if line.startswith("agent_circuit_breaker_event_subscribers "):
                return float(line.split()[1])
    return 0.0


def operator(url, path, body):
    req = urllib.request.Request(url + path, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json", "Authorization": "Bearer " + TOKEN})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
    return 0


def main():
    breakerctl, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    serve = ServeProcess(breakerctl, os.path.join(work, "events.sqlite"), operator_token=TOKEN,
                         extra=["--event-write-timeout", "2"])
    try:
        url = serve.url
        # HEAD: the headers at once, no body, and the connection is answered and done.
        s = socket.create_connection(("127.0.0.1", serve.port), timeout=5)
        s.sendall(b"HEAD /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        t0, got = time.monotonic(), b""
        while time.monotonic() - t0 < 5:
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
        s.close()
        head, _, body = got.partition(b"\r\n\r\n")
        check(head.startswith(b"HTTP/1.1 200") and b"text/event-stream" in head and body == b"" and time.monotonic() - t0 < 5,
              f"HEAD /v1/events answers at once without a body: {got!r}")

        readers = [Reader(subscribe(serve.port)) for _ in range(3)]
        check(wait_until(lambda: subscribers(url) == 3, timeout=5), "three subscribers are counted")
        seq = operator(url, "/v1/operator/force-open", {"tool": "crm", "actor": "oncall", "reason": "events test"})
        t0 = time.monotonic()
        check(wait_until(lambda: all(r.ids for r in readers), timeout=5), "the record reaches every subscriber")
        print(f"ok: pushed to 3 subscribers in {time.monotonic() - t0:.3f} s after the answer")
        first = readers[0].ids[0]
        operator(url, "/v1/operator/release", {"tool": "crm", "actor": "oncall", "reason": "events test"})
        check(wait_until(lambda: len(readers[0].ids) >= 2, timeout=5), "and the next one")
        resumed = Reader(subscribe(serve.port, last_event_id=first))
        check(wait_until(lambda: resumed.ids, timeout=5) and resumed.ids[0] > first,
              f"Last-Event-ID resumes after that seq: {resumed.ids[:3]} after {first}")
        # ?last=N starts with the latest N records (the dashboard's first load).
        every = readers[0].ids
        latest = Reader(subscribe(serve.port, query="?last=1"))
        two = Reader(subscribe(serve.port, query="?last=2"))
        many = Reader(subscribe(serve.port, query="?last=1000"))
        check(wait_until(lambda: latest.ids and len(two.ids) >= 2 and len(many.ids) >= len(every), timeout=5)
              and latest.ids[0] == every[-1] and two.ids[:2] == every[-2:] and many.ids[:len(every)] == every,
              f"?last=N starts with the latest N records: {latest.ids} {two.ids} {many.ids} of {every}")
        for r in readers + [resumed, latest, two, many]:
            r.close()
        check(wait_until(lambda: subscribers(url) == 0, timeout=2), "closed subscribers leave at once")

        check(serve.stop() == 0, "serve stops cleanly")
    finally:
        serve.kill()
    stalled(breakerctl, work)
    finish("events")


def stalled(breakerctl, work):
    """A subscriber that never reads, beside one that does, both asking for a backlog of 10 000
    records (11 MB): the one that does not read is disconnected, the other gets every record."""
    trace = os.path.join(work, "backlog.jsonl")
    reason = "r" * 1000
    with open(trace, "w") as f:
        for i in range(10_000):
            op = "force_open" if i % 2 == 0 else "release"
            f.write(json.dumps({"at": 1796200000000 + i, "op": op, "tool": "crm", "actor": "oncall", "reason": reason}) + "\n")
    db = os.path.join(work, "backlog.sqlite")
    done = subprocess.run([breakerctl, "simulate", trace, "--db", db], capture_output=True, timeout=300)
    check(done.returncode == 0, f"the backlog store is made: {done.stderr[-300:]!r}")
    serve = ServeProcess(breakerctl, db, extra=["--event-write-timeout", "2"])
    try:
        url = serve.url
        stuck = subscribe(serve.port)
        stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        live = Reader(subscribe(serve.port))
        rss0 = rss_mib(serve.process.pid)
        check(wait_until(lambda: len(live.ids) >= 10_000, timeout=60), f"the reading subscriber gets every record: {len(live.ids)}")
        check(wait_until(lambda: subscribers(url) == 1, timeout=20), "the subscriber that does not read is disconnected")
        growth = rss_mib(serve.process.pid) - rss0
        check(growth < 100, f"the service's memory stays bounded meanwhile: +{growth} MiB")
        stuck.settimeout(10)
        received = 0
        try:
            while received < 64 << 20:
                chunk = stuck.recv(1 << 20)
                if not chunk:
                    break
                received += len(chunk)
        except OSError:
            pass
        check(0 < received < 11_000_000, f"it got part of the backlog and then the end of its stream: {received} bytes")
        live.close()
        stuck.close()
        check(serve.stop() == 0, "serve stops cleanly")
    finally:
        serve.kill()


if __name__ == "__main__":
    main()
