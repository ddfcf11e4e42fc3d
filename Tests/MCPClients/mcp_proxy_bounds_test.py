"""`breakerctl mcp-proxy` bounded both ways, against raw stdio peers (SPEC §12 Limits, §13).

Run: python3 Tests/MCPClients/mcp_proxy_bounds_test.py PATH/TO/breakerctl WORKDIR
Prints one line per check; exits non-zero on the first failure.

- a server that floods its stdout while the client reads nothing: the proxy stays under 100 MB,
  and the messages then arrive intact;
- an answer longer than --max-message-bytes: the client gets a JSON-RPC error for its call, the
  call is recorded as a failure, one note on stderr;
- a request longer than it: answered with an error, never passed to the server;
- two requests in flight with the same id: the second gets a JSON-RPC error;
- repeated garbage: one rate-limited note, not one per line.
"""

import json
import os
import queue
import subprocess
import sys
import threading
import time

SERVER = r'''
import json, sys, time
log = open(sys.argv[1], "a", buffering=1)
out = sys.stdout
def send(obj):
    out.write(json.dumps(obj) + "\n"); out.flush()
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        log.write("garbage\n"); continue
    log.write(str(m.get("method")) + " " + json.dumps(m.get("id")) + "\n")
    method, id = m.get("method"), m.get("id")
    if method == "initialize":
        send({"jsonrpc": "2.0", "id": id, "result": {"protocolVersion": "2025-06-18", "capabilities": {"tools": {}},
                                                      "serverInfo": {"name": "bounds", "version": "1"}}})
    elif method == "flood":
        note = json.dumps({"jsonrpc": "2.0", "method": "notifications/message",
                           "params": {"level": "info", "data": "x" * 1000}}) + "\n"
        chunk = note * 256
        deadline = time.monotonic() + float(m["params"]["seconds"])
        while time.monotonic() < deadline:
            out.write(chunk); out.flush()
        send({"jsonrpc": "2.0", "id": id, "result": {}})
    elif method == "tools/call":
        name = m["params"]["name"]
        if name == "big":
            send({"jsonrpc": "2.0", "id": id, "result": {"content": [{"type": "text", "text": "y" * (20 << 20)}]}})
        else:
            if name == "slow":
                time.sleep(1.0)
            send({"jsonrpc": "2.0", "id": id, "result": {"content": [{"type": "text", "text": "ok " + name}]}})
    elif id is not None:
        send({"jsonrpc": "2.0", "id": id, "result": {}})
'''


def check(ok, what):
    print(("ok: " if ok else "FAILED: ") + what, flush=True)
    if not ok:
        sys.exit(1)


class Proxy:
    def __init__(self, breakerctl, work, name, read=True, config=None):
        self.server_log = os.path.join(work, name + "-server.log")
        server = os.path.join(work, "bounds_server.py")
        with open(server, "w") as f:
            f.write(SERVER)
        self.stderr_path = os.path.join(work, name + "-proxy.err")
        self.db = os.path.join(work, name + ".sqlite")
        options = ["--config", config] if config else []
        self.process = subprocess.Popen(
            [breakerctl, "mcp-proxy", "--tenant", "acme", "--db", self.db, *options, "--", sys.executable, server, self.server_log],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=open(self.stderr_path, "wb"))
        self.lines = queue.Queue()
        if read:
            self.start_reading()

    def start_reading(self):
        def reader():
            for line in self.process.stdout:
                self.lines.put(line)
            self.lines.put(None)
        threading.Thread(target=reader, daemon=True).start()

    def send(self, obj_or_bytes):
        data = obj_or_bytes if isinstance(obj_or_bytes, bytes) else json.dumps(obj_or_bytes).encode()
        self.process.stdin.write(data + b"\n")
        self.process.stdin.flush()

    def answer(self, id, timeout=20):
        """The next message with this id (others are skipped)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                break
            m = json.loads(line)
            if m.get("id") == id and "method" not in m:
                return m
        check(False, f"an answer for id {id!r} within {timeout} s")

    def rss_mb(self):
        with open(f"/proc/{self.process.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return 0

    def stderr(self):
        with open(self.stderr_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def close(self):
        try:
            self.process.stdin.close()
        except BrokenPipeError:
            pass
        try:
            return self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            return None


def initialize(p):
    p.send({"jsonrpc": "2.0", "id": 0, "method": "initialize",
            "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}})


def flood(breakerctl, work):
    p = Proxy(breakerctl, work, "flood", read=False)
    try:
        initialize(p)
        p.send({"jsonrpc": "2.0", "id": 1, "method": "flood", "params": {"seconds": 8}})
        # The client reads nothing for 6 s while the server writes as fast as it can.
        peak = 0
        deadline = time.monotonic() + 6
        while time.monotonic() < deadline:
            peak = max(peak, p.rss_mb())
            time.sleep(0.1)
        check(peak < 100, f"the proxy stays under 100 MB while the client reads nothing (peak {peak:.0f} MB)")
        p.start_reading()
        got, intact = 0, 0
        for _ in range(2000):
            line = p.lines.get(timeout=20)
            if line is None:
                break
            m = json.loads(line)
            if m.get("method") == "notifications/message":
                got += 1
                intact += m["params"]["data"] == "x" * 1000
        check(got >= 1000 and intact == got, f"the messages arrive intact once the client reads ({intact} of {got})")
    finally:
        p.process.kill()
        p.process.wait()


def limits(breakerctl, work):
    # The size limits are checked, not time: a 20 MiB answer from a Python server on a loaded
    # runner has taken longer than the default 3 s call timeout.
    config = os.path.join(work, "limits.json")
    with open(config, "w") as f:
        json.dump({"defaults": {"callTimeoutMs": 60000, "latencyThresholdMs": 60000}}, f)
    p = Proxy(breakerctl, work, "limits", config=config)
    try:
        initialize(p)
        check("result" in p.answer(0), "initialize answered")

        # An answer longer than the limit: the client gets an error for its call instead.
        p.send({"jsonrpc": "2.0", "id": 10, "method": "tools/call", "params": {"name": "big", "arguments": {}}})
        a = p.answer(10, timeout=60)
        check(a.get("error", {}).get("code") == -32603 and "max-message-bytes" in a["error"]["message"],
              f"a 20 MiB answer is replaced by a JSON-RPC error ({str(a)[:200]})")

        # A request longer than the limit: answered, never passed to the server.
        big = {"jsonrpc": "2.0", "id": 11, "method": "tools/call", "params": {"name": "echo", "arguments": {"x": "z" * (17 << 20)}}}
        p.send(big)
        a = p.answer(11, timeout=60)
        check(a.get("error", {}).get("code") == -32600, f"a 17 MiB request is answered with an error ({str(a)[:200]})")

        # Two requests in flight with one id: the second is refused, the first answered.
        p.send({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "slow", "arguments": {}}})
        p.send({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "quick", "arguments": {}}})
        first = p.answer(7)
        check(first.get("error", {}).get("code") == -32600 and "already in flight" in first["error"]["message"],
              f"the second request with id 7 gets a JSON-RPC error ({first})")
        second = p.answer(7)
        check(second.get("result", {}).get("content", [{}])[0].get("text") == "ok slow", f"the first is answered ({second})")
        # The id is free again once answered.
        p.send({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "again", "arguments": {}}})
        check(p.answer(7).get("result", {}).get("content", [{}])[0].get("text") == "ok again", "an answered id can be used again")

        # Garbage, many times: one note.
        for i in range(500):
            p.send(b"this is not json %d" % i)
        p.send({"jsonrpc": "2.0", "id": 20, "method": "ping"})
        check("result" in p.answer(20), "the proxy still relays after the garbage")
    finally:
        status = p.close()
    check(status == 0, f"the proxy ends with the client ({status})")
    err = p.stderr()
    check(err.count("is not a JSON-RPC message") == 1, f"one note for 500 garbage lines ({err.count('is not a JSON-RPC message')})")
    check(err.count("from the server is longer than --max-message-bytes") == 1, "one note for the long answer")
    check(err.count("from the client is longer than --max-message-bytes") == 1, "one note for the long request")
    with open(p.server_log) as f:
        seen = f.read().split("\n")
    check("tools/call 11" not in seen, "the long request never reached the server")
    check(seen.count("tools/call 7") == 2, "the refused duplicate never reached the server (the first and the later one did)")
    export = subprocess.run([breakerctl, "export", "--db", p.db], capture_output=True, text=True, timeout=60)
    calls = [r for r in map(json.loads, export.stdout.splitlines()) if r["kind"] == "call"]
    check(any(c["outcome"] == "failure" and c["reason"].endswith("message_too_large") for c in calls),
          "the call whose answer was too long is recorded as a failure (message_too_large)")


def main():
    breakerctl, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    flood(breakerctl, work)
    limits(breakerctl, work)
    print("mcp-proxy bounds: all checks passed")


if __name__ == "__main__":
    main()
