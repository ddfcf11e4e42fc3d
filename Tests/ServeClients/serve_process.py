"""Starts a real `breakerctl serve` on an ephemeral loopback port for the tests under Tests/ServeClients."""

import os
import re
import signal
import subprocess
import sys
import threading
import time

# The peer scripts use the project's Python client from the source tree (Sources/tenantbreaker-python).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "Sources",
                                "tenantbreaker-python"))


class ServeProcess:
    def __init__(self, breakerctl, db, config=None, operator_token=None, extra=(), preexec_fn=None):
        self.breakerctl = breakerctl
        self.db = db
        args = [breakerctl, "serve", "--db", db, "--port", "0"]
        if config:
            args += ["--config", config]
        if operator_token:
            path = db + ".operator-token"
            with open(path, "w") as f:
                f.write(operator_token + "\n")
            args += ["--operator-token-file", path]
        args += list(extra)
        self.stderr_lines = []
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, preexec_fn=preexec_fn)
        self.port = None
        ready = threading.Event()

        def read_stderr():
            for line in self.process.stderr:
                self.stderr_lines.append(line.rstrip("\n"))
                m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
                if m:
                    self.port = int(m.group(1))
                    ready.set()
            ready.set()

        threading.Thread(target=read_stderr, daemon=True).start()
        if not ready.wait(60) or self.port is None:
            self.process.kill()
            raise RuntimeError("serve did not start:\n" + "\n".join(self.stderr_lines))
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self, sig=signal.SIGTERM, timeout=60):
        """Sends `sig` and returns the exit status."""
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise

    def cli(self, *args, binary=False):
        """Runs `breakerctl ARGS --db DB`; returns (status, stdout, stderr) — stdout as bytes when `binary`."""
        p = subprocess.run([self.breakerctl, *args, "--db", self.db], capture_output=True, timeout=120)
        out = p.stdout if binary else p.stdout.decode("utf-8")
        return p.returncode, out, p.stderr.decode("utf-8")

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def wait_until(predicate, timeout=10.0, interval=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


FAILURES = []


def check(condition, what):
    """Prints `ok: WHAT`, or `FAIL: WHAT` and exits with status 1 (the peer scripts' one assertion).
    With PEER_CHECKS_SURVEY=1 a failure is printed and the script goes on (to see every check a
    change turns red); `finish()` then exits 1."""
    if not condition:
        print("FAIL:", what)
        if os.environ.get("PEER_CHECKS_SURVEY") == "1":
            FAILURES.append(what)
            return
        sys.exit(1)
    print("ok:", what)


def finish(name):
    """Ends a peer script: `NAME: all checks passed`, or exit 1 when a surveyed check failed."""
    if FAILURES:
        print(f"{name}: {len(FAILURES)} check(s) failed")
        sys.exit(1)
    print(f"{name}: all checks passed")


def page_attrs(driver, selector, *names):
    """The attributes `names` of every element matching `selector`, read in one script: the page
    re-renders as events arrive, so elements do not last."""
    return driver.execute_script(
        "return [...document.querySelectorAll(arguments[0])].map(e => arguments[1].map(n => e.getAttribute(n)))",
        selector, list(names))


def page_text(driver, element_id):
    """The text of the element with `element_id`."""
    return driver.execute_script("return document.getElementById(arguments[0]).textContent", element_id)
