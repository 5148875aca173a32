#!/usr/bin/env python3
"""A PyTorch script's window energy against its own NVML counter difference, over a loop of a
few seconds at steady power (a bf16 matmul loop, synchronised every iteration). The script
reads NVML's total-energy counter itself through pynvml and waits for the counter to change
(an update edge: the counter steps about every 100 ms, and a plain read lags by up to one step),
then begins the greentrain window at once; after the loop it waits for the next edge and ends
the window there. Both boundaries then sit within a poll (about 1 ms) of a counter update, so
the pynvml difference is the exact energy between them, and the window's GPU energy must agree
within --tolerance (1 %). Run standalone and under `greentrain measure`: the same code, the
Measurement answered by the meter child or by the metered run. Prints one PASS/FAIL line per
trial and writes a JSON summary to --out."""
import argparse
import json
import time

import pynvml
import torch

import greentrain


def wait_for_edge(handle, timeout_s=1.0):
    """Polls the counter until it changes; returns (value_mJ, instant after the change)."""
    first = pynvml.nvmlDeviceGetTotalEnergyConsumption(handle)
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        value = pynvml.nvmlDeviceGetTotalEnergyConsumption(handle)
        if value != first:
            return value, time.monotonic()
    raise RuntimeError("the NVML energy counter did not change within 1 s")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--trials", type=int, default=3)
    p.add_argument("--tolerance", type=float, default=0.01)
    p.add_argument("--out", default=None)
    a = p.parse_args()
    pynvml.nvmlInit()
    handle = pynvml.nvmlDeviceGetHandleByIndex(0)  # CUDA device 0, NVML index 0 on one GPU
    x = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    meter = greentrain.Meter(gpus=[0], sync=None)
    for _ in range(20):
        x @ x
    torch.cuda.synchronize()
    rows = []
    for trial in range(a.trials):
        e0, _ = wait_for_edge(handle)
        meter.begin_window("matmul")
        end = time.monotonic() + a.seconds
        while time.monotonic() < end:
            for _ in range(10):
                x @ x
            torch.cuda.synchronize()
        e1, _ = wait_for_edge(handle)
        m = meter.end_window("matmul")
        reference_j = (e1 - e0) / 1000.0
        gpu_j = m.components["gpu:0"]
        diff = (gpu_j - reference_j) / reference_j
        ok = abs(diff) <= a.tolerance
        rows.append({"trial": trial + 1, "duration_s": m.duration_s, "window_gpu_j": gpu_j,
                     "pynvml_j": reference_j, "diff_pct": 100 * diff,
                     "uncertainty_j": m.details[0].get("uncertainty_j"),
                     "model": m.sources["gpu:0"], "pass": ok})
        print(f"{'PASS' if ok else 'FAIL'} window_vs_nvml trial {trial + 1}: window "
              f"{gpu_j:.1f} J, pynvml {reference_j:.1f} J, {100 * diff:+.3f} % "
              f"(limit {100 * a.tolerance:g} %), {m.duration_s:.3f} s, "
              f"{'in a metered run' if meter.in_metered_run else 'standalone'}", flush=True)
        time.sleep(0.5)
    meter.close()
    summary = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__,
               "in_metered_run": meter.in_metered_run, "seconds": a.seconds,
               "tolerance_pct": 100 * a.tolerance, "trials": rows,
               "pass": all(r["pass"] for r in rows)}
    if a.out:
        with open(a.out, "w") as f:
            json.dump(summary, f, indent=1)
    raise SystemExit(0 if summary["pass"] else 1)


if __name__ == "__main__":
    main()
