#!/bin/bash
# The Python package's GPU measurements in one go (about 2.5 minutes on an H200), from a folder
# holding greentrain, python/, examples/ and bench/python/ (DIR, default: this script's
# folder's grandparent; DIR/data may hold Fashion-MNIST). Results go to OUT (default: ./python-gpu-results):
#   amp_bf16.json/.txt         examples/pytorch_amp.py standalone, one window per epoch
#   overhead.json              bench/python/window_overhead.py (wall time of a window pair)
#   crosscheck.json            bench/python/nvml_crosscheck.py (window vs pynvml counter)
#   measure.json               the same script under `greentrain measure` (windows = phases)
#   pytorch.db, plan.txt, pytorch.md, pytorch.html, runs.csv, run_phases.csv (one row per
#   phase occurrence: each epoch)   examples/pytorch.toml end to end
# With TARBALL set, OUT is packed into that file after every step (bench/python/device_env.sh).
set -u
source "$(dirname "$0")/device_env.sh" python-gpu-results
timeout 60 python3 examples/pytorch_amp.py --precision bf16 --epochs 5 --train-samples 0 \
  --batch-size 64 --json "$OUT/amp_bf16.json" > "$OUT/amp_bf16.txt" 2>&1
save
timeout 60 python3 bench/python/window_overhead.py 300 > "$OUT/overhead.json" 2> "$OUT/overhead.err"
save
timeout 40 python3 bench/python/nvml_crosscheck.py 3 3 > "$OUT/crosscheck.json" \
  2> "$OUT/crosscheck.err"
save
timeout 60 greentrain measure --json "$OUT/measure.json" -- python3 examples/pytorch_amp.py \
  --precision fp16 --epochs 3 > "$OUT/measure.txt" 2>&1
save
timeout 150 greentrain experiment run examples/pytorch.toml --db "$OUT/pytorch.db" \
  > "$OUT/plan.txt" 2>&1
save
greentrain report --db "$OUT/pytorch.db" --md "$OUT/pytorch.md" --html "$OUT/pytorch.html" \
  >> "$OUT/plan.txt" 2>&1
python3 -c 'import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
cols = [r[1] for r in db.execute("pragma table_info(run_phases)")]
print(",".join(cols[:9]))
for row in db.execute("select * from run_phases order by 1, 2, 3"):
    print(",".join(str(v) for v in row[:9]))' "$OUT/pytorch.db" > "$OUT/run_phases.csv" 2>&1
greentrain export --db "$OUT/pytorch.db" --csv "$OUT/runs.csv" >> "$OUT/plan.txt" 2>&1
save
echo done
