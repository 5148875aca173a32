#!/usr/bin/env python3
"""Tables of run_speed.sh's results: summarize_speed.py OUT_DIR > SUMMARY.md

Reads OUT_DIR/bench.jsonl (greentrain_gpu_bench and torch_bench.py lines), whole.jsonl (wall clock
of whole `greentrain train` processes) and train_*.json (their --json results with energy), and
prints Markdown: the training loop per precision (fused kernel, cuBLASLt path, PyTorch eager), the
wide configuration, accuracy over seeds, setup phases, and the whole process with its GPU energy
against PyTorch's training loop."""
import json
import os
import statistics
import sys


def load_lines(path):
    out = []
    if os.path.exists(path):
        for line in open(path):
            line = line.strip()
            if line.startswith("{"):
                out.append(json.loads(line))
    return out


def fmt(v, digits=3):
    return "n/a" if v is None else f"{v:.{digits}f}"


def main():
    out_dir = sys.argv[1]
    runs = load_lines(os.path.join(out_dir, "bench.jsonl"))
    whole = load_lines(os.path.join(out_dir, "whole.jsonl"))
    gt = [r for r in runs if r.get("tool") == "greentrain"]
    torch = [r for r in runs if str(r.get("tool", "")).startswith("pytorch")]
    precisions = ["fp32", "tf32", "fp16", "bf16"]

    def ref(r):
        return r["model"] == "mlp:128" and r["batch_size"] == 32

    print("## Reference configuration (mlp:128, batch 32, 10 epochs, 18 750 steps): training loop\n")
    print("| precision | fused kernel (s, seeds) | µs/step | GPU energy (J) | cuBLASLt path (s) | "
          "speed-up | PyTorch eager (s) | × faster | PyTorch GPU energy (J) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    torch_ref = {}
    for r in torch:
        if r["model"] == "mlp:128" and r["batch_size"] == 32 and r.get("mode") == "eager":
            scale = 10 / r["epochs"]
            torch_ref[r["precision"]] = (r["train_s"] * scale, r.get("gpu_energy_j", 0) * scale,
                                         r["epochs"])
    fused_mean = {}
    for p in precisions:
        fused = [r for r in gt if ref(r) and r["precision"] == p and r.get("fused_mlp")]
        cublas = [r for r in gt if ref(r) and r["precision"] == p and not r.get("fused_mlp")]
        if not fused and not cublas:
            continue
        t = [r["train_s"] for r in fused]
        mean = statistics.mean(t) if t else None
        fused_mean[p] = mean
        energy = [r["gpu_energy_j"] for r in fused if "gpu_energy_j" in r]
        c = cublas[0]["train_s"] if cublas else None
        tr = torch_ref.get(p)
        print(f"| {p} | {fmt(mean)} ({', '.join(fmt(x) for x in t)}) | "
              f"{fmt(mean / 18750 * 1e6 if mean else None, 1)} | "
              f"{fmt(statistics.mean(energy) if energy else None, 1)} | {fmt(c)} | "
              f"{fmt(c / mean if c and mean else None, 1)} | "
              f"{fmt(tr[0] if tr else None, 2)}{'' if not tr or tr[2] == 10 else ' (×' + str(10 // tr[2]) + ')'} | "
              f"{fmt(tr[0] / mean if tr and mean else None, 0)} | {fmt(tr[1] if tr else None, 0)} |")

    print("\n## Setup phases of the benchmark driver (reference configuration, fused kernel)\n")
    print("| precision | data load (s) | CUDA start (s) | setup incl. start (s) | evaluation (s) |")
    print("|---|---:|---:|---:|---:|")
    for p in precisions:
        fused = [r for r in gt if ref(r) and r["precision"] == p and r.get("fused_mlp")]
        if fused:
            m = lambda k: statistics.mean(r.get(k, float("nan")) for r in fused)
            print(f"| {p} | {fmt(m('load_s'))} | {fmt(m('init_s'))} | {fmt(m('setup_s'))} | "
                  f"{fmt(m('eval_s'), 4)} |")

    print("\n## Accuracy (reference configuration, fused kernel, seeds 1-3)\n")
    print("| precision | test accuracy (%) | mean | Δ vs fp32 (points) |")
    print("|---|---|---:|---:|")
    base = None
    for p in precisions:
        acc = [100 * r["test_accuracy"] for r in gt if ref(r) and r["precision"] == p
               and r.get("fused_mlp")]
        if not acc:
            continue
        m = statistics.mean(acc)
        if p == "fp32":
            base = m
        delta = "" if p == "fp32" or base is None else f"{m - base:+.2f}"
        print(f"| {p} | {', '.join(f'{a:.2f}' for a in acc)} | {m:.2f} | {delta} |")

    print("\n## Wide configuration (mlp:4096, batch 1024, 5 epochs): training loop\n")
    print("| precision | time (s) | × greentrain fp32 | test accuracy (%) |")
    print("|---|---:|---:|---:|")
    wide = {r["precision"]: r for r in gt if r["model"] == "mlp:4096"}
    for p in precisions:
        if p in wide:
            r = wide[p]
            f32 = wide.get("fp32", {}).get("train_s")
            print(f"| {p} | {r['train_s']:.4f} | {fmt(f32 / r['train_s'] if f32 else None, 2)} | "
                  f"{100 * r['test_accuracy']:.2f} |")

    print("\n## The whole `greentrain train` process (start to exit), reference configuration\n")
    print("| run | wall, start to exit (s) | train() total (s) | training loop (s) | "
          "metered GPU energy (J) | vs PyTorch eager loop (same precision) | test accuracy (%) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for w in whole:
        path = os.path.join(out_dir, f"train_{w['run']}.json")
        j = json.load(open(path)) if os.path.exists(path) and w["rc"] == 0 else {}
        gpu = None
        for c in (j.get("energy") or {}).get("components", []):
            if c.get("component") == "gpu":
                gpu = (gpu or 0) + c["energy_j"]
        p = j.get("precision")
        tr = torch_ref.get(p)
        ratio = f"1/{tr[1] / gpu:.0f}" if tr and gpu else "n/a"
        acc = j.get("test_accuracy")
        print(f"| {w['run']} (exit {w['rc']}) | {w['wall_s']:.3f} | {fmt(j.get('total_s'))} | "
              f"{fmt(j.get('duration_s'))} | {fmt(gpu, 1)} | {ratio} | "
              f"{fmt(100 * acc if acc is not None else None, 2)} |")


if __name__ == "__main__":
    main()
