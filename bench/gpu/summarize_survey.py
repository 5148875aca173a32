#!/usr/bin/env python3
"""A table from the cuDNN engine survey (greentrain_cudnn_survey's JSON lines), beside PyTorch's
same operations (torch_conv_ops.py's JSON lines) when given: per precision, layer and operation,
the heuristics' first choice (what a run without autotune gets), the fastest of the first
AUTOTUNE candidates (what autotune picks from), the fastest of all, and PyTorch's time.
usage: summarize_survey.py SURVEY.jsonl [TORCH_OPS.jsonl] [--autotune 8]
"""
import argparse
import json


def read_lines(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def summarize(survey, torch_ops, autotune):
    rows = {}
    for d in survey:
        key = (d["precision"], d["layer"], d["op"])
        row = rows.setdefault(key, {"first": None, "tuned": None, "best": None})
        if d.get("refused") or d.get("ms") is None:
            continue
        entry = (d["ms"], d["engine"], d.get("workspace_bytes", 0))
        if d.get("rank") == 0:
            row["first"] = entry
        if d.get("rank", autotune) < autotune and (row["tuned"] is None or entry < row["tuned"]):
            row["tuned"] = entry
        if row["best"] is None or entry < row["best"]:
            row["best"] = entry
    peer = {(d["precision"], d["layer"], d["op"]): d["ms"] for d in torch_ops}
    return rows, peer


def cell(entry):
    return "—" if entry is None else f"{entry[0]:.3f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("survey")
    ap.add_argument("torch_ops", nargs="?")
    ap.add_argument("--autotune", type=int, default=8, help="candidates autotune times")
    a = ap.parse_args()
    rows, peer = summarize(read_lines(a.survey), read_lines(a.torch_ops) if a.torch_ops else [],
                           a.autotune)
    print("| precision | layer | op | first choice ms | autotuned ms | fastest ms | fastest engine "
          "| workspace MiB | PyTorch ms |")
    print("|---|---|---|---:|---:|---:|---|---:|---:|")
    totals = [0.0, 0.0, 0.0]
    for (precision, layer, op), row in rows.items():
        p = peer.get((precision, layer, op))
        best = row["best"]
        if op.startswith("conv") and row["tuned"] and p is not None:
            totals[0] += row["tuned"][0]
            totals[1] += p
            totals[2] += 1
        print(f"| {precision} | {layer} | {op} | {cell(row['first'])} | {cell(row['tuned'])} "
              f"| {cell(best)} | {best[1] if best else '—'} | {best[2] >> 20 if best else '—'} "
              f"| {'—' if p is None else f'{p:.3f}'} |")
    if totals[2]:
        print(f"\nconvolutions with both: autotuned {totals[0]:.2f} ms, PyTorch {totals[1]:.2f} ms "
              f"per step ({int(totals[2])} operations)")


if __name__ == "__main__":
    main()
