#!/bin/bash
# Device checks of the Python package with the real frameworks (about 3 minutes on an H100): the
# Lightning and Hugging Face callbacks, each run standalone and under `greentrain measure` with
# identical code and checked by check_callbacks.py, and a PyTorch script's window energy against
# its own NVML counter difference over a 5 s loop (within 1 %), standalone and under measure.
# Run from a folder holding greentrain, python/ and bench/python/ (DIR, default: this script's
# folder's grandparent; DIR/data may hold Fashion-MNIST, else the scripts use synthetic images).
# Needs torch, lightning, transformers and pynvml importable by python3. Results go to OUT
# (default ./python-callback-results): per check a .json and a .txt, and summary.txt with every
# PASS/FAIL line; the exit code is 1 when any check failed. With TARBALL set, OUT is packed into
# that file after every step (bench/python/device_env.sh).
set -u
source "$(dirname "$0")/device_env.sh" python-callback-results
{
  python3 -c 'import lightning; print("lightning", lightning.__version__)'
  python3 -c 'import transformers; print("transformers", transformers.__version__)'
} >> "$OUT/env.txt" 2>&1
checks() {
  status=0
  for kind in lightning transformers; do
    script=bench/python/lightning_fit.py
    [ "$kind" = transformers ] && script=bench/python/hf_trainer.py
    timeout 240 python3 "$script" --out "$OUT/$kind-standalone.json" > "$OUT/$kind-standalone.txt" 2>&1 \
      || { echo "FAIL $kind: the standalone run failed (see $kind-standalone.txt)"; status=1; }
    save
    timeout 240 greentrain measure --json "$OUT/$kind-measure.json" -- python3 "$script" \
      --out "$OUT/$kind-metered.json" > "$OUT/$kind-metered.txt" 2>&1 \
      || { echo "FAIL $kind: the run under greentrain measure failed (see $kind-metered.txt)"; status=1; }
    save
    python3 bench/python/check_callbacks.py --kind "$kind" --standalone "$OUT/$kind-standalone.json" \
      --metered "$OUT/$kind-metered.json" --measure "$OUT/$kind-measure.json" \
      --out "$OUT/$kind-checks.json" || status=1
  done
  timeout 120 python3 bench/python/window_vs_nvml.py --seconds 5 --trials 3 \
    --out "$OUT/nvml-standalone.json" || status=1
  save
  timeout 120 greentrain measure --json "$OUT/nvml-measure.json" -- python3 bench/python/window_vs_nvml.py \
    --seconds 5 --trials 3 --out "$OUT/nvml-metered.json" || status=1
  save
  echo "done (exit $status)"
  return $status
}
checks 2>&1 | tee "$OUT/summary.txt"
status=${PIPESTATUS[0]}
save
exit "$status"
