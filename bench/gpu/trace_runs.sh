#!/bin/bash
# Where the wall time of a short run goes, on the device machine:
#   bench/gpu/trace_runs.sh [BIN_DIR] [precision ...]
# Runs the reference configuration (mlp:128, batch 32, 10 epochs) through `greentrain train`
# with GREENTRAIN_TRACE=1, metered three times and unmetered once per precision (default fp32),
# and prints each run's timeline (timeline.py): process start, meters ready, child start, CUDA
# context, data loaded, phases, child exit, the wait for the counter's next update, output.
set -u
BIN=${1:-.dev/speed}
shift
OUT=${OUT:-/tmp/gt-trace}
mkdir -p "$OUT"
here=$(cd "$(dirname "$0")" && pwd)
for p in ${@:-fp32}; do
  for m in --measure --measure --measure --no-measure; do
    s=$(date +%s%N)
    GREENTRAIN_TRACE=1 timeout 60 "$BIN/greentrain" train --data fashion-mnist --data-dir "$BIN/data" \
      --model mlp:128 --batch-size 32 --epochs 10 --precision "$p" --device cuda:0 -q $m \
      --json "$OUT/trace.json" >/dev/null 2>"$OUT/trace.err"
    rc=$?
    e=$(date +%s%N)
    echo "== $p $m (exit $rc)"
    python3 "$here/timeline.py" "$OUT/trace.err" $(((e - s) / 1000000))
  done
done
