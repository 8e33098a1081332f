#!/bin/sh
# Every metric the Grafana dashboard and the Prometheus alert rules use must be exported by a running
# Tally: this starts `tally serve --demo` (shards, Kick and Discord ingress, outbox) and a coordinator
# with one shard (which is then killed, so a lease expires), exercises them, scrapes /metrics from
# both, and fails naming every metric the dashboard or rules use that neither exports.
#
# Usage: scripts/check-metrics.sh [path/to/tally]   (default .build/debug/tally)
set -eu
TALLY=${1:-.build/debug/tally}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
PIDS=""
cleanup() {
    for pid in $PIDS; do kill -9 "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}
wait_for() {
    i=0
    until curl -sf "$1" >/dev/null 2>&1; do
        i=$((i + 1))
        [ "$i" -lt 300 ] || {
            echo "check-metrics: $1 never answered; the logs:" >&2
            tail -n 20 "$WORK"/*.log >&2 || true
            exit 1
        }
        sleep 0.1
    done
}
export TALLY_OPERATOR_TOKEN=check-metrics-token
# The coordinator and its shard authenticate each other with a cluster key (decision 8).
TALLY_CLUSTER_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
export TALLY_CLUSTER_KEY

# tally serve --demo also takes the next two ports (fake Kick, fake Discord).
SERVE=$(free_port)
"$TALLY" serve --data "$WORK/serve" --port "$SERVE" --demo >"$WORK/serve.log" 2>&1 &
PIDS="$PIDS $!"
wait_for "http://127.0.0.1:$SERVE/health"
GUILD=5033164800000000000
curl -sf -X POST -H "Authorization: Bearer $TALLY_OPERATOR_TOKEN" \
    -d '{"type":"adjust_points","key":"check-1","person":"1100000000000000001","delta":5,"reason":"check"}' \
    "http://127.0.0.1:$SERVE/v1/guilds/$GUILD/commands" >/dev/null
curl -s "http://127.0.0.1:$SERVE/v1/guilds/$GUILD/nope" >/dev/null || true
curl -s -X POST -H "Authorization: Bearer $TALLY_OPERATOR_TOKEN" -d '{"projections":["people"]}' \
    "http://127.0.0.1:$SERVE/v1/admin/rebuilds" >/dev/null
sleep 8  # the demo streams, chats, grants roles and posts messages meanwhile
curl -sf "http://127.0.0.1:$SERVE/metrics" >"$WORK/metrics.txt"

COORDINATOR=$(free_port)
SHARD=$(free_port)
"$TALLY" coordinator --data "$WORK/cluster" --port "$COORDINATOR" --partitions 4 --lease-ms 1000 \
    >"$WORK/coordinator.log" 2>&1 &
PIDS="$PIDS $!"
wait_for "http://127.0.0.1:$COORDINATOR/health"
"$TALLY" shard --coordinator "http://127.0.0.1:$COORDINATOR" --data "$WORK/cluster" --port "$SHARD" \
    --name shard-1 >"$WORK/shard.log" 2>&1 &
SHARD_PID=$!
PIDS="$PIDS $SHARD_PID"
wait_for "http://127.0.0.1:$SHARD/health"
sleep 1
kill -9 "$SHARD_PID"
sleep 3  # the lease runs out
curl -sf "http://127.0.0.1:$COORDINATOR/metrics" >>"$WORK/metrics.txt"

# A metric is a name followed by its selector ({…} or […]); label names (http_route …) are not.
USED=$(grep -ohE '\b(tally|hb|http)_[a-z0-9_]+[{[]' "$ROOT/deploy/grafana/tally.json" "$ROOT/deploy/prometheus/alerts.yml" \
    | sed -E 's/[{[]$//; s/_(bucket|sum|count)$//' | sort -u)
[ -n "$USED" ] || { echo "check-metrics: found no metric in the dashboard or alerts" >&2; exit 1; }
missing=""
for name in $USED; do
    grep -qE "^$name(_bucket|_sum|_count)?(\{| )" "$WORK/metrics.txt" || missing="$missing $name"
done
if [ -n "$missing" ]; then
    echo "check-metrics: used by the dashboard or alerts but not exported:$missing" >&2
    exit 1
fi
echo "check-metrics: all $(echo "$USED" | wc -w) metrics the dashboard and alerts use are exported"
