"""A web page cannot drive a loopback `breakerctl serve` from a browser (SPEC §12 Limits).

Run: python3 Tests/ServeClients/cross_site_test.py PATH/TO/breakerctl WORKDIR
(Python with selenium; chromium and chromedriver from Debian.) A real headless chromium opens two
attacker pages:
- one on another origin (another loopback port) that sends admissions the browser lets through
  without a preflight — `fetch` in `no-cors` mode with text/plain, a form posted into an iframe —
  and one `fetch` that needs a preflight; blind admissions that are never completed would time out
  and open a tenant's circuit;
- one loaded from a name mapped to 127.0.0.1 whose port is then taken over by `serve` (what DNS
  rebinding achieves): its same-origin requests reach the service with the page's own name as Host.
Nothing may be recorded: no key becomes known to either service.
"""

import http.server
import json
import os
import socket
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_process import ServeProcess, wait_until, check, finish  # noqa: E402

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402

ADMIT = {"tenant": "victim", "tool": "web_search", "turn": "t-1"}

CROSS_ORIGIN_PAGE = """<!doctype html><html><body>
<form id="f" method="POST" enctype="text/plain" target="sink" action="TARGET/v1/admit">
<input name='{"tenant":"victim","tool":"crm","turn":"t","x":"' value='"}'></form>
<iframe name="sink"></iframe>
<script>
window.results = [];
async function attack() {
  for (let i = 0; i < 5; i++) {
    try {
      await fetch("TARGET/v1/admit", {method: "POST", mode: "no-cors",
        headers: {"Content-Type": "text/plain"}, body: JSON.stringify(ADMIT)});
      window.results.push("no-cors sent");
    } catch (e) { window.results.push("no-cors error " + e); }
  }
  try {
    const r = await fetch("TARGET/v1/admit", {method: "POST",
      headers: {"Content-Type": "application/json"}, body: JSON.stringify(ADMIT)});
    window.results.push("cors " + r.status);
  } catch (e) { window.results.push("cors blocked"); }
  document.getElementById("f").submit();
  setTimeout(() => { document.title = "done"; }, 1500);
}
attack();
</script></body></html>"""

REBIND_PAGE = """<!doctype html><html><body><script>
window.results = [];
async function probe() {
  for (let i = 0; i < 200; i++) {
    try {
      const r = await fetch("/v1/admit", {method: "POST",
        headers: {"Content-Type": "application/json"}, body: JSON.stringify(ADMIT)});
      window.results.push(r.status);
    } catch (e) { window.results.push("error"); }
    await new Promise(ok => setTimeout(ok, 200));
  }
}
probe();
</script></body></html>"""


class Page(http.server.BaseHTTPRequestHandler):
    body = b""

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(self.body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


def page_server(html, port=0):
    handler = type("P", (Page,), {"body": html.replace("ADMIT", json.dumps(ADMIT)).encode()})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.allow_reuse_address = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def keys(url):
    with urllib.request.urlopen(url + "/v1/status", timeout=10) as r:
        return json.loads(r.read())


def browser():
    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--host-resolver-rules=MAP rebind.test 127.0.0.1"):
        options.add_argument(arg)
    options.binary_location = "/usr/bin/chromium"
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(30)
    return driver


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def main():
    breakerctl, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    config = os.path.join(work, "config.json")
    with open(config, "w") as f:
        # A blind admission never completed is a timeout after a second: failures that open.
        json.dump({"defaults": {"callTimeoutMs": 1000, "failureThreshold": 2}}, f)
    serve = ServeProcess(breakerctl, os.path.join(work, "victim.sqlite"), config=config)
    driver = None
    rebound = None
    try:
        driver = browser()
        # 1. Another origin.
        attacker = page_server(CROSS_ORIGIN_PAGE.replace("TARGET", serve.url))
        driver.get(f"http://127.0.0.1:{attacker.server_address[1]}/")
        check(wait_until(lambda: driver.title == "done", timeout=20), "the cross-origin page ran its requests")
        results = driver.execute_script("return window.results")
        check(results.count("no-cors sent") == 5, f"the browser sent the no-cors admissions: {results}")
        attacker.shutdown()
        attacker.server_close()
        time.sleep(1.5)
        check(keys(serve.url) == [], "the cross-origin page recorded nothing: no key is known to serve")

        # 2. A rebound name: the page's port is taken over by a second serve.
        port = free_port()
        lure = page_server(REBIND_PAGE, port)
        driver.get(f"http://rebind.test:{port}/")
        lure.shutdown()
        lure.server_close()
        rebound = ServeProcess(breakerctl, os.path.join(work, "rebound.sqlite"), extra=["--port", str(port)])
        # The page's first requests reached the lure (501: it answers GET only) or nothing.
        seen = wait_until(lambda: {421, 200} & set(s for s in driver.execute_script("return window.results") if isinstance(s, int)),
                          timeout=20, interval=0.2)
        statuses = driver.execute_script("return window.results")
        check(seen and 421 in statuses and 200 not in statuses,
              f"requests under a rebound name reach serve and are refused with 421: {statuses[-5:]}")
        check(keys(rebound.url) == [], "the rebound page recorded nothing")
        check(keys(serve.url) == [], "nor did anything reach the first service")
    finally:
        if driver:
            driver.quit()
        serve.kill()
        if rebound:
            rebound.kill()
    finish("cross site")


if __name__ == "__main__":
    main()
