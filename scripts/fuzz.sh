#!/usr/bin/env bash
# Runs each libFuzzer target for SECONDS seconds (0: no limit), stopping earlier after FUZZ_RUNS executions when set, over its
# committed seeds (Fuzz/Seeds/<target>) and a working corpus (.build-fuzz/corpus/<target>), and prints
# one line per target: executions, executions per second, corpus size, crashes. Exits 1 if any target
# crashed; the crashing input is kept as .build-fuzz/crashes/<target>-crash-<sha1>.
#
# usage: scripts/fuzz.sh SECONDS TARGET...
set -u
seconds=$1
shift
bin=.build-fuzz/release
mkdir -p .build-fuzz/crashes .build-fuzz/logs
failed=0
for target in "$@"; do
    corpus=.build-fuzz/corpus/$target
    mkdir -p "$corpus"
    dict=()
    [ -f "Fuzz/$target.dict" ] && dict=(-dict="Fuzz/$target.dict")
    limit=(-max_total_time="$seconds")
    [ -n "${FUZZ_RUNS:-}" ] && limit+=(-runs="$FUZZ_RUNS")
    log=.build-fuzz/logs/$target.log
    start=$(date +%s)
    "$bin/$target" "${limit[@]}" -print_final_stats=1 -timeout=10 -rss_limit_mb=4096 \
        -artifact_prefix=".build-fuzz/crashes/$target-" "${dict[@]}" "$corpus" "Fuzz/Seeds/$target" >"$log" 2>&1
    status=$?
    elapsed=$(( $(date +%s) - start ))
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    size=$(ls "$corpus" | wc -l)
    if [ $status -eq 0 ]; then
        echo "$target: ${runs:-?} executions in ${elapsed} s (${rate:-?}/s), corpus $size inputs, 0 crashes"
    else
        failed=1
        echo "$target: CRASH after ${runs:-?} executions (exit $status); see $log and .build-fuzz/crashes/"
        grep -m 5 -E "ERROR|Fatal error|panic|SUMMARY" "$log" | sed 's/^/    /'
    fi
done
exit $failed
