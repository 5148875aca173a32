#!/usr/bin/python3
"""PyTorch CPU side of the CNN benchmark and accuracy run: greentrain's cnn:F1,F2,…/H
(docs/models.md: per filter count Conv2d 3x3 'same' without bias -> BatchNorm2d -> ReLU ->
MaxPool2d(2); global average pooling -> Linear(H) -> ReLU -> Linear(10)) with the same
initialisation rules (He-uniform convolutions, Glorot-uniform Linear, zero biases), Adam
(lr 1e-3, eps 1e-7), FP32, on an MNIST-layout IDX folder (bench/cpu/resize_idx.py writes the
32x32 one), pixels / 255, data pre-loaded as float32 tensors (no DataLoader).
  --steps N:   N optimizer steps after 20 warm-up steps; prints samples/s (JSON)
  --epochs E:  E shuffled epochs, then test accuracy; prints per-epoch seconds and accuracy
--channels-last runs the model and its inputs in NHWC memory format (oneDNN's fast layout).
usage: torch_cnn.py --data DIR [--filters 32,64,128] [--head 128] [--batch-size 32]
                    [--threads N] [--steps N | --epochs E] [--channels-last] [--seed 1]
"""
import argparse
import json
import math
import os
import time

import numpy as np
import torch

from resize_idx import read_idx


def idx_file(folder, stem):
    path = f"{folder}/{stem}"
    return path if os.path.exists(path) else path + ".gz"


def load(folder, split):
    x = read_idx(idx_file(folder, f"{split}-images-idx3-ubyte")).astype(np.float32) / 255.0
    y = read_idx(idx_file(folder, f"{split}-labels-idx1-ubyte")).astype(np.int64)
    return torch.from_numpy(x[:, None]), torch.from_numpy(y)


def make_model(filters, head, classes):
    layers, c = [], 1
    for f in filters:
        conv = torch.nn.Conv2d(c, f, 3, padding=1, bias=False)
        bound = math.sqrt(6.0 / (9 * c))  # He-uniform
        torch.nn.init.uniform_(conv.weight, -bound, bound)
        layers += [conv, torch.nn.BatchNorm2d(f), torch.nn.ReLU(), torch.nn.MaxPool2d(2)]
        c = f
    layers += [torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten()]
    for h in head + [classes]:
        lin = torch.nn.Linear(c, h)
        torch.nn.init.xavier_uniform_(lin.weight)
        torch.nn.init.zeros_(lin.bias)
        layers += [lin, torch.nn.ReLU()]
        c = h
    return torch.nn.Sequential(*layers[:-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--filters", default="32,64,128")
    ap.add_argument("--head", default="128")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--steps", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=0)
    ap.add_argument("--channels-last", action="store_true")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    fmt = torch.channels_last if a.channels_last else torch.contiguous_format
    x, y = load(a.data, "train")
    x = x.contiguous(memory_format=fmt)
    model = make_model([int(f) for f in a.filters.split(",")],
                       [int(h) for h in a.head.split(",")], 10).to(memory_format=fmt)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    n, b = x.shape[0], a.batch_size

    def step(idx):
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
        loss.backward()
        opt.step()
        return loss

    info = {"framework": f"torch {torch.__version__}", "threads": a.threads, "batch_size": b,
            "model": f"cnn:{a.filters}/{a.head}", "channels_last": a.channels_last,
            "image": list(x.shape[2:])}
    if a.steps:
        perm = torch.randperm(n)
        for s in range(20):
            step(perm[(s * b) % (n - b):][:b])
        t0 = time.perf_counter()
        for s in range(a.steps):
            i = (s * b) % (n - b)
            step(perm[i:i + b])
        dt = time.perf_counter() - t0
        info.update(steps=a.steps, seconds=dt, samples_per_s=a.steps * b / dt)
    if a.epochs:
        epochs = []
        for e in range(a.epochs):
            model.train()
            perm = torch.randperm(n)
            t0 = time.perf_counter()
            for i in range(0, n, b):
                loss = step(perm[i:i + b])
            epochs.append({"epoch": e + 1, "seconds": time.perf_counter() - t0,
                           "last_loss": loss.item()})
        model.eval()
        tx, ty = load(a.data, "t10k")
        tx = tx.contiguous(memory_format=fmt)
        with torch.no_grad():
            correct = sum(int((model(tx[i:i + 1000]).argmax(1) == ty[i:i + 1000]).sum())
                          for i in range(0, tx.shape[0], 1000))
        info.update(epochs=epochs, test_accuracy=correct / tx.shape[0],
                    samples_per_s=[n / e["seconds"] for e in epochs])
    print(json.dumps(info))


if __name__ == "__main__":
    main()
