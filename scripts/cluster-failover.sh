#!/usr/bin/env bash
# Usage: scripts/cluster-failover.sh (after swift build -c release)
# Measures: partitions moved when a 4th shard joins; time from SIGKILL of a shard until a guild of
# one of its partitions is served again (through another shard).
set -u
T=.build/release/tally; D=$(mktemp -d); C=17300; P=18300
export TALLY_OPERATOR_TOKEN=fo
$T coordinator --data $D --port $C --partitions 16 --log-level error & CO=$!
sleep 0.5
for i in 1 2 3; do $T shard --coordinator http://127.0.0.1:$C --data $D --port $((P+i)) --name shard-$i --log-level error & eval S$i=$!; done
sleep 3
owners() { curl -s localhost:$C/v1/cluster | python3 -c "import json,sys; print(' '.join(p.get('owner','-') for p in json.load(sys.stdin)['partitions']))"; }
before=$(owners)
$T shard --coordinator http://127.0.0.1:$C --data $D --port $((P+4)) --name shard-4 --log-level error & S4=$!
sleep 4
after=$(owners)
python3 -c "
b='$before'.split(); a='$after'.split()
print('join: partitions moved', sum(1 for x,y in zip(b,a) if x!=y), 'of', len(b), '; all to shard-4:', all(y=='shard-4' for x,y in zip(b,a) if x!=y))"
# a guild whose partition shard-2 owns
G=$(python3 - <<PY
import json,urllib.request
d=json.load(urllib.request.urlopen('http://127.0.0.1:$C/v1/cluster'))
owned={p['partition'] for p in d['partitions'] if p.get('owner')=='shard-2'}
def mix(x):
    M=(1<<64)-1
    z=(x+0x9E3779B97F4A7C15)&M; z=((z^(z>>30))*0xBF58476D1CE4E5B9)&M; z=((z^(z>>27))*0x94D049BB133111EB)&M; return z^(z>>31)
for i in range(100000):
    g=(1300000000000+i)<<22|7
    if mix(g)%16 in owned: print(g); break
PY
)
curl -s -X POST -H "Authorization: Bearer fo" localhost:$((P+1))/v1/guilds/$G/commands -d '{"type":"adjust_points","key":"warm","person":"1100000000000000001","delta":1,"reason":"warm"}' > /dev/null
kill -9 $S2; start=$(date +%s.%N); n=0
while true; do
  n=$((n+1))
  code=$(curl -s -o /dev/null -w "%{http_code}" -m 15 -X POST -H "Authorization: Bearer fo" localhost:$((P+1))/v1/guilds/$G/commands -d "{\"type\":\"adjust_points\",\"key\":\"k$n\",\"person\":\"1100000000000000001\",\"delta\":1,\"reason\":\"r\"}")
  [ "$code" = "200" ] && break
  sleep 0.1
done
end=$(date +%s.%N)
echo "failover: served again $(python3 -c "print(round($end-$start,2))") s after SIGKILL (lease 5 s)"
kill $S1 $S3 $S4 $CO 2>/dev/null; wait 2>/dev/null; rm -rf $D
