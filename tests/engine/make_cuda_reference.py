#!/usr/bin/python3
"""Writes the float64 PyTorch reference that tests/engine/cuda_backend_test.cpp compares the CUDA
backend with: for each case below (an MLP, a batch size, an optimizer), a fixed batch of uint8
pixels and labels, the initial weights (Glorot uniform, bias 0.1 uniform), the logits, the mean
cross-entropy loss, every gradient, the losses of 10 optimizer steps (Adam betas 0.9/0.999 eps
1e-7, or SGD momentum 0.9) and the final weights. Each case's spec is written with its results,
so the C++ test reads its cases from this file. Written atomically (temporary name, then
rename); the engine_reference_cuda CTest fixture runs it once per test run.

usage: make_cuda_reference.py OUT.json
"""
import json
import os
import sys

try:
    import torch
except ImportError:
    sys.exit("make_cuda_reference.py: PyTorch is missing; install python3-torch")

CASES = [
    dict(name="mlp100-32-16_rows24_adam", inputs=100, hidden=[32, 16], classes=10, rows=24,
         seed=11, steps=10, optimizer="adam", lr=1e-3),
    dict(name="mlp784-128_rows32_adam", inputs=784, hidden=[128], classes=10, rows=32,
         seed=12, steps=10, optimizer="adam", lr=1e-3),
    dict(name="mlp64-200-130_rows70_sgd", inputs=64, hidden=[200, 130], classes=7, rows=70,
         seed=13, steps=10, optimizer="sgd", lr=1e-2),
]


def reference(cases):
    torch.set_default_dtype(torch.float64)
    out = []
    for c in cases:
        g = torch.Generator().manual_seed(c["seed"])
        rows, F, C = c["rows"], c["inputs"], c["classes"]
        u8 = torch.randint(0, 256, (rows, F), generator=g, dtype=torch.int64)
        labels = torch.randint(0, C, (rows,), generator=g)
        dims = [F] + c["hidden"] + [C]
        layers = []
        for i in range(len(dims) - 1):
            lim = (6.0 / (dims[i] + dims[i + 1])) ** 0.5
            W = (torch.rand(dims[i + 1], dims[i], generator=g) * 2 - 1) * lim
            b = (torch.rand(dims[i + 1], generator=g) * 2 - 1) * 0.1
            layers.append([W.requires_grad_(), b.requires_grad_()])
        x = u8.double() / 255.0
        def forward():
            h = x
            for i, (W, b) in enumerate(layers):
                h = h @ W.T + b
                if i < len(layers) - 1:
                    h = torch.relu(h)
            return h
        dump = lambda: [[W.detach().flatten().tolist(), b.detach().tolist()] for W, b in layers]
        init = dump()
        logits = forward()
        loss = torch.nn.functional.cross_entropy(logits, labels)
        loss.backward()
        grads = [[W.grad.flatten().tolist(), b.grad.tolist()] for W, b in layers]
        params = [p for layer in layers for p in layer]
        if c["optimizer"] == "adam":
            opt = torch.optim.Adam(params, lr=c["lr"], betas=(0.9, 0.999), eps=1e-7)
        else:
            opt = torch.optim.SGD(params, lr=c["lr"], momentum=0.9)
        losses = []
        for s in range(c["steps"]):
            opt.zero_grad()
            l = torch.nn.functional.cross_entropy(forward(), labels)
            losses.append(l.item())
            l.backward()
            opt.step()
        out.append(dict(case=c, u8=u8.flatten().tolist(), labels=labels.tolist(), init=init,
                        logits=logits.detach().flatten().tolist(), loss=loss.item(), grads=grads,
                        losses=losses, final=dump()))
    return out


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    path = sys.argv[1]
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        json.dump(reference(CASES), f)
    os.replace(tmp, path)


if __name__ == "__main__":
    main()
