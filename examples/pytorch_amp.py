#!/usr/bin/env python3
"""A real PyTorch training script metered with greentrain's Python package: an MLP on
Fashion-MNIST in fp32, bf16 or fp16 (torch.autocast, and a GradScaler for fp16), one energy
window per epoch, one around the whole training (standalone) and one around the evaluation,
and the test accuracy as a metric.

The same code runs standalone (greentrain's meter is started for it) and under `greentrain
measure` or as an experiment's command workload (examples/pytorch.toml), where the windows also
become the run's phases (`setup`, `train` with an `epoch` sub-phase per epoch, `eval`) and each
epoch's loss is stored with that epoch; in both it prints every window's energy.

    PYTHONPATH=python python3 examples/pytorch_amp.py --precision bf16 --epochs 3
    greentrain measure --json run.json -- python3 examples/pytorch_amp.py --precision fp16

Small by default (a few seconds per epoch on two CPU cores); --train-samples 0 uses all
60 000 training images."""
import argparse
import contextlib
import gzip
import json
import os
import sys
import time

import numpy as np
import torch

try:
    import greentrain
except ImportError:  # run from the source tree without PYTHONPATH
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
    import greentrain

DTYPES = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


def read_idx(path):
    """An IDX file (gzip-compressed or not) as a numpy array."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_split(data_dir, prefix):
    for ext in (".gz", ""):
        images = os.path.join(data_dir, f"{prefix}-images-idx3-ubyte{ext}")
        labels = os.path.join(data_dir, f"{prefix}-labels-idx1-ubyte{ext}")
        if os.path.exists(images) and os.path.exists(labels):
            x = torch.from_numpy(read_idx(images).reshape(-1, 784).astype(np.float32) / 255.0)
            y = torch.from_numpy(read_idx(labels).astype(np.int64))
            return x, y
    sys.exit(f"pytorch_amp.py: no Fashion-MNIST '{prefix}' files in {data_dir} "
             "(give --data-dir)")


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--precision", choices=sorted(DTYPES), default="fp32")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--neurons", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    p.add_argument("--train-samples", type=int, default=10000,
                   help="training images used (0 = all 60 000)")
    p.add_argument("--data-dir", default=os.environ.get("GREENTRAIN_DATA",
                                                        "/usr/share/datasets/fashion-mnist"))
    p.add_argument("--country", default=None, help="carbon intensity (standalone meter)")
    p.add_argument("--json", default=None, help="write every window's figures to this file")
    a = p.parse_args()
    if a.epochs < 1 or a.batch_size < 1 or a.neurons < 1 or a.train_samples < 0:
        p.error("--epochs, --batch-size and --neurons must be positive")
    return a


def main():
    a = parse_args()
    torch.manual_seed(a.seed)
    device = torch.device(("cuda" if torch.cuda.is_available() else "cpu")
                          if a.device == "auto" else a.device)
    dtype = DTYPES[a.precision]
    if device.type == "cpu" and a.precision == "fp16":
        sys.exit("pytorch_amp.py: fp16 autocast needs a GPU; use bf16 or fp32 on the CPU")
    sync = torch.cuda.synchronize if device.type == "cuda" else None

    meter = greentrain.Meter(country=a.country, sync=sync)
    greentrain.set_default_meter(meter)
    windows = []

    with greentrain.window("setup") as setup:
        x_train, y_train = load_split(a.data_dir, "train")
        x_test, y_test = load_split(a.data_dir, "t10k")
        if a.train_samples:
            x_train, y_train = x_train[:a.train_samples], y_train[:a.train_samples]
        x_train, y_train = x_train.to(device), y_train.to(device)
        x_test, y_test = x_test.to(device), y_test.to(device)
        model = torch.nn.Sequential(torch.nn.Linear(784, a.neurons), torch.nn.ReLU(),
                                    torch.nn.Linear(a.neurons, 10)).to(device)
        opt = torch.optim.Adam(model.parameters(), lr=a.lr)
        use_scaler = a.precision == "fp16"
        if hasattr(torch, "amp") and hasattr(torch.amp, "GradScaler"):
            scaler = torch.amp.GradScaler(device.type, enabled=use_scaler)
        else:
            scaler = torch.cuda.amp.GradScaler(enabled=use_scaler)
        loss_fn = torch.nn.CrossEntropyLoss()
    windows.append(setup.result)

    def autocast():
        if dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device.type, dtype=dtype)

    n = x_train.shape[0]
    loss = torch.zeros((), device=device)
    meter.begin_window("train")
    for epoch in range(a.epochs):
        meter.begin_window("epoch")
        t0 = time.perf_counter()
        order = torch.randperm(n, device=device)
        for i in range(0, n, a.batch_size):
            idx = order[i:i + a.batch_size]
            with autocast():
                loss = loss_fn(model(x_train[idx]), y_train[idx])
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
        greentrain.metric("epoch_loss", loss.item())  # stored with this epoch
        m = meter.end_window("epoch")
        windows.append(m)
        print(f"epoch {epoch + 1}/{a.epochs}: loss {loss.item():.4f}, "
              f"{time.perf_counter() - t0:.2f} s", flush=True)
    windows.append(meter.end_window("train"))

    with greentrain.window("eval") as ev, torch.no_grad(), autocast():
        correct = (model(x_test).argmax(1) == y_test).sum().item()
    windows.append(ev.result)
    accuracy = correct / y_test.shape[0]
    greentrain.metric("test_accuracy", accuracy)
    greentrain.metric("final_loss", loss.item())

    print(f"test accuracy {accuracy:.4f} ({a.precision}, {device})")
    # Any runner that reads only stdout still finds the metrics in these lines.
    print(f"greentrain-metric test_accuracy={accuracy}")
    print(f"greentrain-metric final_loss={loss.item()}")
    for w in windows:
        parts = ", ".join(f"{k} {v:.3f} J" for k, v in w.components.items())
        print(f"  {w.path:11s} {w.duration_s:8.3f} s {w.energy_j:10.3f} J "
              f"{w.co2e_g:.4f} gCO2e  ({parts})")
    estimated = sorted(k for k, s in windows[-1].sources.items() if s.startswith("estimated"))
    if estimated:
        print(f"  estimated (no counter on this machine): {', '.join(estimated)}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"precision": a.precision, "device": str(device),
                       "test_accuracy": accuracy, "in_metered_run": meter.in_metered_run,
                       "windows": [w.to_dict() for w in windows]}, f, indent=1)
    meter.close()


if __name__ == "__main__":
    main()
