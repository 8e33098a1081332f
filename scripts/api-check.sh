#!/usr/bin/env bash
# Schemathesis against a real `tally serve`: every operation of docs/openapi.yaml, every check
# (positive and negative data, status codes, schemas, undeclared methods), at least MIN_CASES cases.
#   scripts/api-check.sh [TALLY_BINARY] [EXAMPLES_PER_OPERATION]
# Schemathesis comes from PyPI into a throwaway virtualenv; when PyPI cannot be reached the check is
# skipped with a message saying so (and only then). Configuration: scripts/schemathesis.toml.
set -euo pipefail

TALLY=${1:-.build/debug/tally}
EXAMPLES=${2:-150}
MIN_CASES=${MIN_CASES:-1000}
SCHEMATHESIS_VERSION=4.32.5
ROOT=$(cd "$(dirname "$0")/.." && pwd)

[ -x "$TALLY" ] || { echo "api-check: no tally binary at $TALLY (run swift build first)"; exit 1; }
WORK=$(mktemp -d /tmp/tally-api-check.XXXXXX)
SERVER=""
cleanup() {
    if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

if ! python3 -c 'import urllib.request; urllib.request.urlopen("https://pypi.org/simple/schemathesis/", timeout=15)' 2>/dev/null; then
    echo "api-check: SKIPPED — PyPI (https://pypi.org) cannot be reached, so schemathesis cannot be installed."
    exit 0
fi
echo "api-check: installing schemathesis $SCHEMATHESIS_VERSION into a throwaway virtualenv"
python3 -m venv "$WORK/venv"
"$WORK/venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"

# A port whose two neighbours are free too (--demo puts a fake Kick on PORT+1 and a fake Discord on PORT+2).
PORT=$(python3 - <<'PY'
import socket, random
for _ in range(200):
    base = random.randint(20000, 60000)
    socks = []
    try:
        for p in (base, base + 1, base + 2):
            s = socket.socket(); s.bind(("127.0.0.1", p)); socks.append(s)
        print(base); break
    except OSError:
        pass
    finally:
        for s in socks: s.close()
PY
)
TOKEN=$(python3 -c 'import secrets; print(secrets.token_hex(24))')
TALLY_OPERATOR_TOKEN=$TOKEN "$TALLY" serve --data "$WORK/data" --port "$PORT" --demo --log-level warning \
    >"$WORK/serve.log" 2>&1 &
SERVER=$!
BASE=http://127.0.0.1:$PORT
for _ in $(seq 1 100); do
    curl -fsS "$BASE/health" >/dev/null 2>&1 && break
    kill -0 "$SERVER" 2>/dev/null || { echo "api-check: tally serve exited:"; cat "$WORK/serve.log"; exit 1; }
    sleep 0.2
done

# Data for the generated requests to find: guild 1 (the smallest snowflake the schema allows, which
# generators try first) with points, a shop item, an open raffle period with tickets and a role.
seed() {
    curl -fsS -o /dev/null -X POST "$BASE/v1/guilds/1/commands" -H "Authorization: Bearer $TOKEN" \
        -H 'Content-Type: application/json' -d "$1" || { echo "api-check: seeding failed: $1"; exit 1; }
}
seed '{"type":"adjust_points","key":"seed-1","person":"1","delta":5000,"reason":"seed"}'
seed '{"type":"adjust_points","key":"seed-2","person":"kick:1","delta":700,"reason":"seed"}'
seed '{"type":"create_shop_item","key":"seed-3","name":"Shoutout","price":100}'
seed '{"type":"purchase","key":"seed-4","item_id":1,"person":"1"}'
seed '{"type":"open_raffle_period","key":"seed-5"}'
seed '{"type":"grant_tickets","key":"seed-6","person":"1","amount":3,"reason":"seed"}'
seed '{"type":"set_role_threshold","key":"seed-7","role_id":"1","name":"Regular","minutes":60}'

cd "$WORK"
set +e
"$WORK/venv/bin/schemathesis" --config-file "$ROOT/scripts/schemathesis.toml" run "$ROOT/docs/openapi.yaml" \
    --url "$BASE" --header "Authorization: Bearer $TOKEN" --checks all --max-examples "$EXAMPLES" \
    --request-timeout 30 --no-color 2>&1 | tee "$WORK/schemathesis.txt"
STATUS=${PIPESTATUS[0]}
set -e
CASES=$(grep -oE '[0-9]+ generated' "$WORK/schemathesis.txt" | tail -1 | grep -oE '[0-9]+' || echo 0)
if [ "$STATUS" -ne 0 ]; then echo "api-check: FAILED (schemathesis exit $STATUS)"; exit 1; fi
if [ "$CASES" -lt "$MIN_CASES" ]; then echo "api-check: FAILED — only $CASES cases generated (at least $MIN_CASES wanted)"; exit 1; fi
kill -0 "$SERVER" 2>/dev/null || { echo "api-check: FAILED — tally serve died during the run"; tail -50 "$WORK/serve.log"; exit 1; }
echo "api-check: passed — $CASES generated cases, every check, 0 failures"
