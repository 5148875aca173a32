#!/bin/bash
# The CNN benchmark on the GPU machine, greentrain against PyTorch in one call:
#   bench/gpu/run_cnn_bench.sh [BUILD_DIR]        (BUILD_DIR holds greentrain; default build)
# Fashion-MNIST's .gz files come from $GREENTRAIN_DATA, else BUILD_DIR/data, else
# /usr/share/datasets/fashion-mnist.
# Two configurations:
#   small  64x64 RGB JPEGs written from Fashion-MNIST by `greentrain data images` (SMALL_TRAIN +
#          SMALL_TEST per class: all 70 000 by default), cnn:32,64,128, batch 128;
#   study  224x224 RGB PNGs of 525 synthetic classes (cnn_synthetic_tree.py, STUDY_TRAIN +
#          STUDY_TEST per class), cnn:32,64,128,256, batch 64.
# Each folder is decoded once into greentrain's cache (the decode rate is reported); both tools
# train on the cache's bytes, resident on the GPU. greentrain: `greentrain train` (the product
# path, metered) in fp32, tf32, fp16 and bf16, and fp32 and bf16 with its own BatchNorm kernels;
# PyTorch (cnn_torch_bench.py, one process per configuration): fp32 with TF32 off, eager AMP bf16
# and fp16, torch.compile AMP bf16 (COMPILE_FP16=1 adds fp16), all channels-last. EPOCHS epochs each
# (default 4); the first is warm-up, images/s and GPU energy per epoch are over the others.
# Results: $OUT (default /tmp/gt-cnn-bench): env.txt, greentrain/*.json, pytorch.jsonl,
# SUMMARY.md with PASS/FAIL lines (summarize_cnn.py); each run is bounded by RUN_TIMEOUT seconds
# (PyTorch's three times that). About 4 to 5 minutes on an H100 with the defaults; smaller
# SMALL_TRAIN, STUDY_TRAIN or EPOCHS shorten it; CONFIGS="small" or "study" runs one of the two;
# GT_PRECISIONS (e.g. "fp32 bf16"), OWN_BN=0 and PT_VARIANTS (e.g. "fp32") run fewer variants;
# OWN_BN_PRECISIONS (default "fp32 bf16") are the precisions also run with the own BatchNorm.
set -u
BUILD=${1:-build}
GT=$(realpath "$BUILD/greentrain")
HERE=$(dirname "$(realpath "$0")")
OUT=${OUT:-/tmp/gt-cnn-bench}
WORK=${WORK:-$OUT/work}
EPOCHS=${EPOCHS:-4}
SMALL_TRAIN=${SMALL_TRAIN:-6000}
SMALL_TEST=${SMALL_TEST:-1000}
STUDY_TRAIN=${STUDY_TRAIN:-10}
STUDY_TEST=${STUDY_TEST:-2}
RUN_TIMEOUT=${RUN_TIMEOUT:-150}
CONFIGS=${CONFIGS:-small study}
wants() { [[ " $CONFIGS " == *" $1 "* ]]; }
PY=${PYTHON:-python3}
# Fashion-MNIST's .gz files: $GREENTRAIN_DATA, else BUILD_DIR/data, else greentrain's default.
[ -z "${GREENTRAIN_DATA:-}" ] && [ -d "$BUILD/data" ] && export GREENTRAIN_DATA=$(realpath "$BUILD/data")
mkdir -p "$OUT/greentrain" "$WORK"
: >"$OUT/pytorch.jsonl"
: >"$OUT/runs.txt"
START=$(date +%s)
{
  date -u +"date: %Y-%m-%d %H:%M UTC"
  nvidia-smi --query-gpu=name,driver_version,power.limit,clocks.max.sm --format=csv,noheader | sed 's/^/gpu: /'
  "$PY" -c 'import torch; print("pytorch:", torch.__version__, "cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version())'
  "$GT" devices 2>&1 | grep -i cudnn | head -1 | sed 's/^/greentrain: /'
  nproc | sed 's/^/cpu cores: /'
} >"$OUT/env.txt" 2>&1
cat "$OUT/env.txt"

# ---- data --------------------------------------------------------------------------------------
elapsed() { echo $(($(date +%s) - START)); }
prepare() {  # NAME FOLDER: decode into WORK/cache-NAME, note the rate
  local t0=$(date +%s%N)
  "$GT" data prepare --data "folder:$2" --cache-dir "$WORK/cache-$1" 2>&1 | tail -2 |
    sed "s/^/$1 prepare: /" | tee -a "$OUT/runs.txt"
  awk -v ns=$(($(date +%s%N) - t0)) -v cores="$(nproc)" -v name="$1" 'BEGIN {
    printf "%s prepare seconds: %.2f on %d cores\n", name, ns / 1e9, cores }' | tee -a "$OUT/runs.txt"
}
if wants small && [ ! -d "$WORK/small" ]; then
  "$GT" data images --from fashion-mnist --size 64 --color rgb --out "$WORK/small" \
    --splits "$SMALL_TRAIN,0,$SMALL_TEST" | tee -a "$OUT/runs.txt"
fi
wants small && { [ -d "$WORK/cache-small" ] || prepare small "$WORK/small"; }
if wants study && [ ! -d "$WORK/study" ]; then
  "$PY" "$HERE/cnn_synthetic_tree.py" "$WORK/study" --classes 525 --train "$STUDY_TRAIN" \
    --test "$STUDY_TEST" --size 224 | tee -a "$OUT/runs.txt"
fi
wants study && { [ -d "$WORK/cache-study" ] || prepare study "$WORK/study"; }
echo "data ready after $(elapsed) s"

# ---- runs --------------------------------------------------------------------------------------
# greentrain picks its cuDNN engines by timing them once per shape (as cudnn.benchmark does for
# PyTorch), kept in one file across the runs; the *-ownbn runs use the path's own BatchNorm
# kernels instead of cuDNN's (GREENTRAIN_CNN_BATCHNORM=own), to compare the two.
export GREENTRAIN_CUDNN_AUTOTUNE=${GREENTRAIN_CUDNN_AUTOTUNE:-$WORK/cudnn-autotune.txt}
gt_run() {  # CONFIG MODEL BATCH PRECISION [LABEL]
  local label=${5:-$4}
  local json="$OUT/greentrain/$1-$label.json"
  if timeout "$RUN_TIMEOUT" "$GT" train --data "folder:$WORK/$1" --cache-dir "$WORK/cache-$1" \
      --model "$2" --batch-size "$3" --precision "$4" --epochs "$EPOCHS" --device cuda:0 \
      --json "$json" -q >"$OUT/greentrain/$1-$label.log" 2>&1; then
    echo "greentrain $1 $label: done ($(elapsed) s)" | tee -a "$OUT/runs.txt"
  else
    echo "greentrain $1 $label: FAILED (exit $?; $OUT/greentrain/$1-$label.log)" | tee -a "$OUT/runs.txt"
    rm -f "$json"
    tail -3 "$OUT/greentrain/$1-$label.log"
  fi
}
pt_runs() {  # CONFIG MODEL BATCH VARIANTS (one process)
  if timeout $((RUN_TIMEOUT * 3)) "$PY" "$HERE/cnn_torch_bench.py" --cache "$WORK/cache-$1" \
      --model "$2" --batch-size "$3" --variants "$4" --epochs "$EPOCHS" --config "$1" \
      >>"$OUT/pytorch.jsonl" 2>>"$OUT/pytorch.stderr"; then
    echo "pytorch $1 $4: done ($(elapsed) s)" | tee -a "$OUT/runs.txt"
  else
    echo "pytorch $1 $4: FAILED (exit $?; $OUT/pytorch.stderr)" | tee -a "$OUT/runs.txt"
    tail -3 "$OUT/pytorch.stderr"
  fi
}
variants=${PT_VARIANTS:-fp32,eager-bf16,eager-fp16,compile-bf16}
[ "${COMPILE_FP16:-0}" = 1 ] && variants="$variants,compile-fp16"
for config in "small cnn:32,64,128/128 128" "study cnn:32,64,128,256/128 64"; do
  set -- $config
  wants "$1" || continue
  for p in ${GT_PRECISIONS:-fp32 tf32 fp16 bf16}; do gt_run "$1" "$2" "$3" "$p"; done
  if [ "${OWN_BN:-1}" = 1 ]; then
    for p in ${OWN_BN_PRECISIONS:-fp32 bf16}; do
      GREENTRAIN_CNN_BATCHNORM=own gt_run "$1" "$2" "$3" "$p" "$p-ownbn"
    done
  fi
  pt_runs "$1" "$2" "$3" "$variants"
done
echo "runs done after $(elapsed) s"
"$PY" "$HERE/summarize_cnn.py" "$OUT" >"$OUT/SUMMARY.md"
cat "$OUT/SUMMARY.md"
echo "total $(elapsed) s; results in $OUT"
