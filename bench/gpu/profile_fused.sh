#!/bin/bash
# Diagnostics of the fused MLP kernel and of a short run's start-up, on the device machine:
#   bench/gpu/profile_fused.sh [BIN_DIR]
# (1) the CUDA test suites; (2) per-phase clock cycles of a step (GREENTRAIN_FUSED_PROFILE=1, block
# 0's view, 3 epochs) and the plain 10-epoch loop per precision; (3) process start-up without CUDA
# (greentrain --help, the dynamic loader's statistics) and whole `greentrain train` runs.
set -u
BIN=${1:-.dev/speed}
OUT=${OUT:-/tmp/gt-profile}
mkdir -p "$OUT"
export GREENTRAIN_DATA=$BIN/data GREENTRAIN_SOURCE_DIR=$PWD GREENTRAIN_REFERENCE_DIR=$OUT/reference
source bench/gpu/make_references.sh
for t in cuda_backend_test cuda_reference_test; do
  timeout 200 "$BIN/$t" >"$OUT/$t.log" 2>&1
  echo "$t: exit $? — $(grep -c '^\[       OK' "$OUT/$t.log") ok, $(grep -c '^\[  FAILED' "$OUT/$t.log") failed lines"
  grep -E '^OK|^\[  FAILED|Failure' "$OUT/$t.log" | head -30
done
for p in fp32 tf32 fp16 bf16; do
  GREENTRAIN_FUSED_PROFILE=1 timeout 60 "$BIN/greentrain_gpu_bench" --data-dir "$BIN/data" \
    --hidden 128 --batch-size 32 --epochs 3 --precision $p 2>&1 >/dev/null | tail -1
  timeout 60 "$BIN/greentrain_gpu_bench" --data-dir "$BIN/data" --hidden 128 --batch-size 32 \
    --epochs 10 --precision $p | tee -a "$OUT/bench.jsonl" | python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["precision"], "train_s", round(j["train_s"],4), "us/step", round(j["ms_per_step"]*1e3,2), "load", round(j["load_s"],3), "init", round(j["init_s"],3), "setup", round(j["setup_s"],3), "eval", round(j["eval_s"],4), "acc", j["test_accuracy"], "J", j.get("gpu_energy_j"))'
done
for i in 1 2 3; do s=$(date +%s%N); "$BIN/greentrain" --help >/dev/null; e=$(date +%s%N); echo "greentrain --help: $(((e - s) / 1000000)) ms"; done
LD_DEBUG=statistics "$BIN/greentrain" --help 2>&1 >/dev/null | grep -E "total startup|relocation:"
for p in fp32 fp16 fp32; do
  for m in --measure --no-measure; do
    s=$(date +%s%N)
    timeout 60 "$BIN/greentrain" train --data fashion-mnist --data-dir "$BIN/data" --model mlp:128 \
      --batch-size 32 --epochs 10 --precision $p --device cuda:0 -q $m --json "$OUT/t.json" >/dev/null 2>&1
    rc=$?
    e=$(date +%s%N)
    python3 -c "import json; j=json.load(open('$OUT/t.json')); g=[c['energy_j'] for c in (j.get('energy') or {}).get('components',[]) if c['component']=='gpu']; print('$p $m exit $rc wall', $(((e - s) / 1000000))/1000, 'train() total', round(j['total_s'],3), 'loop', round(j['duration_s'],3), 'gpu J', g, 'acc', j['test_accuracy'])"
  done
done
