#!/usr/bin/python3
"""PyTorch CPU side of the CPU benchmark: trains Flatten -> Linear(784,128)+ReLU -> Linear(128,10)
on Fashion-MNIST with Adam (lr 1e-3, eps 1e-7) for the given number of steps at a batch size,
data pre-loaded as float32 tensors (no DataLoader), and prints samples/s as JSON.
usage: torch_mlp.py --batch-size 32 --steps 3000 [--threads N]
"""
import argparse, gzip, json, os, time
import numpy as np
import torch

ap = argparse.ArgumentParser()
ap.add_argument("--batch-size", type=int, default=32)
ap.add_argument("--steps", type=int, default=3000)
ap.add_argument("--threads", type=int, default=os.cpu_count())
ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
a = ap.parse_args()
torch.set_num_threads(a.threads)
with gzip.open(f"{a.data}/train-images-idx3-ubyte.gz") as f:
    x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784).astype(np.float32) / 255
with gzip.open(f"{a.data}/train-labels-idx1-ubyte.gz") as f:
    y = np.frombuffer(f.read(), np.uint8, offset=8).astype(np.int64)
x, y = torch.from_numpy(x), torch.from_numpy(y)
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
n = x.shape[0]
perm = torch.randperm(n)

def run(steps):
    for s in range(steps):
        i = (s * a.batch_size) % (n - a.batch_size)
        idx = perm[i:i + a.batch_size]
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
        loss.backward()
        opt.step()

run(min(200, a.steps))  # warm-up
t0 = time.perf_counter()
run(a.steps)
dt = time.perf_counter() - t0
print(json.dumps({"framework": f"torch {torch.__version__}", "threads": a.threads,
                  "batch_size": a.batch_size, "steps": a.steps, "seconds": dt,
                  "samples_per_s": a.steps * a.batch_size / dt}))
