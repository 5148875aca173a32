#!/usr/bin/env python3
"""Wall-time cost of a greentrain window pair (begin_window + end_window) as seen by the
calling Python code, standalone: N pairs around an empty body, then N pairs around a small
GPU (or CPU) matmul with torch.cuda.synchronize as the sync callable, minus the same loop
without windows. Prints one JSON object. The replies are gathered at the end (a Measurement
waits for its figures only when read)."""
import json
import statistics
import sys
import time

import torch

import greentrain


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    cuda = torch.cuda.is_available()
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    dev = "cuda" if cuda else "cpu"
    a = torch.randn(256, 256, device=dev)
    meter = greentrain.Meter(sync=sync)

    def body():
        (a @ a).sum()

    for _ in range(20):  # warm-up of torch and the pipe
        meter.begin_window("w")
        body()
        meter.end_window("w").energy_j
    empty = []
    results = []
    for _ in range(n):
        t0 = time.perf_counter()
        meter.begin_window("w")
        results.append(meter.end_window("w"))
        empty.append(time.perf_counter() - t0)
    t_resolve = time.perf_counter()
    for r in results:
        r.energy_j
    resolve_s = time.perf_counter() - t_resolve
    plain, windowed = [], []
    for _ in range(n):
        t0 = time.perf_counter()
        body()
        sync()
        sync()
        plain.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        meter.begin_window("w")
        body()
        results.append(meter.end_window("w"))
        windowed.append(time.perf_counter() - t0)
    for r in results:
        r.energy_j
    one = greentrain.Meter(sync=sync)
    blocking = []
    for _ in range(20):  # begin, end and wait for the figures each time
        t0 = time.perf_counter()
        one.begin_window("w")
        one.end_window("w").energy_j
        blocking.append(time.perf_counter() - t0)
    out = {
        "pairs": n, "device": torch.cuda.get_device_name(0) if cuda else "cpu",
        "torch": torch.__version__,
        "empty_pair_ms_median": 1e3 * statistics.median(empty),
        "empty_pair_ms_p99": 1e3 * sorted(empty)[int(0.99 * n) - 1],
        "empty_pair_ms_max": 1e3 * max(empty),
        "matmul_overhead_ms_median": 1e3 * (statistics.median(windowed) -
                                            statistics.median(plain)),
        "replies_after_loop_s": resolve_s,
        "pair_waiting_for_figures_ms_median": 1e3 * statistics.median(blocking),
        "gpu_meter": [m["model"] for m in meter.meters if m["component"] == "gpu"],
    }
    meter.close()
    one.close()
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
