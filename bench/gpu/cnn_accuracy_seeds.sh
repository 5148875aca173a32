#!/bin/bash
# Test accuracy of the CNN path against PyTorch over seeds, on the GPU machine:
#   bench/gpu/cnn_accuracy_seeds.sh [BUILD_DIR]      (BUILD_DIR holds greentrain; default build)
# The small configuration of run_cnn_bench.sh (Fashion-MNIST as a 64x64 RGB JPEG tree,
# cnn:32,64,128/128, batch 128, EPOCHS epochs, default 4): greentrain fp32 and bf16 and PyTorch
# fp32 (TF32 off) and eager AMP bf16 (cnn_torch_bench.py, same cache bytes), once per seed in
# SEEDS (default "1 2 3"), each tool's seed choosing its own initial weights and batch order.
# One seed is one draw: at a few epochs the test accuracy of this network spreads over several
# points from seed to seed in both tools (BatchNorm's running statistics lag the last steps), so
# compare the means. Results: $OUT (default /tmp/gt-cnn-seeds): runs.txt (a line per run),
# MEANS.txt (per tool and precision: the mean and the seeds' values). About 2 minutes on an H100.
set -u
BUILD=${1:-build}
GT=$(realpath "$BUILD/greentrain")
HERE=$(dirname "$(realpath "$0")")
OUT=${OUT:-/tmp/gt-cnn-seeds}
WORK=${WORK:-$OUT/work}
EPOCHS=${EPOCHS:-4}
SEEDS=${SEEDS:-1 2 3}
PY=${PYTHON:-python3}
[ -z "${GREENTRAIN_DATA:-}" ] && [ -d "$BUILD/data" ] && export GREENTRAIN_DATA=$(realpath "$BUILD/data")
mkdir -p "$OUT/greentrain" "$WORK"
: >"$OUT/runs.txt"
[ -d "$WORK/small" ] || "$GT" data images --from fashion-mnist --size 64 --color rgb \
  --out "$WORK/small" --splits 6000,0,1000 >/dev/null
"$GT" data prepare --data "folder:$WORK/small" --cache-dir "$WORK/cache-small" >/dev/null
for seed in $SEEDS; do
  for p in fp32 bf16; do
    json="$OUT/greentrain/$p-s$seed.json"
    timeout 150 "$GT" train --data "folder:$WORK/small" --cache-dir "$WORK/cache-small" \
      --model cnn:32,64,128/128 --batch-size 128 --epochs "$EPOCHS" --precision "$p" \
      --seed "$seed" --device cuda:0 --no-measure -q --json "$json" >/dev/null 2>&1 || rm -f "$json"
    "$PY" -c 'import json, sys; j = json.load(open(sys.argv[1]))
print("greentrain", sys.argv[2], sys.argv[3], j["test_accuracy"])' "$json" "$p" "$seed" \
      2>/dev/null >>"$OUT/runs.txt" || echo "greentrain $p $seed FAILED" >>"$OUT/runs.txt"
  done
  timeout 300 "$PY" "$HERE/cnn_torch_bench.py" --cache "$WORK/cache-small" \
    --model cnn:32,64,128/128 --batch-size 128 --variants fp32,eager-bf16 --epochs "$EPOCHS" \
    --seed "$seed" --config small 2>>"$OUT/pytorch.stderr" |
    "$PY" -c 'import json, sys
for line in sys.stdin:
    j = json.loads(line)
    print("pytorch", j["variant"], sys.argv[1], j["test_accuracy"])' "$seed" >>"$OUT/runs.txt"
  tail -n 4 "$OUT/runs.txt"
done
"$PY" -c 'import collections, sys
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) == 4 and f[3] != "FAILED":
        runs[(f[0], f[1])].append(float(f[3]))
for (tool, variant), values in sorted(runs.items()):
    each = ", ".join("%.2f" % (100 * v) for v in values)
    print(f"{tool} {variant}: mean {100 * sum(values) / len(values):.2f} % over {len(values)} seeds ({each})")' "$OUT/runs.txt" | tee "$OUT/MEANS.txt"
