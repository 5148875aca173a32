#!/usr/bin/env python3
"""Independent check of a standalone window's GPU energy: around each window this script
also reads NVML's total-energy counter itself through pynvml (plain reads, so each boundary
lags by up to one counter update, about 100 ms on an H200; long windows keep that small).
The body is a bf16 matmul loop of fixed length. Prints one JSON object."""
import json
import sys
import time

import pynvml
import torch

import greentrain


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 4.0
    trials = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    pynvml.nvmlInit()
    handle = pynvml.nvmlDeviceGetHandleByIndex(0)
    a = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    meter = greentrain.Meter(gpus=[0], sync=torch.cuda.synchronize)
    for _ in range(10):
        a @ a
    torch.cuda.synchronize()
    rows = []
    for _ in range(trials):
        torch.cuda.synchronize()
        e0 = pynvml.nvmlDeviceGetTotalEnergyConsumption(handle)
        meter.begin_window("matmul")
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            for _ in range(20):
                a @ a
            torch.cuda.synchronize()
        m = meter.end_window("matmul")
        e1 = pynvml.nvmlDeviceGetTotalEnergyConsumption(handle)
        ref = (e1 - e0) / 1000.0
        gpu = m.components["gpu:0"]
        rows.append({"duration_s": m.duration_s, "window_gpu_j": gpu, "pynvml_j": ref,
                     "diff_pct": 100 * (gpu - ref) / ref,
                     "uncertainty_j": m.details[0].get("uncertainty_j"),
                     "model": m.sources["gpu:0"]})
        time.sleep(0.3)
    meter.close()
    print(json.dumps({"device": torch.cuda.get_device_name(0), "trials": rows}, indent=1))


if __name__ == "__main__":
    main()
