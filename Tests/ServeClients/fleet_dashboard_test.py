"""The dashboard's fleet section (SPEC §14) in a real headless chromium.

Run: python3 Tests/ServeClients/fleet_dashboard_test.py NODE_URL [--screenshot FILE]
NODE_URL is a `serve --fleet` node of a fleet that the caller (BreakerFleetTests) has set up:
nodes n1, n2, n3 live and n4 killed, an episode for acme/search voted by n1 and n2.
(Python with selenium; chromium and chromedriver from Debian.)
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_process import check, finish, page_attrs, page_text, wait_until  # noqa: E402

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402


def main():
    url = sys.argv[1]
    screenshot = sys.argv[sys.argv.index("--screenshot") + 1] if "--screenshot" in sys.argv else None
    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(arg)
    options.binary_location = "/usr/bin/chromium"
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        driver.set_page_load_timeout(30)
        driver.get(url + "/")

        def attrs(selector, *names):
            return page_attrs(driver, selector, *names)

        def text(element_id):
            return page_text(driver, element_id)

        def nodes():
            return {n: live for n, live in attrs("#fleet-nodes tbody tr", "data-node", "data-live")}

        shown = wait_until(lambda: not driver.execute_script("return document.getElementById('fleet').hidden"), timeout=15)
        check(shown, "a fleet node's dashboard shows the fleet section")
        expected = {"n1": "true", "n2": "true", "n3": "true", "n4": "false"}
        check(wait_until(lambda: nodes() == expected, timeout=20), f"the nodes, live or not, are listed ({nodes()})")
        check(text("fleet-state") == "3 of 4 nodes live", f"the header says how many are live ({text('fleet-state')})")
        episodes = wait_until(lambda: attrs("#episodes li", "data-key", "data-votes"), timeout=10)
        check(episodes == [["acme/search", "2"]], f"the episode in progress is listed with its votes ({episodes})")
        check("n1, n2" in text("episodes"), "the episode names its voting nodes")
        kinds = wait_until(lambda: [k for (k,) in attrs("#events li", "data-kind")], timeout=10)
        check("fleet" in kinds, f"the fleet record is among the latest records ({kinds})")
        if screenshot:
            time.sleep(0.5)
            driver.save_screenshot(screenshot)
            print("screenshot:", screenshot)
    finally:
        driver.quit()
    finish("fleet dashboard")


if __name__ == "__main__":
    main()
