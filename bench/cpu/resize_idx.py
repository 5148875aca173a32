#!/usr/bin/python3
"""Writes Fashion-MNIST (or any MNIST-layout IDX set) resized to SIZE x SIZE as a new IDX
folder that `greentrain train --data mnist:OUT` reads, so the CPU benchmark and the accuracy
run can train the image-folder network (32x32) on the IDX data. Bilinear resize (torch's
interpolate, align_corners False), rounded to uint8; optionally only the first N training rows.
usage: resize_idx.py OUT_DIR [--size 32] [--train-rows N] [--data /usr/share/datasets/fashion-mnist]
"""
import argparse
import gzip
import os
import struct

import numpy as np
import torch


def read_idx(path):
    with gzip.open(path) if path.endswith(".gz") else open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    dims = struct.unpack(">" + "I" * (magic & 0xFF), data[4:4 + 4 * (magic & 0xFF)])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * len(dims)).reshape(dims)


def write_idx(path, array):
    with open(path, "wb") as f:
        f.write(struct.pack(">I", 0x0800 | array.ndim))
        f.write(struct.pack(">" + "I" * array.ndim, *array.shape))
        f.write(np.ascontiguousarray(array, np.uint8).tobytes())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--train-rows", type=int, default=0)
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    for split in ("train", "t10k"):
        images = read_idx(f"{a.data}/{split}-images-idx3-ubyte.gz")
        labels = read_idx(f"{a.data}/{split}-labels-idx1-ubyte.gz")
        if split == "train" and a.train_rows:
            images, labels = images[:a.train_rows], labels[:a.train_rows]
        x = torch.from_numpy(images.astype(np.float32))[:, None]
        x = torch.nn.functional.interpolate(x, size=(a.size, a.size), mode="bilinear",
                                            align_corners=False)
        resized = x[:, 0].round().clamp(0, 255).to(torch.uint8).numpy()
        write_idx(f"{a.out}/{split}-images-idx3-ubyte", resized)
        write_idx(f"{a.out}/{split}-labels-idx1-ubyte", labels)


if __name__ == "__main__":
    main()
