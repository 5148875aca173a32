#!/bin/bash
# The Python package's GPU measurements in one go (about 2 minutes on an H200), from a folder
# holding greentrain, python/, examples/ and bench/python/ (DIR, default: this script's
# folder's grandparent). Results go to OUT (default: ./python-gpu-results):
#   amp_<precision>.json/.txt  examples/pytorch_amp.py standalone, one window per epoch
#   overhead.json              bench/python/window_overhead.py (wall time of a window pair)
#   measure.json               the same script under `greentrain measure` (windows = phases)
#   pytorch.db, plan.txt, pytorch.md, pytorch.html, runs.csv   examples/pytorch.toml end to end
set -u
DIR=${DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
OUT=${OUT:-$PWD/python-gpu-results}
mkdir -p "$OUT"
export PATH="$DIR:$PATH" GREENTRAIN_BIN="$DIR/greentrain" PYTHONPATH="$DIR/python"
cd "$DIR"
{
  date -u +%FT%TZ
  nvidia-smi --query-gpu=name,driver_version,power.limit --format=csv,noheader
  python3 -c 'import torch, sys; print("python", sys.version.split()[0], "torch", torch.__version__, "cuda", torch.version.cuda)'
  greentrain --version
} > "$OUT/env.txt" 2>&1
for p in bf16 fp32; do
  timeout 60 python3 examples/pytorch_amp.py --precision "$p" --epochs 5 --train-samples 0 \
    --batch-size 64 --json "$OUT/amp_$p.json" > "$OUT/amp_$p.txt" 2>&1
done
timeout 60 python3 bench/python/window_overhead.py 300 > "$OUT/overhead.json" 2> "$OUT/overhead.err"
timeout 60 greentrain measure --json "$OUT/measure.json" -- python3 examples/pytorch_amp.py \
  --precision fp16 --epochs 3 > "$OUT/measure.txt" 2>&1
timeout 150 greentrain experiment run examples/pytorch.toml --db "$OUT/pytorch.db" \
  > "$OUT/plan.txt" 2>&1
greentrain report --db "$OUT/pytorch.db" --md "$OUT/pytorch.md" --html "$OUT/pytorch.html" \
  >> "$OUT/plan.txt" 2>&1
greentrain export --db "$OUT/pytorch.db" --csv "$OUT/runs.csv" >> "$OUT/plan.txt" 2>&1
echo done
