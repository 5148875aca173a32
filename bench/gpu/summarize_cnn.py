#!/usr/bin/env python3
"""Summary of bench/gpu/run_cnn_bench.sh: reads OUT/greentrain/<config>-<precision>.json (the
`greentrain train --json` results) and OUT/pytorch.jsonl (cnn_torch_bench.py), prints a Markdown
summary with one table per configuration — images/s in the train phase (epochs after the first),
the ratio to PyTorch's fastest variant, GPU energy per epoch (epochs after the first), achieved
TFLOP/s, test accuracy — the greentrain runs' notes, and PASS/FAIL lines for the targets:
  * greentrain bf16 and fp16 at least PyTorch's fastest variant's images/s, fp32 at least
    PyTorch's fp32 (TF32 off), on both configurations;
  * greentrain bf16 and fp16 at least 2x greentrain fp32 on the study-sized configuration;
  * greentrain's lowest GPU energy per epoch no more than PyTorch's lowest;
  * every run finished;
and INFO lines comparing each precision run with greentrain's own BatchNorm kernels and with
cuDNN's.

usage: summarize_cnn.py OUT
"""
import glob
import json
import os
import sys


def mean(values):
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None


def greentrain_row(path):
    j = json.load(open(path))
    config, precision = os.path.basename(path)[:-5].split("-", 1)
    gpu = (j.get("phase_metrics") or {}).get("epoch_gpu_energy_j")
    per_epoch = None
    if isinstance(gpu, list) and gpu:
        per_epoch = mean(gpu[1:] if len(gpu) > 1 else gpu)
    return dict(tool="greentrain", config=config, variant=precision,
                images_per_s=j.get("samples_per_s"), gpu_energy_per_epoch_j=per_epoch,
                tflops=j.get("tflops"), test_accuracy=j.get("test_accuracy"),
                notes=j.get("notes") or [], device=j.get("device_description", ""),
                model=j.get("model"), input_shape=j.get("input_shape"),
                train_rows=j.get("train_rows"), batch_size=j.get("batch_size"))


def fmt(v, spec):
    return "–" if v is None else format(v, spec)


def main():
    out = sys.argv[1]
    rows = []
    for path in sorted(glob.glob(os.path.join(out, "greentrain", "*.json"))):
        try:
            rows.append(greentrain_row(path))
        except (ValueError, KeyError) as e:
            print(f"unreadable {path}: {e}", file=sys.stderr)
    for line in open(os.path.join(out, "pytorch.jsonl")):
        if line.strip():
            r = json.loads(line)
            r["tool"] = "pytorch"
            rows.append(r)
    env = open(os.path.join(out, "env.txt")).read().strip() if os.path.exists(
        os.path.join(out, "env.txt")) else ""
    runs = open(os.path.join(out, "runs.txt")).read() if os.path.exists(
        os.path.join(out, "runs.txt")) else ""

    print("# CNN benchmark: greentrain against PyTorch\n")
    print("```\n" + env + "\n```\n")
    checks = []

    def check(ok, text):
        checks.append(("PASS" if ok else "FAIL") + " " + text)

    failed = [l for l in runs.splitlines() if "FAILED" in l]
    check(not failed, "every run finished" + ("" if not failed else ": " + "; ".join(failed)))
    for config in ("small", "study"):
        mine = {r["variant"]: r for r in rows if r["config"] == config and r["tool"] == "greentrain"}
        theirs = {r["variant"]: r for r in rows if r["config"] == config and r["tool"] == "pytorch"}
        if not mine and not theirs:
            continue
        any_row = next(iter(mine.values()), None) or next(iter(theirs.values()))
        fastest = max(theirs.values(), key=lambda r: r.get("images_per_s") or 0, default=None)
        best = fastest["images_per_s"] if fastest else None
        print(f"## {config}: {any_row.get('model')} on {any_row.get('input_shape')}, "
              f"{any_row.get('train_rows')} training images, batch {any_row.get('batch_size')}\n")
        print("| tool | variant | images/s | vs PyTorch's fastest | GPU J/epoch | TFLOP/s | test acc |")
        print("|---|---|---:|---:|---:|---:|---:|")
        for r in list(mine.values()) + list(theirs.values()):
            ratio = r["images_per_s"] / best if best and r.get("images_per_s") else None
            print(f"| {r['tool']} | {r['variant']} | {fmt(r.get('images_per_s'), '.0f')} | "
                  f"{fmt(ratio, '.2f')} | {fmt(r.get('gpu_energy_per_epoch_j'), '.1f')} | "
                  f"{fmt(r.get('tflops'), '.1f')} | {fmt(r.get('test_accuracy'), '.4f')} |")
        print()
        if mine:
            first = next(iter(mine.values()))
            print(f"greentrain device: {first['device']}\n")
            for p, r in mine.items():
                print(f"greentrain {p} notes: " + "; ".join(r["notes"]) + "\n")

        def speed(r):
            return (r or {}).get("images_per_s") or 0

        for p in ("bf16", "fp16"):
            check(fastest is not None and speed(mine.get(p)) >= speed(fastest),
                  f"{config}: greentrain {p} {speed(mine.get(p)):.0f} images/s >= PyTorch's fastest "
                  f"({fastest['variant'] if fastest else '?'}) {speed(fastest):.0f}")
        check(speed(mine.get("fp32")) >= speed(theirs.get("fp32")) > 0,
              f"{config}: greentrain fp32 {speed(mine.get('fp32')):.0f} images/s >= PyTorch fp32 "
              f"{speed(theirs.get('fp32')):.0f}")
        if config == "study":
            for p in ("bf16", "fp16"):
                check(speed(mine.get(p)) >= 2 * speed(mine.get("fp32")) > 0,
                      f"{config}: greentrain {p} {speed(mine.get(p)):.0f} images/s >= 2x greentrain "
                      f"fp32 {speed(mine.get('fp32')):.0f}")
        for p in ("fp32", "tf32", "fp16", "bf16"):
            if p + "-ownbn" in mine:
                checks.append(f"INFO {config}: greentrain {p} with its own BatchNorm kernels "
                              f"{speed(mine[p + '-ownbn']):.0f} images/s, with cuDNN's "
                              f"{speed(mine.get(p)):.0f}")
        energies = lambda d: [r["gpu_energy_per_epoch_j"] for r in d.values()
                              if r.get("gpu_energy_per_epoch_j")]
        ours, others = energies(mine), energies(theirs)
        check(bool(ours) and bool(others) and min(ours) <= min(others),
              f"{config}: greentrain's lowest GPU energy per epoch "
              f"{fmt(min(ours) if ours else None, '.1f')} J <= PyTorch's lowest "
              f"{fmt(min(others) if others else None, '.1f')} J")
    print("## Runs\n\n```\n" + runs.strip() + "\n```\n")
    print("## Checks\n")
    for c in checks:
        print(c)


if __name__ == "__main__":
    main()
