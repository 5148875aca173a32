#!/usr/bin/env python3
"""PyTorch baseline for bench/gpu/run_cnn_bench.sh: greentrain's cnn:F1,F2,…/H on the same images.

The images are greentrain's decoded cache of the image folder (data/image_cache.h: uint8 NHWC,
labels, per-channel mean and stddev of the training split), read here with numpy, so both tools
train on the same bytes. The training split is uploaded to the GPU once as uint8 NHWC; each step
gathers a shuffled batch (torch.randperm on the GPU), normalises it on the GPU
((u8/255 − mean)/stddev), views it as NCHW with channels-last strides, runs forward, softmax
cross-entropy, backward and Adam (lr 1e-3, betas (0.9, 0.999), eps 1e-7, as greentrain), the
last batch of an epoch partial (as greentrain). The net: per filter count Conv2d(3×3, padding 1,
no bias; He-uniform) → BatchNorm2d(eps 1e-5, momentum 0.1) → ReLU → MaxPool2d(2); global
average pooling → Linear(H) → ReLU → Linear(classes) (Glorot-uniform, zero biases).

Variants (--variants, run one after the other in this process): fp32 (TF32 off for cuDNN and matmuls), tf32, eager-bf16 / eager-fp16
(autocast; fp16 with GradScaler), compile-bf16 / compile-fp16 (torch.compile of the model, default
mode, fused Adam); all channels-last; cudnn.benchmark on. The first epoch is warm-up (cuDNN's
autotuning, compilation); images/s and the GPU energy per epoch (NVML's total-energy counter,
read at synchronised epoch boundaries) are over the epochs after it. Test accuracy after the
last epoch. Prints one JSON object per variant; a variant that fails is named on stderr and the
exit status is 1.
"""
import argparse
import contextlib
import glob
import json
import os
import struct
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_bench import Nvml  # noqa: E402  (the same NVML reader as the MLP baseline)


def read_cache(path):
    """greentrain's image cache: header fields and numpy views of the three splits."""
    raw = np.memmap(path, dtype=np.uint8, mode="r")
    if bytes(raw[:8]) != b"GTIMGC01":
        sys.exit(f"{path}: not a greentrain image cache")
    offset, size = struct.unpack_from("<QQ", raw, 8)
    h = bytes(raw[offset:offset + size])
    at = 0

    def take(fmt):
        nonlocal at
        v = struct.unpack_from(fmt, h, at)
        at += struct.calcsize(fmt)
        return v

    def text():
        (n,) = take("<I")
        nonlocal at
        s = h[at:at + n]
        at += n
        return s

    text()  # key
    height, width, channels, classes = take("<IIII")
    names = [text() for _ in range(classes)]
    splits = [take("<QQQ") for _ in range(3)]  # rows, images offset, labels offset
    mean, std = [], []
    for _ in range(channels):
        m, s = take("<ff")
        mean.append(m)
        std.append(s)
    sample = height * width * channels
    out = {"shape": (height, width, channels), "classes": len(names), "mean": mean, "std": std}
    for name, (rows, images, labels) in zip(("train", "validation", "test"), splits):
        x = raw[images:images + rows * sample].reshape(rows, height, width, channels)
        y = np.frombuffer(raw, dtype=np.int32, count=rows, offset=labels) if rows else np.zeros(0, np.int32)
        out[name] = (x, y)
    return out


class Cnn(torch.nn.Module):
    def __init__(self, channels, filters, head, classes):
        super().__init__()
        layers, c = [], channels
        for f in filters:
            conv = torch.nn.Conv2d(c, f, 3, padding=1, bias=False)
            torch.nn.init.kaiming_uniform_(conv.weight, nonlinearity="relu")  # Keras he_uniform
            layers += [conv, torch.nn.BatchNorm2d(f, eps=1e-5, momentum=0.1), torch.nn.ReLU(),
                       torch.nn.MaxPool2d(2)]
            c = f
        self.features = torch.nn.Sequential(*layers)
        dense, widths = [], [c] + head + [classes]
        for i in range(len(widths) - 1):
            lin = torch.nn.Linear(widths[i], widths[i + 1])
            torch.nn.init.xavier_uniform_(lin.weight)
            torch.nn.init.zeros_(lin.bias)
            dense.append(lin)
            if i + 2 < len(widths):
                dense.append(torch.nn.ReLU())
        self.head = torch.nn.Sequential(*dense)

    def forward(self, x):
        return self.head(self.features(x).mean(dim=(2, 3)))


def flops_per_sample(shape, filters, head, classes):
    """greentrain's count (graph/network.h): 2·MACs forward, weight gradient and input gradient
    (not for the first layer with parameters) of the convolutions and Dense layers."""
    h, w, c = shape
    total, first = 0.0, True
    for f in filters:
        macs = h * w * f * 9 * c
        total += (4 if first else 6) * macs
        first = False
        h, w, c = h // 2, w // 2, f
    for u in head + [classes]:
        total += 6 * c * u
        c = u
    return total


VARIANTS = ["fp32", "tf32", "eager-bf16", "eager-fp16", "compile-bf16", "compile-fp16"]


def find_cache(path):
    if os.path.isdir(path):
        found = sorted(glob.glob(os.path.join(path, "**", "*"), recursive=True))
        found = [p for p in found if os.path.isfile(p) and open(p, "rb").read(8) == b"GTIMGC01"]
        if len(found) != 1:
            sys.exit(f"{path}: expected one greentrain image cache, found {len(found)}")
        path = found[0]
    return path


class Data:
    """The training and test splits on the device as uint8 NHWC, and the normalisation."""

    def __init__(self, cache, dev):
        data = read_cache(cache)
        self.shape, self.classes = data["shape"], data["classes"]
        self.xs, self.ys = (torch.from_numpy(np.array(v)).to(dev) for v in data["train"])
        self.xt, self.yt = (torch.from_numpy(np.array(v)).to(dev) for v in data["test"])
        self.ys, self.yt = self.ys.long(), self.yt.long()
        self.mean = torch.tensor(data["mean"], device=dev).view(1, 1, 1, -1)
        self.std = torch.tensor(data["std"], device=dev).view(1, 1, 1, -1)

    def batch(self, x_u8, idx):  # NHWC uint8 → normalised NCHW view with channels-last strides
        return ((x_u8[idx].float() / 255.0 - self.mean) / self.std).permute(0, 3, 1, 2)


def run(a, variant, d, dev):
    torch.manual_seed(a.seed)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    tf32 = variant == "tf32"
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    torch.backends.cudnn.benchmark = True
    amp = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(variant.split("-")[-1])
    compiled = variant.startswith("compile")
    spec = a.model.split(":", 1)[1]
    filters = [int(f) for f in spec.split("/")[0].split(",")]
    head = [int(h) for h in spec.split("/")[1].split(",")] if "/" in spec else [128]
    height, width, channels = d.shape
    model = Cnn(channels, filters, head, d.classes).to(dev).to(memory_format=torch.channels_last)
    net = torch.compile(model) if compiled else model
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7, fused=True if compiled else None)
    use_scaler = amp == torch.float16 and dev.type == "cuda"
    scaler = (torch.amp.GradScaler("cuda", enabled=use_scaler) if hasattr(torch.amp, "GradScaler")
              else torch.cuda.amp.GradScaler(enabled=use_scaler))
    loss_fn = torch.nn.CrossEntropyLoss()

    def autocast():
        return torch.autocast(dev.type, dtype=amp) if amp else contextlib.nullcontext()

    def step(idx):
        with autocast():
            logits = net(d.batch(d.xs, idx))
        loss = loss_fn(logits.float(), d.ys[idx])
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        return loss

    rows, b = d.xs.shape[0], a.batch_size
    nvml = Nvml(0) if dev.type == "cuda" else None
    joules = (lambda: nvml.joules()) if nvml else (lambda: None)
    epochs = []
    for epoch in range(a.epochs):
        sync()
        e0, t0 = joules(), time.perf_counter()
        perm = torch.randperm(rows, device=dev)
        for s in range(0, rows, b):
            loss = step(perm[s:s + b])
        sync()
        t1, e1 = time.perf_counter(), joules()
        epochs.append({"seconds": t1 - t0, "gpu_energy_j": None if e0 is None else e1 - e0,
                       "loss": float(loss)})
    timed = epochs[1:] if len(epochs) > 1 else epochs
    seconds = sum(e["seconds"] for e in timed) / len(timed)
    model.eval()
    correct = 0
    with torch.no_grad(), autocast():
        for s in range(0, d.xt.shape[0], 512):
            idx = torch.arange(s, min(s + 512, d.xt.shape[0]), device=dev)
            correct += (model(d.batch(d.xt, idx)).argmax(1) == d.yt[idx]).sum().item()
    out = dict(tool="pytorch " + torch.__version__, config=a.config, variant=variant,
               device=torch.cuda.get_device_name(0) if dev.type == "cuda" else "cpu",
               model=f"cnn:{spec if '/' in spec else spec + '/128'}",
               input_shape=f"{height}x{width}x{channels}", train_rows=rows, batch_size=b,
               epochs=a.epochs, seed=a.seed, images_per_s=rows / seconds, seconds_per_epoch=seconds,
               tflops=flops_per_sample(d.shape, filters, head, d.classes) * rows / seconds / 1e12,
               final_loss=epochs[-1]["loss"], test_accuracy=correct / max(1, d.xt.shape[0]),
               epochs_detail=epochs)
    if all(e["gpu_energy_j"] is not None for e in timed):
        out["gpu_energy_per_epoch_j"] = sum(e["gpu_energy_j"] for e in timed) / len(timed)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cache", required=True, help="greentrain cache file, or a folder holding one")
    ap.add_argument("--model", default="cnn:32,64,128/128")
    ap.add_argument("--variants", default="fp32", help="comma-separated: " + ", ".join(VARIANTS))
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--config", default="", help="a label copied into the output")
    ap.add_argument("--device", default="cuda", help="cuda (cpu: a smoke test of this script)")
    a = ap.parse_args()
    variants = a.variants.split(",")
    for v in variants:
        if v not in VARIANTS:
            sys.exit(f"unknown variant '{v}' (expected {', '.join(VARIANTS)})")
    dev = torch.device(a.device)
    d = Data(find_cache(a.cache), dev)
    failed = 0
    for v in variants:  # one process: the data is uploaded once, torch imported once
        try:
            print(json.dumps(run(a, v, d, dev)), flush=True)
        except Exception as e:  # noqa: BLE001  (a variant's failure is reported, the rest run)
            failed += 1
            print(f"variant {v} failed: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
        if dev.type == "cuda":
            torch.cuda.empty_cache()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
