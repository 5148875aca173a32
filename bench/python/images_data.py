"""What the framework device scripts share: Fashion-MNIST-shaped training data (the real files
when a folder holds them, train-images-idx3-ubyte.gz and train-labels-idx1-ubyte.gz, else
synthetic 28x28 images whose class is a bright row, so a model's accuracy rises and nothing
needs downloading), their command line, and the small CNN both train."""
import argparse
import gzip
import os

import numpy as np
import torch


def fashion_mnist(data_dir, n):
    path = os.path.join(data_dir or "", "train-images-idx3-ubyte.gz")
    if data_dir and os.path.exists(path):
        with gzip.open(path) as f:
            x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)[:n]
        with gzip.open(os.path.join(data_dir, "train-labels-idx1-ubyte.gz")) as f:
            y = np.frombuffer(f.read(), np.uint8, offset=8)[:n]
        return torch.tensor(x, dtype=torch.float32) / 255, torch.tensor(y, dtype=torch.long)
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 10, (n,), generator=g)
    x = torch.rand(n, 1, 28, 28, generator=g) * 0.3
    x[torch.arange(n), 0, y * 2 + 4, :] = 1.0  # the class is a bright row
    return x, y


def small_cnn():
    """Two convolutions and two linear layers: 28x28x1 images to 10 logits."""
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(32, 64, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(64 * 7 * 7, 128), torch.nn.ReLU(),
        torch.nn.Linear(128, 10))


def command_line(description):
    """--out, --epochs, --samples, --data-dir parsed, and the data split 90/10: returns the
    arguments, (x_train, y_train) and (x_val, y_val)."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--out", required=True, help="the JSON file of the run's windows")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--samples", type=int, default=20000)
    p.add_argument("--data-dir", default=os.environ.get("GREENTRAIN_DATA"))
    a = p.parse_args()
    x, y = fashion_mnist(a.data_dir, a.samples)
    split = int(0.9 * len(x))
    return a, (x[:split], y[:split]), (x[split:], y[split:])
