"""CLI readers never hurt the owner (SPEC §8, §12): `config`, `status` and `report` run in a loop
while an owner starts and runs; afterwards no file of the store is deleted under the owner, every
CLI operator action applies within a second, and CLI reads agree with the owner (`/v1/status` for
`serve`). The owners: `serve`, `load`, `mcp-proxy --db` and an embedding application.

Run: python3 Tests/ServeClients/reader_race_test.py PATH/TO/breakerctl WORKDIR [ROUNDS [EMBEDDING]]
Each round starts a new owner on a store that was cleanly closed (so it starts in rollback-
journal mode and the owner switches it to WAL while the readers read). Bounded: ROUNDS rounds
(default 6) with `serve`, 2 with each other owner, each with deadlines. EMBEDDING is the path of
`breaker-embedding-example` (that owner is left out without it).
"""

import json
import os
import subprocess
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_process import ServeProcess, wait_until, check, finish  # noqa: E402


def readers(breakerctl, db, stop):
    """Runs CLI readers back to back until `stop` is set; returns the thread."""
    commands = [["config"], ["status"], ["report", "--all"], ["status", "--format", "json"]]

    def loop():
        i = 0
        while not stop.is_set() and i < 10_000:
            subprocess.run([breakerctl, *commands[i % len(commands)], "--db", db], capture_output=True, timeout=60)
            i += 1

    threads = [threading.Thread(target=loop, daemon=True) for _ in range(int(os.environ.get("RACE_READERS", "3")))]
    for t in threads:
        t.start()
    return threads


def deleted_store_files(pid, db):
    """The store's files that the owner holds open although they were deleted."""
    found = []
    fd_dir = f"/proc/{pid}/fd"
    for fd in os.listdir(fd_dir):
        try:
            target = os.readlink(os.path.join(fd_dir, fd))
        except OSError:
            continue
        if target.startswith(db) and target.endswith("(deleted)"):
            found.append(target)
    return found


class OtherOwner:
    """An owner that is not `serve`: started, found ready through `status`, stopped its own way."""

    def __init__(self, kind, breakerctl, db, embedding=None):
        self.kind, self.breakerctl, self.db = kind, breakerctl, db
        if kind == "load":
            argv = [breakerctl, "load", "--db", db, "--rate", "200", "--duration", "120", "--tenants", "3", "--tools", "2"]
        elif kind == "mcp-proxy":
            server = [sys.executable, "-c", "import sys\nfor _ in sys.stdin: pass"]
            argv = [breakerctl, "mcp-proxy", "--tenant", "acme", "--db", db, "--", *server]
        else:
            argv = [embedding, "--db", db]
        self.process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.stderr = []
        threading.Thread(target=lambda: self.stderr.extend(self.process.stderr), daemon=True).start()
        pid = f"owner: pid {self.process.pid}"
        check(wait_until(lambda: pid in self.cli("status")[2], timeout=30), f"{kind} owns the store: {self.stderr}")

    def cli(self, *args):
        r = subprocess.run([self.breakerctl, *args, "--db", self.db], capture_output=True, text=True, timeout=60)
        return r.returncode, r.stdout, r.stderr

    def stop(self):
        if self.kind == "mcp-proxy":
            self.process.stdin.close()  # the client leaves: the proxy stops
        else:
            self.process.send_signal(15)
        try:
            return self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            return None

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def after_the_readers(label, pid, cli, db, stop, threads, tool):
    """While the readers run, lets the owner run 2 s; then stops them and checks that no file of
    the store is deleted under the owner and that a CLI operator action applies within a second."""
    time.sleep(2.0)
    stop.set()
    for t in threads:
        t.join(70)
    deleted = deleted_store_files(pid, os.path.realpath(db))
    check(not deleted, f"{label}: no file of the store is deleted under the owner: {deleted}")
    t0 = time.monotonic()
    status, _, err = cli("force-open", "--tool", tool, "--tenant", "acme", "--actor", "oncall", "--reason", "race")
    elapsed = time.monotonic() - t0
    check(status == 0 and elapsed < 1.5, f"{label}: a CLI operator action applies within a second: {status} {elapsed:.2f}s {err}")


def other_owner_round(kind, round_, breakerctl, db, embedding):
    stop = threading.Event()
    threads = readers(breakerctl, db, stop)
    time.sleep(0.05 * round_)
    owner = None
    try:
        owner = OtherOwner(kind, breakerctl, db, embedding)
        tool = f"{kind}-tool{round_}"
        after_the_readers(f"{kind} round {round_}", owner.process.pid, owner.cli, db, stop, threads, tool)
        status, out, err = owner.cli("status", "--format", "json", "--tenant", "acme")
        read = {(k["tenant"], k["tool"]): k["state"] for k in json.loads(out)} if status == 0 else {}
        check(read.get(("acme", tool)) == "open", f"{kind} round {round_}: CLI status shows the action: {read}")
        check(owner.stop() == 0, f"{kind} round {round_}: the owner stops cleanly: {b''.join(owner.stderr)[-500:]}")
    finally:
        stop.set()
        if owner:
            owner.kill()


def get(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.loads(r.read())


def main():
    breakerctl, work = sys.argv[1], sys.argv[2]
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 6
    os.makedirs(work, exist_ok=True)
    db = os.path.join(work, "race.sqlite")
    first = ServeProcess(breakerctl, db)
    req = urllib.request.Request(first.url + "/v1/admit", data=json.dumps({"tenant": "acme", "tool": "crm", "turn": "t"}).encode(),
                                 headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=10).read()
    check(first.stop() == 0, "the store is made and cleanly closed")

    for round_ in range(rounds):
        stop = threading.Event()
        threads = readers(breakerctl, db, stop)
        time.sleep(0.05 * round_)  # the owner starts at a different point of the readers' loop each round
        serve = ServeProcess(breakerctl, db)
        try:
            tool = f"tool{round_}"
            after_the_readers(f"round {round_}", serve.process.pid, serve.cli, db, stop, threads, tool)
            live = {(k["tenant"], k["tool"]): k["state"] for k in get(serve.url + "/v1/status")}
            check(live.get(("acme", tool)) == "open", f"round {round_}: the action shows in /v1/status: {live}")
            status, out, err = serve.cli("status", "--format", "json")
            read = {(k["tenant"], k["tool"]): k["state"] for k in json.loads(out)} if status == 0 else {}
            check(read == live, f"round {round_}: CLI status agrees with /v1/status: {read} vs {live}")
            check(serve.stop() == 0, f"round {round_}: serve stops cleanly")
        finally:
            stop.set()
            serve.kill()
    embedding = sys.argv[4] if len(sys.argv) > 4 else None
    for kind in ["load", "mcp-proxy"] + (["embedding"] if embedding else []):
        for round_ in range(2):
            other_owner_round(kind, round_, breakerctl, db, embedding)
    status, out, err = subprocess.run([breakerctl, "verify", "--db", db], capture_output=True, text=True, timeout=120).returncode, "", ""
    check(status == 0, "the store verifies after every round")
    finish("reader race")


if __name__ == "__main__":
    main()
