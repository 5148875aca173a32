#!/usr/bin/env bash
# CPU benchmark of the convolutional network: greentrain fp32 (--device cpu) against PyTorch CPU
# (Debian python3-torch, torch_cnn.py) on cnn:32,64,128/128 and Fashion-MNIST resized to 32x32
# (resize_idx.py; the first ROWS training images), the same threads and batch size, the same
# number of optimizer steps: greentrain's second epoch (the first is warm-up) against ROWS/batch
# PyTorch steps after 20 warm-up steps, PyTorch both in its default NCHW layout and channels-last.
# Each configuration runs REPEATS times in turn (greentrain, PyTorch NCHW, PyTorch channels-last)
# and the medians are compared, as the machine may be shared.
# usage: bench/cpu/run_cnn.sh [path/to/greentrain]
#   env: THREADS="1" BATCHES="32 128" ROWS=12800 REPEATS=3 DATA_DIR=/tmp/greentrain-fm32-ROWS
# Prints one JSON line per measurement, then a summary table.
set -euo pipefail
GT=${1:-build/greentrain}
here=$(cd "$(dirname "$0")" && pwd)
THREADS=${THREADS:-1}
BATCHES=${BATCHES:-32 128}
ROWS=${ROWS:-12800}
REPEATS=${REPEATS:-3}
DATA_DIR=${DATA_DIR:-/tmp/greentrain-fm32-$ROWS}
[ -f "$DATA_DIR/train-images-idx3-ubyte" ] ||
  /usr/bin/python3 "$here/resize_idx.py" "$DATA_DIR" --size 32 --train-rows "$ROWS"
log=$(mktemp)
for t in $THREADS; do
  for bs in $BATCHES; do
    steps=$(( (ROWS + bs - 1) / bs ))
    for r in $(seq "$REPEATS"); do
      out=$(mktemp)
      OMP_NUM_THREADS=$t "$GT" train --device cpu --precision fp32 --data "mnist:$DATA_DIR" \
        --model cnn:32,64,128/128 --batch-size "$bs" --epochs 2 --no-measure -q --json "$out"
      /usr/bin/python3 -c "import json; j=json.load(open('$out')); e=j['epochs_detail'][1]; \
print(json.dumps({'framework':'greentrain','threads':$t,'batch_size':$bs,'steps':e['steps'],\
'seconds':e['seconds'],'samples_per_s':e['samples_per_s'],'device':j['device_description']}))" |
        tee -a "$log"
      rm -f "$out"
      for layout in "" --channels-last; do
        /usr/bin/python3 "$here/torch_cnn.py" --data "$DATA_DIR" --batch-size "$bs" \
          --threads "$t" --steps "$steps" $layout | tee -a "$log"
      done
    done
  done
done
/usr/bin/python3 - "$log" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
key = lambda r: (r["threads"], r["batch_size"])
print("\n| threads | batch | greentrain | PyTorch NCHW | PyTorch channels-last | greentrain / best PyTorch |")
print("|---:|---:|---:|---:|---:|---:|")
for k in sorted({key(r) for r in rows}):
    med = lambda f: statistics.median(r["samples_per_s"] for r in rows if key(r) == k and f(r))
    g = med(lambda r: r["framework"] == "greentrain")
    n = med(lambda r: r["framework"] != "greentrain" and not r["channels_last"])
    c = med(lambda r: r["framework"] != "greentrain" and r["channels_last"])
    print(f"| {k[0]} | {k[1]} | {g:.0f} | {n:.0f} | {c:.0f} | {g / max(n, c):.2f}x |")
PY
rm -f "$log"
