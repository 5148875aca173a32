#!/bin/bash
# One device call for the checks that need a GPU, each section under its own time limit, its
# output and a PASS/FAIL line in $OUT (packed into $OUT/round.tgz after every section, so a call
# cut short still returns what finished):
#   bench/device/round.sh BIN_DIR [sections...]
# BIN_DIR holds greentrain and the CUDA test binaries (built for sm_90; or bins.tar.xz holding
# them), data/ (the Fashion-MNIST .gz files) and ../lib (shared libraries the machine may lack,
# some as .xz). Sections (default: all, in this order):
#   cudnn        the cuDNN loader and plan tests and the cuDNN operation tests against a CPU
#                reference (cudnn_status_test, cudnn_plan_test, cuda_cudnn_test)
#   cuda         the CUDA backend suites: the fused MLP kernel and the cuBLASLt path against
#                PyTorch references and the CPU backend (cuda_backend_test, cuda_reference_test,
#                cuda_cpu_parity_test), references made by bench/gpu/make_references.sh
#   cnn          the CUDA backend's CNN path against the CPU backend and PyTorch (cuda_cnn_test,
#                engine_cnn_reference_test with its reference made by make_cnn_reference.py)
#   precisions   bench/meter/plans/precisions.toml (4 precisions x 5 blocks), then analyze
#   short        bench/meter/plans/short.toml as written (refused after the warm-up), then with
#                min_phase_s = 2 (reaches +-1 %)
#   callbacks    bench/python/run_callbacks.sh (Lightning, Hugging Face, window vs NVML)
#   nvml         the GPU's power limit, clocks and throttle reasons as a run records them
#   cnnstudy     the study-sized CNN benchmark against PyTorch (bench/gpu/run_cnn_bench.sh with
#                CONFIGS=study), then every cuDNN engine candidate in fp32 and PyTorch's same
#                convolutions op by op (cudnn_survey, torch_conv_ops.py), side by side in
#                survey-fp32.md (summarize_survey.py); not in the default list
set -u
BIN=$(cd "${1:-.dev/bin}" && pwd)
shift
# What was carried packed: the binaries (bins.tar.xz) and the larger shared libraries (*.xz).
[ -f "$BIN/bins.tar.xz" ] && tar xJf "$BIN/bins.tar.xz" -C "$BIN"
for f in "$BIN"/../lib/*.xz; do [ -e "$f" ] && xz -dkf "$f"; done
SECTIONS=${*:-cudnn cuda precisions short callbacks nvml}
OUT=${OUT:-/tmp/gt-round}
mkdir -p "$OUT"
export PATH=$BIN:$PATH GREENTRAIN_DATA=$BIN/data GREENTRAIN_SOURCE_DIR=$PWD
if ldd "$BIN/greentrain" | grep -q "not found"; then export LD_LIBRARY_PATH=$BIN/../lib:${LD_LIBRARY_PATH:-}; fi
if [ -f "$BIN/data/train-images.xz" ] && [ ! -f "$BIN/data/train-images-idx3-ubyte" ]; then
  xz -dc "$BIN/data/train-images.xz" > "$BIN/data/train-images-idx3-ubyte"
fi
{
  date -u +"date: %Y-%m-%d %H:%M UTC"
  nvidia-smi --query-gpu=name,driver_version,power.limit,clocks.max.sm --format=csv,noheader | sed 's/^/gpu: /'
  python3 -c 'import torch; print("pytorch:", torch.__version__, "cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version())'
  nproc | sed 's/^/cpus: /'
} > "$OUT/env.txt" 2>&1
cat "$OUT/env.txt"
pack() { (cd "$OUT" && tar czf /tmp/round.tgz --exclude round.tgz . && mv /tmp/round.tgz "$OUT/round.tgz"); }
verdict() {  # section, exit code
  local s=$1 rc=$2
  if [ "$rc" -eq 0 ]; then echo "PASS $s"; else echo "FAIL $s (exit $rc)"; fi | tee -a "$OUT/summary.txt"
  pack
}
gtest() {  # binary, time limit
  timeout "$2" "$BIN/$1" --gtest_brief=1 > "$OUT/$1.log" 2>&1
  local rc=$?
  echo "$1: exit $rc, $(grep -c '^\[  FAILED  \]' "$OUT/$1.log") failed lines, $(grep -c 'SKIPPED' "$OUT/$1.log") skipped"
  grep -E '^\[  FAILED|Failure' "$OUT/$1.log" | head -20
  return $rc
}
for s in $SECTIONS; do
  echo "== $s $(date -u +%H:%M:%S)"
  case $s in
    cudnn)
      "$BIN/greentrain" devices --gpus none 2>&1 | tail -n 8 > "$OUT/devices.txt"; cat "$OUT/devices.txt"
      rc=0
      GREENTRAIN_BINARY=$BIN/greentrain gtest cudnn_status_test 30 || rc=1
      gtest cudnn_plan_test 60 || rc=1
      gtest cuda_cudnn_test 150 || rc=1
      verdict cudnn $rc ;;
    cuda)
      export GREENTRAIN_REFERENCE_DIR=$OUT/reference
      timeout 120 bash -c 'source bench/gpu/make_references.sh' > "$OUT/references.log" 2>&1
      rc=0
      for t in cuda_backend_test cuda_reference_test cuda_cpu_parity_test; do gtest $t 100 || rc=1; done
      verdict cuda $rc ;;
    cnn)
      export GREENTRAIN_REFERENCE_DIR=$OUT/reference
      mkdir -p "$GREENTRAIN_REFERENCE_DIR"
      timeout 60 python3 tests/engine/make_cnn_reference.py "$GREENTRAIN_REFERENCE_DIR/cnn_reference.json" \
        > "$OUT/cnn-reference.log" 2>&1
      rc=0
      gtest cuda_cnn_test 100 || rc=1
      gtest engine_cnn_reference_test 60 || rc=1
      verdict cnn $rc ;;
    precisions)
      timeout 120 greentrain experiment run bench/meter/plans/precisions.toml --db "$OUT/precisions.db" \
        > "$OUT/precisions.txt" 2>&1
      rc=$?
      greentrain analyze --db "$OUT/precisions.db" --full > "$OUT/precisions-analyze.txt" 2>&1
      greentrain analyze --db "$OUT/precisions.db" --format json > "$OUT/precisions-analyze.json" 2>&1
      tail -5 "$OUT/precisions.txt"; head -40 "$OUT/precisions-analyze.txt"
      verdict precisions $rc ;;
    short)
      timeout 60 greentrain experiment run bench/meter/plans/short.toml --db "$OUT/short.db" \
        > "$OUT/short.txt" 2>&1
      rc=$?
      tail -3 "$OUT/short.txt"
      sed 's/^device = "cuda:0"/device = "cuda:0"\nmin_phase_s = 2/' bench/meter/plans/short.toml > "$OUT/short-min-phase.toml"
      timeout 150 greentrain experiment run "$OUT/short-min-phase.toml" --db "$OUT/short-min-phase.db" \
        > "$OUT/short-min-phase.txt" 2>&1 || rc=1
      greentrain analyze --db "$OUT/short-min-phase.db" > "$OUT/short-min-phase-analyze.txt" 2>&1
      tail -6 "$OUT/short-min-phase.txt"; head -30 "$OUT/short-min-phase-analyze.txt"
      verdict short $rc ;;
    callbacks)
      # run_callbacks.sh wants one folder holding greentrain, python/ and bench/python/.
      cb=/tmp/gt-callbacks-dir
      mkdir -p $cb && ln -sfn "$BIN/greentrain" $cb/greentrain && ln -sfn "$PWD/python" $cb/python \
        && ln -sfn "$PWD/bench" $cb/bench
      OUT=$OUT/callbacks DIR=$cb timeout 200 bash bench/python/run_callbacks.sh > "$OUT/callbacks.txt" 2>&1
      rc=$?
      tail -15 "$OUT/callbacks.txt"
      verdict callbacks $rc ;;
    nvml)
      timeout 30 greentrain measure --gpus 0 --json "$OUT/nvml-measure.json" -- sleep 1 > "$OUT/nvml.txt" 2>&1
      rc=$?
      nvidia-smi -q -d POWER,CLOCK,PERFORMANCE > "$OUT/nvidia-smi-q.txt" 2>&1
      verdict nvml $rc ;;
    cnnstudy)
      OUT=$OUT/cnnstudy CONFIGS=study timeout 400 bash bench/gpu/run_cnn_bench.sh "$BIN" \
        > "$OUT/cnnstudy.txt" 2>&1
      rc=$?
      rm -rf "$OUT/cnnstudy/work/study" "$OUT/cnnstudy/work/cache-study"
      tail -22 "$OUT/cnnstudy.txt"
      pack
      timeout 90 "$BIN/greentrain_cudnn_survey" --precision fp32 > "$OUT/survey-fp32.jsonl" \
        2> "$OUT/survey-fp32.err" || rc=1
      timeout 60 python3 bench/gpu/torch_conv_ops.py --precision fp32 > "$OUT/torch-ops-fp32.jsonl" \
        2> "$OUT/torch-ops-fp32.err" || rc=1
      python3 bench/gpu/summarize_survey.py "$OUT/survey-fp32.jsonl" "$OUT/torch-ops-fp32.jsonl" \
        > "$OUT/survey-fp32.md" && tail -24 "$OUT/survey-fp32.md"
      verdict cnnstudy $rc ;;
  esac
done
cat "$OUT/summary.txt"
