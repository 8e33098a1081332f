#!/bin/sh
# Failover of a 1,000,000-event partition between shard processes on a PostgreSQL store: the time
# from SIGKILL of its owner until another shard process (its own, empty data directory) serves it.
#
#   scripts/bench-failover-store.sh [TALLY_BINARY] [EVENTS] [RUNS]
#
# A throwaway PostgreSQL (fsync on) on a free loopback port holds the store: `tally bench memory`
# writes EVENTS events over 10,000 guilds into one partition (with a snapshot at its end) and
# `tally store migrate` copies it in. Then a coordinator and shard A (which acquires the partition
# and serves it) and shard B (idle) start, each with its own data directory. For each run the owner
# is killed with SIGKILL and the script measures, from the kill:
#   - commands: until a command sent to the survivor is acknowledged (durably appended);
#   - reads:    until a leaderboard query to the survivor answers (its read models caught up);
# then starts the killed shard again with an empty data directory, as an idle standby for the next run.
# Everything lives in one temporary directory, removed at the end.
set -eu
TALLY=$(realpath "${1:-.build/release/tally}")
EVENTS=${2:-1000000}
RUNS=${3:-3}

. "$(dirname "$0")/scratch-postgres.sh"
DIR=$(mktemp -d /tmp/tally-bench-failover.XXXXXX)
PIDS=""
cleanup() {
    for p in $PIDS; do kill -9 "$p" 2>/dev/null || true; done
    scratch_postgres_stop "$DIR"
    rm -rf "$DIR"
}
trap cleanup EXIT INT TERM
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }
since() { python3 -c "print(f'{$(now) - $1:.2f}')"; }

scratch_postgres "$DIR" # fsync on: a failover is measured as it runs in production
"$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres failover
STORE="postgres://postgres@127.0.0.1:$PG_PORT/failover"

echo "writing $EVENTS events into one partition (tally bench memory)..."
"$TALLY" bench memory --events "$EVENTS" --directory "$DIR/seed" | tail -n 3
echo "copying it into PostgreSQL (tally store migrate)..."
"$TALLY" store migrate --from "$DIR/seed" --to "$STORE" | tail -n 1
rm -rf "$DIR/seed"

export TALLY_CLUSTER_KEY
TALLY_CLUSTER_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
export TALLY_OPERATOR_TOKEN=bench-failover
CPORT=$(free_port)
"$TALLY" coordinator --store "$STORE" --data "$DIR/coordinator" --port "$CPORT" --log-level notice \
    >"$DIR/coordinator.log" 2>&1 &
PIDS="$PIDS $!"

# start_shard NAME: starts shard NAME on a fresh port with its own data directory; sets PORT_NAME, PID_NAME.
start_shard() {
    port=$(free_port)
    "$TALLY" shard --store "$STORE" --coordinator "http://127.0.0.1:$CPORT" --data "$DIR/$1" --port "$port" \
        --name "$1" --log-level info >>"$DIR/$1.log" 2>&1 &
    pid=$!
    PIDS="$PIDS $pid"
    eval "PORT_$1=$port; PID_$1=$pid"
}
GUILD=1300000000000000007
N=0
# command PORT: one adjust_points command with a fresh key; prints the HTTP status.
command() {
    N=$((N + 1))
    curl -s -o /dev/null -w "%{http_code}" -m 10 -X POST -H "Authorization: Bearer $TALLY_OPERATOR_TOKEN" \
        "http://127.0.0.1:$1/v1/guilds/$GUILD/commands" \
        -d "{\"type\":\"adjust_points\",\"key\":\"failover-$N\",\"person\":\"1100000000000000001\",\"delta\":1,\"reason\":\"bench\"}" \
        || true
}
# leaderboard PORT: one leaderboard query; prints the HTTP status.
leaderboard() {
    curl -s -o /dev/null -w "%{http_code}" -m 60 "http://127.0.0.1:$1/v1/guilds/$GUILD/leaderboards/points" || true
}
wait_for() { # wait_for FUNCTION PORT: until it answers 200
    while [ "$($1 "$2")" != 200 ]; do sleep 0.02; done
}

start_shard a
T=$(now)
wait_for command "$PORT_a"
echo "shard a: first command acknowledged $(since "$T") s after start"
wait_for leaderboard "$PORT_a"
echo "shard a: read models caught up $(since "$T") s after start"
OWNER=a
STANDBY=b
start_shard b
sleep 3
for run in $(seq 1 "$RUNS"); do
    eval "victim=\$PID_$OWNER; survivor=\$PORT_$STANDBY"
    kill -9 "$victim"
    T=$(now)
    wait_for command "$survivor"
    commands=$(since "$T")
    wait_for leaderboard "$survivor"
    reads=$(since "$T")
    echo "run $run: SIGKILL shard $OWNER -> shard $STANDBY acknowledged a command after $commands s, answered a leaderboard after $reads s"
    rm -rf "${DIR:?}/$OWNER" # it comes back as a new machine would: nothing of the partition on disk
    start_shard "$OWNER"
    tmp=$OWNER; OWNER=$STANDBY; STANDBY=$tmp
    sleep 3
done
echo "shard logs: acquire and catch-up lines of the last survivor:"
grep -h "acquired partition\|read models caught up" "$DIR/$OWNER.log" | tail -n 4
