"""How an NVIDIA GPU's energy counter updates, seen from a tight polling loop (run on the GPU
machine; needs pynvml, and torch for the load phase):

    python3 bench/meter/counter_probe.py OUT_DIR [seconds_per_phase]

For each phase (idle; a PyTorch bf16 matmul loop; the same loop with the poller's CPU also
busy) it polls nvmlDeviceGetTotalEnergyConsumption as fast as it can, and in a second pass
the field value NVML_FI_DEV_TOTAL_ENERGY_CONSUMPTION (83) whose nvmlFieldValue_t carries the
driver's own timestamp. It writes every read (phase, api, t0, t1, value, field timestamp) to
OUT_DIR/counter_reads.csv and prints, per phase and API: the read cost (median, p99, max), the
update period between value changes (median, min, max), how often a change was seen with a gap
wider than 20 ms, and whether the field timestamp stays constant between changes (then it
marks the update instant, which a poller could use instead of its own timing).
"""
import csv
import os
import statistics
import sys
import threading
import time

import pynvml

out_dir = sys.argv[1]
seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 3.0
os.makedirs(out_dir, exist_ok=True)
pynvml.nvmlInit()
h = pynvml.nvmlDeviceGetHandleByIndex(0)
FI = 83  # NVML_FI_DEV_TOTAL_ENERGY_CONSUMPTION
WALL_MINUS_MONO = time.time() - time.monotonic()


def poll(api, secs):
    rows = []
    end = time.monotonic() + secs
    while time.monotonic() < end:
        t0 = time.monotonic()
        if api == "counter":
            v = pynvml.nvmlDeviceGetTotalEnergyConsumption(h)
            ts = 0
        else:
            fv = pynvml.nvmlDeviceGetFieldValues(h, [FI])[0]
            v = fv.value.ullVal
            ts = fv.timestamp
        t1 = time.monotonic()
        rows.append((t0, t1, v, ts))
    return rows


def summarise(phase, api, rows):
    cost = sorted((r[1] - r[0]) * 1e3 for r in rows)
    changes = [i for i in range(1, len(rows)) if rows[i][2] != rows[i - 1][2]]
    mids = []
    wide = 0
    for i in changes:
        gap = (rows[i][0] + rows[i][1]) / 2 - (rows[i - 1][0] + rows[i - 1][1]) / 2
        wide += gap > 0.020
        mids.append((rows[i][0] + rows[i][1]) / 4 + (rows[i - 1][0] + rows[i - 1][1]) / 4)
    periods = [1e3 * (b - a) for a, b in zip(mids, mids[1:])]
    line = (f"{phase:10s} {api:8s} reads {len(rows):6d}  cost ms median {statistics.median(cost):.3f}"
            f" p99 {cost[int(0.99 * (len(cost) - 1))]:.3f} max {cost[-1]:.3f}")
    if periods:
        line += (f"  period ms median {statistics.median(periods):.1f} min {min(periods):.1f}"
                 f" max {max(periods):.1f}  changes {len(changes)} wide-gap {wide}")
    if api == "field":
        same = sum(1 for i in range(1, len(rows)) if rows[i][2] == rows[i - 1][2] and rows[i][3] == rows[i - 1][3])
        unchanged = sum(1 for i in range(1, len(rows)) if rows[i][2] == rows[i - 1][2])
        line += f"  timestamp constant while value constant: {same}/{unchanged}"
        # Field timestamp at a change against the poller's own midpoint estimate.
        d = [1e3 * (rows[i][3] * 1e-6 - WALL_MINUS_MONO - (rows[i][0] + rows[i][1]) / 2)
             for i in changes]
        if d:
            line += (f"  field ts minus read midpoint at a change, ms: median {statistics.median(d):.1f}"
                     f" min {min(d):.1f} max {max(d):.1f}")
    print(line, flush=True)


stop = threading.Event()


def load(kind):
    import torch
    a = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    burn = kind == "load+cpu"
    while not stop.is_set():
        for _ in range(4):
            c = a @ b
        torch.cuda.synchronize()
        if burn:
            x = 0
            for i in range(20000):
                x += i


with open(os.path.join(out_dir, "counter_reads.csv"), "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["phase", "api", "t0", "t1", "value_mj", "field_ts_us"])
    for phase in ["idle", "load", "load+cpu"]:
        th = None
        if phase != "idle":
            stop.clear()
            th = threading.Thread(target=load, args=(phase,))
            th.start()
            time.sleep(1.0)
        for api in ["counter", "field"]:
            rows = poll(api, seconds)
            summarise(phase, api, rows)
            for r in rows:
                w.writerow([phase, api, f"{r[0]:.6f}", f"{r[1]:.6f}", r[2], r[3]])
        if th:
            stop.set()
            th.join()
