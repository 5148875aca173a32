#!/bin/bash
# The speed benchmark of a short run, on the device machine in one call:
#   bench/gpu/run_speed.sh [BIN_DIR] [torch-epochs] [torch-precisions]
# Environment: TESTS (test binaries to run, default all three), CUBLAS=0 (skip the cuBLASLt-path
# runs), FALLBACK_BIN (a folder with an earlier greentrain + greentrain_gpu_bench to measure
# instead when BIN_DIR's smoke run or tests fail).
# BIN_DIR holds greentrain, greentrain_gpu_bench, the CUDA test binaries and data/ (the
# Fashion-MNIST .gz files). It runs (1) the CUDA test suites (fused MLP kernel ≡ cuBLASLt path,
# PyTorch reference state, CPU parity), (2) the benchmark driver on the reference configuration
# (mlp:128, batch 32, 10 epochs) with the fused kernel (3 seeds) and with the cuBLASLt path, and on
# the wide one (mlp:4096, batch 1024, 5 epochs), every precision, (3) the whole `greentrain train`
# process, timed from start to exit, metered and not, and (4) PyTorch eager on the reference
# configuration. Results go to $OUT: bench.jsonl, whole.jsonl, train_*.json, env.txt, test logs,
# and summarize_speed.py's tables.
set -u
BIN=${1:-.dev/speed}
TORCH_EPOCHS=${2:-10}
TORCH_PRECISIONS=${3:-fp32 fp16 bf16}
OUT=${OUT:-/tmp/gt-speed}
mkdir -p "$OUT"
export GREENTRAIN_DATA=$BIN/data GREENTRAIN_SOURCE_DIR=$PWD GREENTRAIN_REFERENCE_DIR=$OUT/reference
source bench/gpu/make_references.sh
export PYTHONUNBUFFERED=1
LOG=$OUT/bench.jsonl
WHOLE=$OUT/whole.jsonl
: >"$LOG"
: >"$WHOLE"
{
  date -u +"date: %Y-%m-%d %H:%M UTC"
  nvidia-smi --query-gpu=name,driver_version,power.limit,clocks.max.sm --format=csv,noheader | sed 's/^/gpu: /'
  nvcc --version | tail -2 | head -1 | sed 's/^/cuda: /'
  python3 -c 'import torch; print("pytorch:", torch.__version__, "cuda", torch.version.cuda)'
  nproc | sed 's/^/cpus: /'
} >"$OUT/env.txt" 2>&1
cat "$OUT/env.txt"

# (0) Smoke: one epoch of the reference configuration; a hang or failure here stops the rest.
timeout 30 "$BIN/greentrain_gpu_bench" --data-dir "$BIN/data" --hidden 128 --batch-size 32 \
  --epochs 1 --precision fp16 >"$OUT/smoke.json" 2>&1
rc=$?
cat "$OUT/smoke.json"
failed=$rc
[ $rc -ne 0 ] && echo "smoke run failed (exit $rc)"

# (1) Tests.
for t in ${TESTS:-cuda_backend_test cuda_reference_test cuda_cpu_parity_test}; do
  [ $failed -ne 0 ] && break
  timeout 200 "$BIN/$t" >"$OUT/$t.log" 2>&1
  rc=$?
  echo "$t: exit $rc — $(grep -c '^\[       OK' "$OUT/$t.log") ok, $(grep -c '^\[  FAILED' "$OUT/$t.log") failed lines"
  grep -E '^OK|^\[  FAILED|Failure|error' "$OUT/$t.log" | head -40
  [ $rc -ne 0 ] && failed=1
done
if [ $failed -ne 0 ]; then
  [ -z "${FALLBACK_BIN:-}" ] && exit 1
  echo "measuring the fallback binaries in $FALLBACK_BIN instead"
  cp "$FALLBACK_BIN/greentrain" "$FALLBACK_BIN/greentrain_gpu_bench" "$BIN/"
fi

# (2) The benchmark driver.
gt() { timeout 60 "$BIN/greentrain_gpu_bench" --data-dir "$BIN/data" "$@" >>"$LOG" || echo "bench $* failed" >&2; }
for p in fp32 tf32 fp16 bf16; do
  for seed in 1 2 3; do gt --hidden 128 --batch-size 32 --epochs 10 --precision $p --seed $seed; done
  [ "${CUBLAS:-1}" = 1 ] && gt --hidden 128 --batch-size 32 --epochs 10 --precision $p --no-fused-mlp
  gt --hidden 4096 --batch-size 1024 --epochs 5 --precision $p
done
echo "driver runs: $(wc -l <"$LOG")"

# (3) The whole process, start to exit (wall clock around the command).
whole() {
  local name=$1
  shift
  local s e rc
  s=$(date +%s%N)
  timeout 60 "$BIN/greentrain" train --data fashion-mnist --data-dir "$BIN/data" --model mlp:128 \
    --batch-size 32 --epochs 10 -q "$@" --json "$OUT/train_$name.json" >"$OUT/train_$name.txt" 2>&1
  rc=$?
  e=$(date +%s%N)
  echo "{\"run\":\"$name\",\"args\":\"$*\",\"rc\":$rc,\"wall_s\":$(((e - s) / 1000000)).0e-3}" >>"$WHOLE"
}
for p in fp32 tf32 fp16 bf16; do whole "$p" --precision $p --device cuda:0; done
whole fp32-auto --precision fp32
whole fp32-unmetered --precision fp32 --device cuda:0 --no-measure
cat "$WHOLE"

# (4) PyTorch eager, same configuration.
for p in $TORCH_PRECISIONS; do
  python3 bench/gpu/torch_bench.py --data-dir "$BIN/data" --hidden 128 --batch-size 32 \
    --epochs "$TORCH_EPOCHS" --precision $p --mode eager >>"$LOG" 2>>"$OUT/torch.stderr" ||
    echo "torch $p failed" >&2
done
python3 "$BIN/summarize_speed.py" "$OUT" | tee "$OUT/SUMMARY.md"
