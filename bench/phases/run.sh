#!/bin/bash
# The GPU measurements of bench/RESULTS.md (metered phases): run from the repository root.
set -u
D=.dev/phases; G=$D/greentrain; O=${OUT:-/tmp/out}; mkdir -p $O/r
chmod +x $G
{ date -u; nvidia-smi --query-gpu=name,driver_version,power.limit --format=csv; nvcc --version 2>/dev/null | tail -1;
  python3 -c "import torch; print('torch', torch.__version__, torch.version.cuda)"; } > $O/r/env.txt 2>&1
$G devices > $O/r/devices.txt 2>&1
# 1. greentrain train, 5 runs per precision, interleaved.
for i in 1 2 3 4 5; do for p in fp32 tf32 fp16 bf16; do
  $G train --data fashion-mnist --data-dir $D/fmnist --model mlp:128 --batch-size 32 --epochs 10 \
    --precision $p --device cuda:0 -q --json $O/r/train-$p-$i.json > /dev/null 2>> $O/r/train.err
done; done
# 3. PyTorch script phase check.
for i in 1 2 3; do
  $G measure --json $O/r/torch-$i.json -- python3 $D/train.py 6 > $O/r/torch-$i.out 2> $O/r/torch-$i.err
done
# 2. Experiment 4 precisions x 5 repeats.
$G experiment run $D/plan.toml --db $O/r/prec.db > $O/r/exp.log 2>&1
$G analyze --db $O/r/prec.db --metric train_energy_j --metric energy_j --metric train_duration_s \
  --format json -o $O/r/analyze.json 2>> $O/r/exp.log
$G export --db $O/r/prec.db --csv $O/r/prec.csv 2>> $O/r/exp.log
tar czf $O/results.tgz -C $O r
