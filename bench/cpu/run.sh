#!/usr/bin/env bash
# CPU benchmark: greentrain fp32 (--device cpu) vs PyTorch CPU (Debian python3-torch) on
# mlp:128 / Fashion-MNIST at batch 32 and 256, same number of optimizer steps (one epoch of
# greentrain after a warm-up epoch vs the same steps in PyTorch after 200 warm-up steps).
# usage: bench/cpu/run.sh [path/to/greentrain]   (prints one JSON line per measurement)
set -euo pipefail
GT=${1:-build/greentrain}
here=$(dirname "$0")
for bs in 32 256; do
  steps=$(( (60000 + bs - 1) / bs ))
  out=$(mktemp)
  "$GT" train --device cpu --precision fp32 --model mlp:128 --batch-size "$bs" --epochs 2 \
    --no-measure -q --json "$out"
  /usr/bin/python3 -c "import json,sys; j=json.load(open('$out')); e=j['epochs_detail'][1]; \
print(json.dumps({'framework':'greentrain','device':j['device_description'],'batch_size':$bs,\
'steps':e['steps'],'seconds':e['seconds'],'samples_per_s':e['samples_per_s']}))"
  rm -f "$out"
  /usr/bin/python3 "$here/torch_mlp.py" --batch-size "$bs" --steps "$steps"
done
