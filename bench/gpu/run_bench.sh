#!/bin/bash
# Runs the GPU benchmark on the device machine, greentrain and PyTorch in the same call:
#   bench/gpu/run_bench.sh [BIN_DIR] [quick]
# BIN_DIR holds greentrain_gpu_bench and data/ (Fashion-MNIST .gz); results go to $OUT
# (bench.jsonl, env.txt, RESULTS.md via summarize.py). "quick" runs PyTorch for fewer epochs
# only where said in the table (never silently: the JSON records the epochs run).
set -u
BIN_DIR=${1:-.dev-cuda}
QUICK=${2:-}
OUT=${OUT:-/tmp/gt-bench}
mkdir -p "$OUT"
LOG=$OUT/bench.jsonl
: >"$LOG"
export GREENTRAIN_DATA=$BIN_DIR/data
GT=$BIN_DIR/greentrain_gpu_bench
{
  date -u +"date: %Y-%m-%d %H:%M UTC"
  nvidia-smi --query-gpu=name,driver_version,power.limit,clocks.max.sm --format=csv,noheader | sed 's/^/gpu: /'
  nvcc --version | tail -2 | head -1 | sed 's/^/cuda: /'
  python3 -c 'import torch; print("pytorch:", torch.__version__, "cuda", torch.version.cuda)'
} >"$OUT/env.txt" 2>&1
cat "$OUT/env.txt"

gt() { "$GT" "$@" >>"$LOG" || echo "greentrain_gpu_bench $* failed" >&2; }
pt() { python3 bench/gpu/torch_bench.py "$@" >>"$LOG" 2>>"$OUT/torch.stderr" || echo "torch_bench $* failed" >&2; }

# greentrain: reference and wide configurations, every precision; 3 seeds of the reference.
for p in fp32 tf32 fp16 bf16; do
  for seed in 1 2 3; do gt --hidden 128 --batch-size 32 --epochs 10 --precision $p --seed $seed; done
  gt --hidden 4096 --batch-size 1024 --epochs 5 --precision $p
done
gt --hidden 128 --batch-size 32 --epochs 10 --precision fp32 --no-graphs
gt --hidden 128 --batch-size 32 --epochs 10 --precision fp32 --unfused
echo "greentrain done: $(wc -l <"$LOG") runs"

# PyTorch 2.x on the same GPU.
REF_EPOCHS=10
[ "$QUICK" = quick ] && REF_EPOCHS=2
for p in fp32 fp16 bf16; do pt --hidden 128 --batch-size 32 --epochs $REF_EPOCHS --precision $p --mode eager; done
for p in fp32 tf32 fp16 bf16; do pt --hidden 4096 --batch-size 1024 --epochs 5 --precision $p --mode eager; done
for p in fp32 bf16; do pt --hidden 128 --batch-size 32 --epochs $REF_EPOCHS --precision $p --mode compile; done
for p in fp32 bf16; do pt --hidden 4096 --batch-size 1024 --epochs 5 --precision $p --mode compile; done
echo "all done: $(wc -l <"$LOG") runs"
python3 bench/gpu/summarize.py "$LOG" "$OUT/env.txt" >"$OUT/RESULTS.md" && cat "$OUT/RESULTS.md"
