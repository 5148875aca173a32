#!/usr/bin/env python3
"""PyTorch's side of the cuDNN engine survey (cudnn_survey.cpp): the same 3x3 'same'
convolutions of a cnn: network, channels-last, cudnn.benchmark on, each operation (forward,
backward data, backward filter) timed alone with CUDA events, with the GPU kernels it ran (from
torch.profiler). One JSON line per layer, operation and precision.
usage: torch_conv_ops.py [--filters 32,64,128,256] [--image 224] [--channels 3] [--batch 64]
                         [--precision fp32,tf32,bf16,fp16] [--iters 20]
"""
import argparse
import json

import torch


def timed(fn, iters):
    for _ in range(3):
        fn()
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(iters):
        fn()
    stop.record()
    torch.cuda.synchronize()
    return start.elapsed_time(stop) / iters


def kernels(fn):
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
        fn()
        torch.cuda.synchronize()
    names = {}
    for e in prof.events():
        if e.device_type == torch.autograd.DeviceType.CUDA:
            names[e.name] = names.get(e.name, 0.0) + e.device_time_total / 1000.0
    return {k[:120]: round(v, 4) for k, v in sorted(names.items(), key=lambda kv: -kv[1])}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--filters", default="32,64,128,256")
    ap.add_argument("--image", type=int, default=224)
    ap.add_argument("--channels", type=int, default=3)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--precision", default="fp32")
    ap.add_argument("--iters", type=int, default=20)
    a = ap.parse_args()
    torch.backends.cudnn.benchmark = True
    dev = torch.device("cuda")
    filters = [int(f) for f in a.filters.split(",")]
    for precision in a.precision.split(","):
        tf32 = precision == "tf32"
        torch.backends.cuda.matmul.allow_tf32 = tf32
        torch.backends.cudnn.allow_tf32 = tf32
        dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision, torch.float32)
        size, cin = a.image, a.channels
        for b, k in enumerate(filters):
            def t(*shape):
                return torch.randn(*shape, device=dev, dtype=dtype).to(
                    memory_format=torch.channels_last)
            x, w, dy = t(a.batch, cin, size, size), t(k, cin, 3, 3), t(a.batch, k, size, size)
            ops = {
                "conv_fwd": lambda: torch.ops.aten.convolution(
                    x, w, None, [1, 1], [1, 1], [1, 1], False, [0, 0], 1),
                "conv_wgrad": lambda: torch.ops.aten.convolution_backward(
                    dy, x, w, None, [1, 1], [1, 1], [1, 1], False, [0, 0], 1, [False, True, False]),
            }
            if b > 0:
                ops["conv_dgrad"] = lambda: torch.ops.aten.convolution_backward(
                    dy, x, w, None, [1, 1], [1, 1], [1, 1], False, [0, 0], 1, [True, False, False])
            for op, fn in ops.items():
                ms = timed(fn, a.iters)
                print(json.dumps(dict(tool="pytorch " + torch.__version__, precision=precision,
                                      layer=f"block{b + 1}", op=op, batch=a.batch, size=size,
                                      c=cin, k=k, ms=ms, kernels=kernels(fn))), flush=True)
            cin, size = k, (size + 1) // 2


if __name__ == "__main__":
    main()
