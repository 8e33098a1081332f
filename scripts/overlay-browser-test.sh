#!/usr/bin/env bash
# The overlays in headless Chromium (Debian's `chromium` and `chromium-driver`), driven by Selenium
# from a throwaway virtualenv. Screenshots and the server log go to ARTIFACTS (default
# .build/overlay-artifacts). Usage: scripts/overlay-browser-test.sh [TALLY_BINARY] [ARTIFACTS]
set -euo pipefail
TALLY=${1:-.build/debug/tally}
ARTIFACTS=${2:-.build/overlay-artifacts}
[ -x "$TALLY" ] || { echo "overlay-browser-test: no tally binary at $TALLY (run swift build first)"; exit 1; }
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
    echo "overlay-browser-test: SKIPPED — install Debian's chromium and chromium-driver"
    exit 0
fi
WORK=$(mktemp -d /tmp/tally-overlay-venv.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
python3 -m venv "$WORK/venv"
"$WORK/venv/bin/pip" install --quiet --disable-pip-version-check "selenium==4.27.1"
"$WORK/venv/bin/python" "$(dirname "$0")/overlay-browser-test.py" "$TALLY" "$ARTIFACTS"
