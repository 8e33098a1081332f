#!/usr/bin/env bash
# Usage: scripts/cluster-throughput.sh SHARDS RATE (after swift build -c release)
set -u
T=.build/release/tally; N=$1; RATE=$2; D=$(mktemp -d); C=17400; P=18400
export TALLY_OPERATOR_TOKEN=sc
$T coordinator --data $D --port $C --partitions 16 --log-level error & CO=$!
sleep 0.5
PIDS=""
for i in $(seq 1 $N); do $T shard --coordinator http://127.0.0.1:$C --data $D --port $((P+i)) --name shard-$i --log-level error & PIDS="$PIDS $!"; done
sleep 3
echo "shards=$N $($T loadgen --url http://127.0.0.1:$((P+1)) --guilds 1000 --people 500 --rate $RATE --duration 6 | tr '\n' ' ')"
kill $PIDS $CO 2>/dev/null; wait 2>/dev/null; rm -rf $D
