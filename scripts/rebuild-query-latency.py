# Leaderboard queries from 4 threads for ARGV[1] seconds against a tally serve on port ARGV[2]
# (the guilds of `tally simulate --guilds 3`): prints count, errors, p50, p99 and max latency.
# docs/BENCHMARKS.md ("Online rebuild") runs it with and without `tally rebuild --url` meanwhile.
import time, urllib.request, threading, json, sys
port=int(sys.argv[2]) if len(sys.argv) > 2 else 8080
guilds=["5033164800000000000","5033164833214693377","5033164866429386754"]
stop=False; lat=[]; errs=[0]
def worker(i):
    n=0
    while not stop:
        g=guilds[(i+n)%3]; n+=1
        t=time.time()
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/guilds/{g}/leaderboards/points?limit=10", timeout=30).read()
            lat.append((t, time.time()-t))
        except Exception as e:
            errs[0]+=1
ths=[threading.Thread(target=worker,args=(i,)) for i in range(4)]
[t.start() for t in ths]
time.sleep(float(sys.argv[1]))
stop=True
[t.join() for t in ths]
l=sorted(x[1] for x in lat)
print(f"queries {len(l)} errors {errs[0]} p50 {l[len(l)//2]*1000:.1f} ms p99 {l[int(len(l)*0.99)]*1000:.1f} ms max {l[-1]*1000:.1f} ms")

