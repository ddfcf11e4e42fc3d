"""Fixtures: a real `breakerctl serve` on an ephemeral loopback port, one per test.

BREAKERCTL names the binary (default: the debug build of this checkout)."""

import json
import os
import re
import signal
import subprocess
import sys
import threading

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# The package as it is in this checkout (`bash .ci/run` also installs it, as a user would).
sys.path.insert(0, os.path.join(ROOT, "Sources", "tenantbreaker-python"))
BREAKERCTL = os.environ.get("BREAKERCTL", os.path.join(ROOT, ".build", "debug", "breakerctl"))


class Serve:
    def __init__(self, workdir, config=None):
        self.db = os.path.join(workdir, "breaker.sqlite")
        args = [BREAKERCTL, "serve", "--db", self.db, "--port", "0"]
        if config is not None:
            path = os.path.join(workdir, "config.json")
            with open(path, "w") as f:
                json.dump(config, f)
            args += ["--config", path]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.lines = []
        ready = threading.Event()
        self.url = None

        def read():
            for line in self.process.stderr:
                self.lines.append(line)
                m = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
                if m:
                    self.url = m.group(1)
                    ready.set()
            ready.set()

        threading.Thread(target=read, daemon=True).start()
        if not ready.wait(60) or self.url is None:
            self.process.kill()
            raise RuntimeError("serve did not start:\n" + "".join(self.lines))

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(60)

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def cli(self, *args):
        p = subprocess.run([BREAKERCTL, *args, "--db", self.db], capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr
        return p.stdout

    def export(self):
        return [json.loads(line) for line in self.cli("export").splitlines()]

    def states(self):
        return {(k["tenant"], k["tool"]): k["state"] for k in json.loads(self.cli("status", "--format", "json"))}


@pytest.fixture
def serve_factory(tmp_path):
    started = []

    def make(config=None):
        workdir = tmp_path / f"serve-{len(started)}"
        workdir.mkdir()
        s = Serve(str(workdir), config)
        started.append(s)
        return s

    yield make
    for s in started:
        s.kill()
