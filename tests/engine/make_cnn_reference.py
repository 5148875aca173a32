#!/usr/bin/python3
"""Writes the PyTorch reference state of a small convolutional network that
tests/engine/cnn_reference_test.cpp compares the CPU backend against, as JSON.

The network is greentrain's `cnn:F1,F2/H` (docs/models.md): per filter count a block
Conv2d(3x3, stride 1, padding 1, no bias) -> BatchNorm2d(eps 1e-5, momentum 0.1) -> ReLU ->
MaxPool2d(2), then global average pooling -> Linear(H) -> ReLU -> Linear(classes). Tensors are
written by greentrain's slot names and layouts: convolution kernels OHWI (torch's OIHW permuted),
Linear weights [out][in], BatchNorm's gamma/beta/running_mean/running_var; inputs NHWC.

Written: a fixed batch (FP32 NHWC features + labels), the initial tensors (biases, gamma, beta
and the running statistics perturbed from their defaults so every path matters), the
training-mode logits and mean softmax cross-entropy with every gradient (running statistics
restored afterwards: greentrain's debug_step leaves them), the losses of K Adam steps (lr 1e-3,
betas (0.9, 0.999), eps 1e-7; each step's forward moves the running statistics), every tensor
after them (running statistics included), and the evaluation-mode loss after the steps.
Then whole epochs: from the same initial tensors, E epochs over a training set of N rows in
mini-batches of B (the last one partial), each epoch in the order greentrain's CPU backend
draws (engine/model.h: a Fisher-Yates pass over std::mt19937_64 seeded from the run's seed and
the epoch), and every tensor after them.
Everything float32, torch CPU, deterministic. The file is written to a temporary name beside
OUT and renamed. The engine_reference_cnn CTest fixture runs it once per test run.

usage: make_cnn_reference.py OUT.json [--filters 4,6 --head 8 --size 9 --channels 2
                                       --classes 5 --rows 6 --steps 10 --seed 1
                                       --epoch-rows 100 --epoch-batch 16 --epochs 2
                                       --run-seed 7]
"""
import argparse
import copy
import json
import sys

try:
    import torch
except ImportError:
    sys.exit("make_cnn_reference.py: PyTorch is missing; install python3-torch")

from make_reference import write_atomically


class Cnn(torch.nn.Module):
    def __init__(self, channels, filters, head, classes):
        super().__init__()
        self.blocks = torch.nn.ModuleList()
        c = channels
        for f in filters:
            self.blocks.append(torch.nn.ModuleDict({
                "conv": torch.nn.Conv2d(c, f, 3, padding=1, bias=False),
                "bn": torch.nn.BatchNorm2d(f, eps=1e-5, momentum=0.1)}))
            c = f
        self.dense = torch.nn.ModuleList()
        for h in head:
            self.dense.append(torch.nn.Linear(c, h))
            c = h
        self.dense.append(torch.nn.Linear(c, classes))

    def forward(self, x_nhwc):
        x = x_nhwc.permute(0, 3, 1, 2)
        for b in self.blocks:
            x = torch.nn.functional.max_pool2d(torch.relu(b["bn"](b["conv"](x))), 2)
        x = x.mean(dim=(2, 3))
        for i, d in enumerate(self.dense):
            x = d(x)
            if i + 1 < len(self.dense):
                x = torch.relu(x)
        return x

    def named_tensors(self):
        """greentrain's slot names -> tensors in greentrain's layouts."""
        out = {}
        for i, b in enumerate(self.blocks, 1):
            out[f"conv{i}.weight"] = b["conv"].weight.permute(0, 2, 3, 1)
            out[f"bn{i}.gamma"] = b["bn"].weight
            out[f"bn{i}.beta"] = b["bn"].bias
            out[f"bn{i}.running_mean"] = b["bn"].running_mean
            out[f"bn{i}.running_var"] = b["bn"].running_var
        for i, d in enumerate(self.dense, 1):
            out[f"dense{i}.weight"] = d.weight
            out[f"dense{i}.bias"] = d.bias
        return out

    def named_grads(self):
        out = {}
        for i, b in enumerate(self.blocks, 1):
            out[f"conv{i}.weight"] = b["conv"].weight.grad.permute(0, 2, 3, 1)
            out[f"bn{i}.gamma"] = b["bn"].weight.grad
            out[f"bn{i}.beta"] = b["bn"].bias.grad
        for i, d in enumerate(self.dense, 1):
            out[f"dense{i}.weight"] = d.weight.grad
            out[f"dense{i}.bias"] = d.bias.grad
        return out


class Mt19937_64:
    """std::mt19937_64 (the C++ standard's 64-bit Mersenne Twister), bit for bit."""
    MASK = (1 << 64) - 1

    def __init__(self, seed):
        self.mt = [seed & self.MASK]
        for i in range(1, 312):
            prev = self.mt[-1]
            self.mt.append((6364136223846793005 * (prev ^ (prev >> 62)) + i) & self.MASK)
        self.index = 312

    def __call__(self):
        if self.index == 312:
            mt = self.mt
            for k in range(312):
                x = (mt[k] & 0xFFFFFFFF80000000) | (mt[(k + 1) % 312] & 0x7FFFFFFF)
                mt[k] = mt[(k + 156) % 312] ^ (x >> 1) ^ (0xB5026F5AA96619E9 if x & 1 else 0)
            self.index = 0
        y = self.mt[self.index]
        self.index += 1
        y ^= (y >> 29) & 0x5555555555555555
        y ^= (y << 17) & 0x71D67FFFEDA60000
        y ^= (y << 37) & 0xFFF7EEE000000000
        return (y ^ (y >> 43)) & self.MASK


def epoch_order(rows, seed, epoch):
    """greentrain's engine::epoch_order: the rows of one epoch, shuffled."""
    order = list(range(rows))
    rng = Mt19937_64((seed * 0x9E3779B97F4A7C15 + epoch + 1) & Mt19937_64.MASK)
    for i in range(rows - 1, 0, -1):
        j = rng() % (i + 1)
        order[i], order[j] = order[j], order[i]
    return order


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--filters", default="4,6")
    ap.add_argument("--head", default="8")
    ap.add_argument("--size", type=int, default=9)
    ap.add_argument("--channels", type=int, default=2)
    ap.add_argument("--classes", type=int, default=5)
    ap.add_argument("--rows", type=int, default=6)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--epoch-rows", type=int, default=100)
    ap.add_argument("--epoch-batch", type=int, default=16)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--run-seed", type=int, default=7)
    a = ap.parse_args()

    torch.manual_seed(a.seed)
    torch.set_num_threads(1)
    filters = [int(f) for f in a.filters.split(",")]
    head = [int(h) for h in a.head.split(",")]
    model = Cnn(a.channels, filters, head, a.classes)
    with torch.no_grad():
        for b in model.blocks:
            b["bn"].weight.uniform_(0.8, 1.2)
            b["bn"].bias.uniform_(-0.1, 0.1)
            b["bn"].running_mean.uniform_(-0.2, 0.2)
            b["bn"].running_var.uniform_(0.5, 1.5)
        for d in model.dense:
            d.bias.uniform_(-0.1, 0.1)
    model.train()

    x = torch.rand(a.rows, a.size, a.size, a.channels, dtype=torch.float32)
    y = torch.randint(0, a.classes, (a.rows,))
    initial = {k: flat(v) for k, v in model.named_tensors().items()}
    start = copy.deepcopy(model)

    # One training-mode forward and backward on a copy: the running statistics stay as they are.
    probe = copy.deepcopy(model)
    logits = probe(x)
    loss = torch.nn.functional.cross_entropy(logits, y)
    loss.backward()
    grads = {k: flat(v) for k, v in probe.named_grads().items()}

    opt = torch.optim.Adam(model.parameters(), lr=a.lr, betas=(0.9, 0.999), eps=1e-7)
    losses = []
    for _ in range(a.steps):
        opt.zero_grad()
        step_loss = torch.nn.functional.cross_entropy(model(x), y)
        losses.append(step_loss.item())
        step_loss.backward()
        opt.step()
    final = {k: flat(v) for k, v in model.named_tensors().items()}
    model.eval()
    with torch.no_grad():
        eval_loss = torch.nn.functional.cross_entropy(model(x), y).item()

    # Whole epochs from the same initial tensors, in greentrain's CPU batch order.
    ex = torch.rand(a.epoch_rows, a.size, a.size, a.channels, dtype=torch.float32)
    ey = torch.randint(0, a.classes, (a.epoch_rows,))
    runner = start
    opt = torch.optim.Adam(runner.parameters(), lr=a.lr, betas=(0.9, 0.999), eps=1e-7)
    epoch_losses = []
    for epoch in range(a.epochs):
        order = torch.tensor(epoch_order(a.epoch_rows, a.run_seed, epoch))
        losses_of_epoch = []
        for first in range(0, a.epoch_rows, a.epoch_batch):
            rows = order[first:first + a.epoch_batch]
            opt.zero_grad()
            step_loss = torch.nn.functional.cross_entropy(runner(ex[rows]), ey[rows])
            losses_of_epoch.append(step_loss.item())
            step_loss.backward()
            opt.step()
        epoch_losses.append(sum(losses_of_epoch) / len(losses_of_epoch))
    epochs = {"rows": a.epoch_rows, "batch": a.epoch_batch, "seed": a.run_seed,
              "x": flat(ex), "labels": [int(v) for v in ey.tolist()], "losses": epoch_losses,
              "final": {k: flat(v) for k, v in runner.named_tensors().items()}}

    out = {
        "torch_version": torch.__version__,
        "model": f"cnn:{a.filters}/{a.head}",
        "height": a.size, "width": a.size, "channels": a.channels, "classes": a.classes,
        "rows": a.rows, "lr": a.lr, "beta1": 0.9, "beta2": 0.999, "eps": 1e-7,
        "x": flat(x), "labels": [int(v) for v in y.tolist()],
        "initial": initial, "logits": flat(logits), "loss": loss.item(), "grads": grads,
        "adam_losses": losses, "final": final, "eval_loss": eval_loss, "epochs": epochs,
    }
    write_atomically(a.out, out)


if __name__ == "__main__":
    main()
