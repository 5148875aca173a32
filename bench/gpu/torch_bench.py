#!/usr/bin/env python3
"""PyTorch baseline for bench/gpu: the same MLP, data and number of steps as greentrain.

Fashion-MNIST is loaded once and kept on the GPU as uint8; each step gathers a shuffled batch,
normalises and casts it on the GPU, runs forward, softmax cross-entropy, backward and Adam
(lr 1e-3, eps 1e-7, as greentrain). Modes: eager (torch.optim.Adam defaults), and compile
(torch.compile(mode="reduce-overhead") on the model, fused Adam). Precisions: fp32 (TF32 off),
tf32, fp16 (autocast + GradScaler), bf16 (autocast). 20 warm-up steps run first (for compile:
its compilation and graph recording); the weights and optimizer are then reset, so the timed
loop is a fresh training run. GPU energy of the timed loop from NVML's total-energy counter.
Prints one JSON object."""
import argparse, ctypes, gzip, json, os, time

import numpy as np
import torch


def load(dir, prefix):
    with gzip.open(os.path.join(dir, f"{prefix}-images-idx3-ubyte.gz")) as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784)
    with gzip.open(os.path.join(dir, f"{prefix}-labels-idx1-ubyte.gz")) as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)
    return torch.from_numpy(images.copy()), torch.from_numpy(labels.astype(np.int64))


class Nvml:
    def __init__(self, index=0):
        self.dev = None
        try:
            self.lib = ctypes.CDLL("libnvidia-ml.so.1")
            if self.lib.nvmlInit_v2() == 0:
                dev = ctypes.c_void_p()
                if self.lib.nvmlDeviceGetHandleByIndex_v2(index, ctypes.byref(dev)) == 0:
                    self.dev = dev
        except OSError:
            pass

    def joules(self):
        if self.dev is None:
            return None
        mj = ctypes.c_ulonglong()
        if self.lib.nvmlDeviceGetTotalEnergyConsumption(self.dev, ctypes.byref(mj)) != 0:
            return None
        return mj.value / 1000.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", default=os.environ.get("GREENTRAIN_DATA", "/usr/share/datasets/fashion-mnist"))
    ap.add_argument("--hidden", default="128")
    ap.add_argument("--precision", default="fp32", choices=["fp32", "tf32", "fp16", "bf16"])
    ap.add_argument("--mode", default="eager", choices=["eager", "compile"])
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()

    torch.manual_seed(a.seed)
    dev = torch.device("cuda")
    torch.backends.cuda.matmul.allow_tf32 = a.precision == "tf32"
    torch.backends.cudnn.allow_tf32 = a.precision == "tf32"
    xs, ys = load(a.data_dir, "train")
    xt, yt = load(a.data_dir, "t10k")
    xs, ys, xt, yt = xs.to(dev), ys.to(dev), xt.to(dev), yt.to(dev)
    rows = xs.shape[0]
    dims = [784] + [int(h) for h in a.hidden.split(",")] + [10]
    layers = []
    for i in range(len(dims) - 1):
        lin = torch.nn.Linear(dims[i], dims[i + 1])
        torch.nn.init.xavier_uniform_(lin.weight)
        torch.nn.init.zeros_(lin.bias)
        layers += [lin, torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1]).to(dev)
    initial = {k: v.clone() for k, v in model.state_dict().items()}
    amp_dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(a.precision)
    fused = a.mode == "compile"
    net = torch.compile(model, mode="reduce-overhead") if a.mode == "compile" else model

    def make_opt():
        return torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7, fused=fused or None)

    opt = make_opt()
    scaler = torch.amp.GradScaler("cuda", enabled=a.precision == "fp16")
    loss_fn = torch.nn.CrossEntropyLoss()

    def step(idx):
        x = xs[idx].float().div_(255.0)
        y = ys[idx]
        with torch.autocast("cuda", dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None):
            logits = net(x)
        loss = loss_fn(logits.float(), y)
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        return loss

    b = a.batch_size
    warm = torch.randperm(rows, device=dev)
    for s in range(20):
        step(warm[(s * b) % (rows - b):(s * b) % (rows - b) + b])
    torch.cuda.synchronize()
    with torch.no_grad():
        for k, v in model.state_dict().items():
            v.copy_(initial[k])
    opt = make_opt()
    scaler = torch.amp.GradScaler("cuda", enabled=a.precision == "fp16")

    nvml = Nvml(0)
    e0 = nvml.joules()
    t0 = time.perf_counter()
    steps = 0
    for epoch in range(a.epochs):
        perm = torch.randperm(rows, device=dev)
        for s in range(0, rows, b):
            loss = step(perm[s:s + b])
            steps += 1
    torch.cuda.synchronize()
    t1 = time.perf_counter()
    e1 = nvml.joules()
    with torch.no_grad():
        model.eval()
        correct = 0
        for s in range(0, xt.shape[0], 1000):
            correct += (model(xt[s:s + 1000].float() / 255.0).argmax(1) == yt[s:s + 1000]).sum().item()
    flops_per_sample = sum(4 * dims[i] * dims[i + 1] + (2 * dims[i] * dims[i + 1] if i > 0 else 0)
                           for i in range(len(dims) - 1))
    train_s = t1 - t0
    out = dict(tool="pytorch " + torch.__version__, mode=a.mode, device=torch.cuda.get_device_name(0),
               model="mlp:" + a.hidden, precision=a.precision, batch_size=b, epochs=a.epochs,
               seed=a.seed, train_s=train_s, steps=steps, ms_per_step=1e3 * train_s / steps,
               tflops=flops_per_sample * rows * a.epochs / train_s / 1e12,
               final_loss=float(loss), test_accuracy=correct / xt.shape[0])
    if e0 is not None and e1 is not None:
        out["gpu_energy_j"] = e1 - e0
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
