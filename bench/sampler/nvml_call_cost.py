#!/usr/bin/env python3
"""CPU cost of each NVML call the GPU meter makes, measured with pynvml on GPU 0.

Prints one row per call: mean wall and thread-CPU time per call over N calls. It tells which
readings the sampler can afford at every tick (the issue's budget: 0.5 % of one core at 100 ms,
i.e. 0.5 ms of CPU per sample). Usage: nvml_call_cost.py [N]
"""
import sys
import time

import pynvml as nv

N = int(sys.argv[1]) if len(sys.argv) > 1 else 200
nv.nvmlInit()
h = nv.nvmlDeviceGetHandleByIndex(0)
FI_POWER_INSTANT = getattr(nv, "NVML_FI_DEV_POWER_INSTANT", 186)
calls = {
    "nvmlDeviceGetTotalEnergyConsumption": lambda: nv.nvmlDeviceGetTotalEnergyConsumption(h),
    "nvmlDeviceGetFieldValues(POWER_INSTANT)": lambda: nv.nvmlDeviceGetFieldValues(h, [FI_POWER_INSTANT]),
    "nvmlDeviceGetPowerUsage": lambda: nv.nvmlDeviceGetPowerUsage(h),
    "nvmlDeviceGetClockInfo(SM)": lambda: nv.nvmlDeviceGetClockInfo(h, nv.NVML_CLOCK_SM),
    "nvmlDeviceGetTemperature": lambda: nv.nvmlDeviceGetTemperature(h, nv.NVML_TEMPERATURE_GPU),
    "nvmlDeviceGetUtilizationRates": lambda: nv.nvmlDeviceGetUtilizationRates(h),
    "nvmlDeviceGetMemoryInfo": lambda: nv.nvmlDeviceGetMemoryInfo(h),
}
print(f"| call | wall ms/call | CPU ms/call | calls |")
print("|---|---:|---:|---:|")
for name, fn in calls.items():
    fn()  # warm
    w0, c0 = time.perf_counter(), time.thread_time()
    for _ in range(N):
        fn()
    w1, c1 = time.perf_counter(), time.thread_time()
    print(f"| {name} | {1e3 * (w1 - w0) / N:.3f} | {1e3 * (c1 - c0) / N:.3f} | {N} |")
nv.nvmlShutdown()
