#!/usr/bin/env bash
# Makes screenshots of the dashboard during an outage at 1280 and 1920 px (FILE-1280.png,
# FILE-1920.png), for a person to look at:
#   swift build && Tests/ServeClients/dashboard_screenshot.sh dashboard.png
# (needs what `bash .ci/run` installs: chromium, chromedriver, selenium in .build/peers).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$(realpath -m "${1:-dashboard.png}")
work=$(mktemp -d)
"$root/.build/peers/bin/python3" "$root/Tests/ServeClients/dashboard_test.py" "$root/.build/debug/breakerctl" "$work" --screenshot "$out"
