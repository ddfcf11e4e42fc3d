"""The dashboard (`GET /`) in a real headless chromium, driven through an outage (SPEC §12).

Run: python3 Tests/ServeClients/dashboard_test.py PATH/TO/breakerctl WORKDIR [--screenshot FILE]
(Python with selenium; chromium and chromedriver from Debian.) With --screenshot, the page is
saved as a PNG after the outage, for a person to look at.
"""

import json
import os
import re
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_process import ServeProcess, check, finish, page_attrs, page_text, wait_until  # noqa: E402
from tenantbreaker import BreakerClient  # noqa: E402

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

TOKEN = "operator-" + "d" * 40


class VendorTimeout(Exception):
    pass


def main():
    breakerctl, work = sys.argv[1], sys.argv[2]
    screenshot = sys.argv[sys.argv.index("--screenshot") + 1] if "--screenshot" in sys.argv else None
    os.makedirs(work, exist_ok=True)
    config = os.path.join(work, "config.json")
    with open(config, "w") as f:
        # umbrella is in shadow (SPEC §15): its keys open as any other but block nothing.
        # Objectives (SPEC §16): 99 % of turns not blocked for every tenant; globex promises 80 % not
        # degraded, so its failures spend its budget at a ticket's pace, not a page's.
        # flaky reopens fast: its probes fail over and over (the feed collapses them into one line).
        json.dump({"defaults": {"failureThreshold": 2, "openTimeoutMs": 120000, "globalOutageTenants": 3},
                   "tools": {"flaky": {"openTimeoutMs": 150, "globalOutageTenants": 10}},
                   "slo": {"objective": 99, "windowDays": 1, "minTurns": 1},
                   "tenants": {"umbrella": {"enforce": False},
                               "globex": {"slo": {"objective": 80, "windowDays": 1, "bad": "degraded", "minTurns": 1}}}}, f)
    serve = ServeProcess(breakerctl, os.path.join(work, "dashboard.sqlite"), config=config, operator_token=TOKEN)
    driver = None
    try:
        client = BreakerClient(serve.url)
        operator = BreakerClient(serve.url, token=TOKEN)
        tenants = ["acme", "globex", "initech", "umbrella"]
        for tenant in tenants:
            for tool in ("web_search", "crm"):
                client.run(tenant, tool, f"{tenant}-warm", lambda: "ok")

        html = urllib.request.urlopen(serve.url + "/").read().decode("utf-8")
        check(not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//|url\(\s*["']?(https?:)?//|@import""", html, re.I),
              "the page loads no external assets")

        # A laptop's width: nothing may be cut off or need sideways scrolling at 1280 px.
        driver = browser(1280)
        driver.get(serve.url + "/")

        def attrs(selector, *names):
            return page_attrs(driver, selector, *names)

        def text(element_id):
            return page_text(driver, element_id)

        def cells(state=None):
            return {k: v for k, v in attrs("#grid td[data-key]", "data-key", "data-state") if state is None or v == state}

        def affected_rows():
            return {t: int(n) for t, n in attrs("#affected tbody tr", "data-tenant", "data-affected")}

        grid = wait_until(lambda: len(cells()) == 8 and cells(), timeout=15)
        check(grid and set(grid.values()) == {"closed"}, f"the grid shows 4 tenants × 2 tools, all closed ({grid})")
        check(text("open-count") == "0", "no open circuits at first")
        check(wait_until(lambda: text("stream") == "events: live", timeout=10), "the event stream is live")

        # The outage: web_search fails for three tenants; their circuits open; a global outage.
        for tenant in tenants[:3]:
            for i in range(2):
                try:
                    client.run(tenant, "web_search", f"{tenant}-down-{i}", fail)
                except VendorTimeout:
                    pass
        client.run("acme", "web_search", "acme-blocked", lambda: "never runs")
        opened = wait_until(lambda: {k for k, v in cells("open").items()} == {"acme/web_search", "globex/web_search", "initech/web_search"}, timeout=10)
        check(opened, f"the page turns the three circuits open without reloading ({cells()})")
        check(text("open-count") == "3", "the header counts 3 open circuits")
        check(cells()["umbrella/web_search"] == "closed", "umbrella's circuit stays closed on the page")
        outage = wait_until(lambda: attrs("#outages li", "data-tool") == [["web_search"]], timeout=5)
        check(outage and text("outage-count") == "1", "web_search is listed as a global outage now")
        kinds = [k for (k,) in attrs("#events li", "data-kind")]
        check(kinds.count("transition") >= 3 and "global_outage" in kinds, f"the latest transitions and the global outage are listed ({kinds})")
        open_rows = attrs("#open-list tbody tr", "data-key")
        check(len(open_rows) == 3, f"the open circuits are listed with their tenants ({open_rows})")
        first_row = attrs("#grid tbody tr", "data-tenant")[0][0]
        check(first_row in ("acme", "globex", "initech"), f"tenants with a circuit not closed come first ({first_row})")

        # The story of each open circuit: how long, why, and when a probe is due.
        def open_row(key):
            return driver.execute_script(
                "const r = document.querySelector(`#open-list tr[data-key='${arguments[0]}']`);"
                "return r && [...r.querySelectorAll('td')].map(td => td.textContent)", key)
        row = wait_until(lambda: (lambda r: r if r and r[4] else None)(open_row("acme/web_search")), timeout=10)
        check(row and re.fullmatch(r"\d+ s", row[3]), f"acme's circuit says how long it has been open ({row})")
        check(row and row[4] == "2 failures in the window", f"... why it opened ({row})")
        check(row and re.fullmatch(r"in (1 min|\d+ s)", row[5]), f"... and when a probe is due, within its 2 min open timeout ({row})")
        check(row and row[2] == "✕ open", f"... and its state in words and a mark, not by colour alone ({row})")

        # An operator action arrives live too.
        operator.force_open("crm", actor="oncall", reason="vendor maintenance", hold=True)
        forced = wait_until(lambda: len(cells("forced_open")) == 4, timeout=10)
        check(forced, f"the operator's hold shows every crm circuit forced open ({cells()})")
        row = wait_until(lambda: (lambda r: r if r and r[4] else None)(open_row("acme/crm")), timeout=10)
        check(row and row[4] == "held open by an operator" and row[5] == "when released", f"a held circuit says who holds it and until when ({row})")
        marks = driver.execute_script(
            "return [...document.querySelectorAll('#grid td[data-key]')].map(td => [td.dataset.state, td.textContent])")
        by_state = {}
        for state, mark in marks:
            by_state.setdefault(state, set()).add(mark)
        check(all(len(m) == 1 and "" not in m for m in by_state.values()) and len({next(iter(m)) for m in by_state.values()}) == len(by_state) >= 3,
              f"each state in the grid has a mark of its own besides its colour ({by_state})")
        shadow_cells = {k for k, v in attrs("#grid td[data-key]", "data-key", "data-shadow") if v == "true"}
        check(shadow_cells == {"umbrella/web_search", "umbrella/crm"}, f"umbrella's keys are marked in shadow ({shadow_cells})")
        check(text("open-count") == "6" and text("shadow-count") == "1",
              f"the header counts 6 blocking circuits and umbrella's forced crm apart, in shadow ({text('open-count')}, {text('shadow-count')})")
        shadow_rows = [k for k, v in attrs("#open-list tbody tr", "data-key", "data-shadow") if v == "true"]
        check(shadow_rows == ["umbrella/crm"], f"the open list marks umbrella's crm as shadow ({shadow_rows})")
        check(wait_until(lambda: attrs('#events li[data-kind="operator"]', "data-seq"), timeout=5),
              "the operator action is listed")
        live = int(driver.execute_script("return document.body.dataset.liveEvents"))
        check(live >= 9, f"the page took these from /v1/events ({live} live events)")

        # flaky fails, opens, and each probe after its 150 ms open timeout fails again: the feed
        # shows one line with a count, and the operator's action stays in view.
        for i in range(2):
            try:
                client.run("acme", "flaky", f"flaky-{i}", fail)
            except VendorTimeout:
                pass
        for i in range(5):
            time.sleep(0.3)
            try:
                client.run("acme", "flaky", f"flaky-probe-{i}", fail)
            except VendorTimeout:
                pass
        flap = wait_until(lambda: (lambda a: a if a and a[0][1] == "5" else None)(attrs('#events li[data-key="acme/flaky"]', "data-kind", "data-failed")),
                          timeout=10)
        check(flap and flap == [["flapping", "5"]], f"five failed probes of acme/flaky are one line with a count ({flap})")
        check(attrs('#events li[data-kind="operator"]', "data-seq"), "the operator action is still in the feed")
        row = wait_until(lambda: (lambda r: r if r and "5 probes failed" in r[4] else None)(open_row("acme/flaky")), timeout=10)
        check(row, f"the open list counts the failed probes beside the cause ({open_row('acme/flaky')})")

        affected = wait_until(lambda: affected_rows().get("acme", 0) >= 3, timeout=10)
        rows = affected_rows()
        check(affected and rows.get("umbrella") == 0, f"affected turns per hour: acme's failed and blocked turns, none for umbrella ({rows})")

        # Error budgets: acme's blocked turn burns a 1 % budget at a page's pace (red bar); globex's two
        # degraded turns of four burn 20 % at 2.5× (a ticket: amber); initech blocked nothing.
        def budgets():
            return {t: (st, float(b)) for t, st, b in attrs("#slo tbody tr", "data-tenant", "data-status", "data-budget")}
        seen = wait_until(lambda: (lambda b: b if b.get("acme", ("",))[0] == "page" and b.get("globex", ("",))[0] == "ticket" else None)(budgets()),
                          timeout=25)
        check(seen and seen["initech"][0] == "ok" and seen["acme"][1] < 0,
              f"each tenant's budget is a bar: acme overspent and paging, globex at a ticket, initech ok ({budgets()})")
        colors = dict(driver.execute_script(
            "return [...document.querySelectorAll('#slo tbody tr')].map(r => [r.dataset.tenant, getComputedStyle(r.querySelector('.budget i')).backgroundColor])"))
        check(colors.get("globex") == "rgb(249, 168, 37)" and colors.get("initech") == "rgb(46, 125, 50)",
              f"the ticket's bar is amber, an ok one green ({colors})")
        check(not driver.find_element(By.ID, "budgets").get_attribute("hidden"), "the budgets section is shown")

        driver.find_element(By.ID, "filter").send_keys("umb")
        check(wait_until(lambda: attrs("#grid tbody tr", "data-tenant") == [["umbrella"]], timeout=5),
              "the tenant filter narrows the grid")
        driver.find_element(By.ID, "filter").clear()
        driver.execute_script("document.getElementById('filter').dispatchEvent(new Event('input'))")

        # umbrella's crm is forced open but in shadow: its calls run, and the page shows what it
        # would have blocked.
        ran = client.run("umbrella", "crm", "umbrella-shadowed", lambda: "ran")
        check(ran == "ran", f"a call of a key in shadow runs the tool ({ran!r})")
        admission = client.admit("umbrella", "crm", "umbrella-shadowed")
        check(admission["admitted"] and admission.get("shadow") == "forced_open",
              f"the admission says it stands in for a forced_open rejection ({admission})")
        client.complete(admission["permit"], "success")
        unavailable = [t["tool_name"] for t in client.unavailable_tools("umbrella")]
        check(unavailable == [], f"a key in shadow is never among the unavailable tools ({unavailable})")
        would = wait_until(lambda: dict(attrs("#affected tbody tr", "data-tenant", "data-would-block")).get("umbrella") == "1", timeout=25)
        check(would, f"the affected-turns table says umbrella had 1 turn a shadow key would have blocked "
                     f"({attrs('#affected tbody tr', 'data-tenant', 'data-would-block')})")
        # A name a spreadsheet would run as a formula, with a comma: the page shows it as it is.
        odd = "=sum(a,b)"
        client.run(odd, "docs", "odd-1", lambda: "ok")
        named = wait_until(lambda: odd in [t for (t,) in attrs("#affected tbody tr", "data-tenant")], timeout=25)
        check(named, f"the affected-turns table names {odd!r} as it is ({attrs('#affected tbody tr', 'data-tenant')})")
        slots = driver.execute_script(
            "const b = document.querySelector('#affected tbody tr[data-tenant=\"acme\"] .bars');"
            "return [b.children.length, b.lastChild.className, b.lastChild.title]")
        check(slots[0] == 24 and "now" in slots[1] and "so far" in slots[2],
              f"the hourly chart has 24 slots, the last marked as this hour so far ({slots})")

        # Nothing is cut off at 1280 px: no section or table is wider than its box.
        overflow = driver.execute_script(
            "return [...document.querySelectorAll('section:not([hidden]), header')].filter(e => e.scrollWidth > e.clientWidth + 1)"
            ".map(e => (e.querySelector('h2') || e).textContent.slice(0, 40) + ': ' + e.scrollWidth + ' > ' + e.clientWidth)"
            ".concat(document.documentElement.scrollWidth > window.innerWidth ? ['the page scrolls sideways'] : [])")
        check(driver.get_window_size()["width"] == 1280 and overflow == [], f"nothing is cut off at 1280 px ({overflow})")
        if screenshot:
            # Two widths a person looks at: a laptop's 1280 px and a monitor's 1920 px.
            base, ext = os.path.splitext(screenshot)
            for width, height in ((1280, 1000), (1920, 1080)):
                driver.set_window_size(width, height)
                time.sleep(0.7)
                height = driver.execute_script("return document.documentElement.scrollHeight")
                driver.set_window_size(width, min(height + 140, 4000))
                time.sleep(0.3)
                driver.save_screenshot(f"{base}-{width}{ext}")
                print("screenshot:", f"{base}-{width}{ext}")
        check(serve.stop() == 0, "serve stops cleanly")
    finally:
        if driver:
            driver.quit()
        serve.kill()
    a_day_of_data(breakerctl, work, screenshot)
    finish("dashboard")


def fail():
    raise VendorTimeout("vendor is down")


def a_day_of_data(breakerctl, work, screenshot):
    """A store with a day of calls (simulated up to a few minutes ago): the affected-turns panel
    spreads each tenant's outages over its 24 hourly slots, and still fits at 1280 px."""
    now = int(time.time() * 1000)
    start = (now - 23 * 3_600_000) // 3_600_000 * 3_600_000
    lines = []
    outages = {"acme": (2, 9, 17), "globex": (5, 20), "initech": (12,)}
    for h in range(24):
        base = start + h * 3_600_000
        if base + 600_000 > now - 60_000:
            break
        for tenant, bad_hours in outages.items():
            for i in range(4):
                lines.append({"at": base + 60_000 + i * 1000, "tenant": tenant, "tool": "web_search", "turn": f"{tenant}-{h}-ok-{i}",
                              "latency_ms": 50, "result": "ok"})
            if h in bad_hours:
                # Five failures open the circuit; the next three turns are blocked.
                for i in range(8):
                    lines.append({"at": base + 300_000 + i * 1000, "tenant": tenant, "tool": "web_search", "turn": f"{tenant}-{h}-bad-{i}",
                                  "latency_ms": 50, "result": "error" if i < 5 else "ok"})
    trace = os.path.join(work, "day.jsonl")
    with open(trace, "w") as f:
        for line in sorted(lines, key=lambda l: l["at"]):
            f.write(json.dumps(line) + "\n")
    db = os.path.join(work, "day.sqlite")
    p = subprocess.run([breakerctl, "simulate", trace, "--db", db], capture_output=True, text=True, timeout=120)
    check(p.returncode == 0, f"a day of calls simulated into a store: {p.stderr}")
    serve = ServeProcess(breakerctl, db)
    driver = None
    try:
        driver = browser(1280)
        driver.get(serve.url + "/")

        def slots():
            return dict(driver.execute_script(
                "return [...document.querySelectorAll('#affected tbody tr')].map(r => [r.dataset.tenant,"
                " [...r.querySelectorAll('.bars i')].map(i => i.classList.contains('zero') ? 0 : 1)])"))
        got = wait_until(lambda: (lambda s: s if len(s) == 3 else None)(slots()), timeout=15)
        check(got and all(len(v) == 24 for v in got.values()), f"each tenant has 24 hourly slots ({got})")
        marked = {t: [i for i, v in enumerate(v) if v] for t, v in (got or {}).items()}
        check(marked.get("acme") == [2, 9, 17] and marked.get("globex") == [5, 20] and marked.get("initech") == [12],
              f"each outage is drawn in its own hour ({marked})")
        overflow = driver.execute_script(
            "return [...document.querySelectorAll('section:not([hidden])')].filter(e => e.scrollWidth > e.clientWidth + 1).length")
        check(overflow == 0, "a day of data fits at 1280 px")
        if screenshot:
            base, ext = os.path.splitext(screenshot)
            driver.save_screenshot(f"{base}-day-1280{ext}")
            print("screenshot:", f"{base}-day-1280{ext}")
        check(serve.stop() == 0, "the day's serve stops cleanly")
    finally:
        if driver:
            driver.quit()
        serve.kill()


def browser(width):
    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", f"--window-size={width},1000"):
        options.add_argument(arg)
    options.binary_location = "/usr/bin/chromium"
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(30)
    return driver


if __name__ == "__main__":
    main()
