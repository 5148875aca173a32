#!/usr/bin/python3
"""Writes the PyTorch reference state that tests/engine/reference_test.cpp (CPU backend) and
tests/engine/cuda_reference_test.cpp (CUDA backend) compare against, as JSON:
a fixed batch (FP32 features + labels), the initial weights of an MLP
(Flatten -> Linear+ReLU ... -> Linear, weights [out][in] as torch.nn.Linear), the logits, the
mean softmax cross-entropy loss, every parameter gradient, and the losses of K optimizer steps
(torch.optim.Adam lr 1e-3, betas (0.9, 0.999), eps 1e-7) on that batch, plus the parameters
after those steps. Everything is computed in float32 (torch CPU, deterministic). The file is
written to a temporary name beside OUT and renamed, so a reader never sees half of it. The
engine_reference CTest fixture runs it once per test run.

usage: make_reference.py OUT.json [--inputs 20 --hidden 16,12 --classes 5 --rows 8 --steps 10 --seed 1]
"""
import argparse
import json
import os
import sys

try:
    import torch
except ImportError:
    sys.exit("make_reference.py: PyTorch is missing; install python3-torch")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--inputs", type=int, default=20)
    ap.add_argument("--hidden", default="16,12")
    ap.add_argument("--classes", type=int, default=5)
    ap.add_argument("--rows", type=int, default=8)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--lr", type=float, default=1e-3)
    a = ap.parse_args()

    torch.manual_seed(a.seed)
    torch.set_num_threads(1)
    hidden = [int(h) for h in a.hidden.split(",")]
    sizes = [a.inputs] + hidden + [a.classes]
    layers = []
    for i in range(len(sizes) - 1):
        lin = torch.nn.Linear(sizes[i], sizes[i + 1])
        bound = (6.0 / (sizes[i] + sizes[i + 1])) ** 0.5  # Glorot uniform
        with torch.no_grad():
            lin.weight.uniform_(-bound, bound)
            lin.bias.uniform_(-0.1, 0.1)  # non-zero so bias paths are exercised
        layers.append(lin)
        if i + 2 < len(sizes):
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    linears = [m for m in model if isinstance(m, torch.nn.Linear)]

    x = torch.rand(a.rows, a.inputs, dtype=torch.float32)
    y = torch.randint(0, a.classes, (a.rows,))
    initial = [(l.weight.detach().clone(), l.bias.detach().clone()) for l in linears]

    logits = model(x)
    loss = torch.nn.functional.cross_entropy(logits, y)
    loss.backward()
    grads = [(l.weight.grad.detach().clone(), l.bias.grad.detach().clone()) for l in linears]

    opt = torch.optim.Adam(model.parameters(), lr=a.lr, betas=(0.9, 0.999), eps=1e-7)
    opt.zero_grad()
    losses = []
    for _ in range(a.steps):
        opt.zero_grad()
        step_loss = torch.nn.functional.cross_entropy(model(x), y)
        losses.append(step_loss.item())
        step_loss.backward()
        opt.step()

    flat = lambda t: [float(v) for v in t.reshape(-1).tolist()]
    out = {
        "torch_version": torch.__version__,
        "inputs": a.inputs, "hidden": hidden, "classes": a.classes, "rows": a.rows,
        "lr": a.lr, "beta1": 0.9, "beta2": 0.999, "eps": 1e-7,
        "x": flat(x), "labels": [int(v) for v in y.tolist()],
        "weights": [flat(w) for w, _ in initial], "biases": [flat(b) for _, b in initial],
        "logits": flat(logits.detach()), "loss": loss.item(),
        "grad_weights": [flat(w) for w, _ in grads], "grad_biases": [flat(b) for _, b in grads],
        "adam_losses": losses,
        "final_weights": [flat(l.weight.detach()) for l in linears],
        "final_biases": [flat(l.bias.detach()) for l in linears],
    }
    write_atomically(a.out, out)


def write_atomically(path, value):
    """Writes JSON to a temporary file in the same folder, then renames it over `path`."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        json.dump(value, f)
    os.replace(tmp, path)


if __name__ == "__main__":
    main()
