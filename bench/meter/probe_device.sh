#!/bin/bash
# The meter's behaviour on a GPU machine, in one call:
#   bench/meter/probe_device.sh BIN_DIR [runs]
# BIN_DIR holds greentrain (a CUDA build) and data/ (the Fashion-MNIST .gz files); lib/ beside
# it any shared library the machine lacks. It runs (1) counter_probe.py: how the NVML energy
# counter updates and what a read costs, idle and under load; (2) `greentrain train` on the
# reference configuration (mlp:128, batch 32, 10 epochs) RUNS times per precision with every
# edge tracker read logged (GREENTRAIN_EDGE_LOG) and the timeline traced (GREENTRAIN_TRACE);
# (3) the short-phase configuration (mlp:1024, batch 256, 3 epochs) RUNS/2 times. Everything
# lands in $OUT (probe.txt, runs.jsonl, edges.csv, traces.txt) for analyse_probe.py.
set -u
BIN=${1:-.dev/bin}
RUNS=${2:-20}
OUT=${OUT:-/tmp/gt-probe}
mkdir -p "$OUT"
if ldd "$BIN/greentrain" | grep -q "not found"; then export LD_LIBRARY_PATH=$BIN/../lib:${LD_LIBRARY_PATH:-}; fi
ldd "$BIN/greentrain" | grep "not found"
{
  date -u +"date: %Y-%m-%d %H:%M UTC"
  nvidia-smi --query-gpu=name,driver_version,power.limit,clocks.max.sm --format=csv,noheader | sed 's/^/gpu: /'
  nproc | sed 's/^/cpus: /'
} >"$OUT/env.txt" 2>&1
cat "$OUT/env.txt"
python3 bench/meter/counter_probe.py "$OUT" 3 2>&1 | tee "$OUT/probe.txt"
: >"$OUT/runs.jsonl"
: >"$OUT/edges.csv"
: >"$OUT/traces.txt"
one() {  # label, then train flags
  local label=$1
  shift
  local edges=$OUT/edges_one.csv
  rm -f "$edges"
  GREENTRAIN_EDGE_LOG=$edges GREENTRAIN_TRACE=1 timeout 60 "$BIN/greentrain" train --data fashion-mnist \
    --data-dir "$BIN/data" --device cuda:0 -q "$@" --json "$OUT/one.json" >/dev/null 2>"$OUT/one.err"
  local rc=$?
  python3 - "$OUT/one.json" "$label" "$rc" >>"$OUT/runs.jsonl" <<'PY'
import json, sys
path, label, rc = sys.argv[1], sys.argv[2], int(sys.argv[3])
try:
    j = json.load(open(path))
except Exception:
    print(json.dumps({"label": label, "rc": rc})); sys.exit()
e = j.get("energy", {})
print(json.dumps({"label": label, "rc": rc, "phases": [
    {k: p.get(k) for k in ("name", "duration_s", "energy_j", "uncertainty_j", "t_begin_s", "flagged")}
    | {"gpu_j": sum(c["energy_j"] for c in p.get("components", []) if c["component"] == "gpu")}
    for p in e.get("phases", [])], "notes": e.get("notes", []), "duration_s": e.get("duration_s"),
    "outside_cpu_share": e.get("outside_cpu_share")}))
PY
  [ -f "$edges" ] && sed "s/^/$label,$(wc -l <"$OUT/runs.jsonl"),/" "$edges" >>"$OUT/edges.csv"
  { echo "== $label run $(wc -l <"$OUT/runs.jsonl") rc $rc"; grep -E "trace|greentrain:" "$OUT/one.err" | head -40; } >>"$OUT/traces.txt"
}
for p in fp32 bf16 tf32 fp16; do
  for i in $(seq 1 "$RUNS"); do one "ref-$p" --model mlp:128 --batch-size 32 --epochs 10 --precision $p --seed $i; done
done
for i in $(seq 1 $((RUNS / 2))); do one short-bf16 --model mlp:1024 --batch-size 256 --epochs 3 --precision bf16 --seed $i; done
echo "runs: $(wc -l <"$OUT/runs.jsonl")"
python3 bench/meter/analyse_probe.py "$OUT" | tee "$OUT/summary.txt"
