#!/usr/bin/env python3
"""Writes a synthetic image folder of the study's size class for bench/gpu/run_cnn_bench.sh:
OUT/train/<class>/<n>.png and OUT/test/<class>/<n>.png, SIZE×SIZE RGB, CLASSES classes (525, as
BIRDS-525). Class k is a 2-D sinusoid whose frequencies, orientation and colours follow from k;
each image shifts its phase, jitters its brightness and adds noise, all from a seeded generator,
so the folder is the same on every machine and a CNN can learn it. PNGs are written with the
standard library's zlib (level 1) on every core; no imaging package is needed.

usage: cnn_synthetic_tree.py OUT [--classes 525 --train 10 --test 2 --size 224 --seed 1]
"""
import argparse
import multiprocessing
import os
import struct
import sys
import zlib

import numpy as np


def png(path, rgb):
    h, w, _ = rgb.shape
    raw = np.zeros((h, w * 3 + 1), np.uint8)  # filter byte 0 per row
    raw[:, 1:] = rgb.reshape(h, w * 3)

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)))
        f.write(chunk(b"IDAT", zlib.compress(raw.tobytes(), 1)))
        f.write(chunk(b"IEND", b""))


def image(k, n, size, seed):
    rng = np.random.default_rng([seed, k, n])
    cls = np.random.default_rng([seed, k])
    fx, fy = cls.uniform(1, 8, 2)
    angle = cls.uniform(0, np.pi)
    colours = cls.uniform(40, 215, (2, 3))
    yy, xx = np.mgrid[0:size, 0:size] / size
    u = np.cos(angle) * xx + np.sin(angle) * yy
    v = -np.sin(angle) * xx + np.cos(angle) * yy
    wave = 0.5 + 0.5 * np.sin(2 * np.pi * (fx * u + fy * v) + rng.uniform(0, 2 * np.pi))
    rgb = colours[0] + (colours[1] - colours[0]) * wave[..., None]
    rgb = rgb * rng.uniform(0.85, 1.15) + rng.normal(0, 12, (size, size, 3))
    return np.clip(rgb, 0, 255).astype(np.uint8)


def write_class(args):
    out, k, train, test, size, seed = args
    for split, count, first in (("train", train, 0), ("test", test, train)):
        folder = os.path.join(out, split, f"class{k:03d}")
        os.makedirs(folder, exist_ok=True)
        for n in range(count):
            png(os.path.join(folder, f"{n}.png"), image(k, first + n, size, seed))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--classes", type=int, default=525)
    ap.add_argument("--train", type=int, default=10, help="images per class in train/")
    ap.add_argument("--test", type=int, default=2, help="images per class in test/")
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    if os.path.exists(a.out) and os.listdir(a.out):
        sys.exit(f"{a.out} exists and is not empty")
    jobs = [(a.out, k, a.train, a.test, a.size, a.seed) for k in range(a.classes)]
    with multiprocessing.Pool() as pool:
        pool.map(write_class, jobs, chunksize=4)
    print(f"wrote {a.classes * (a.train + a.test)} images of {a.classes} classes "
          f"({a.size}x{a.size} RGB) to {a.out}")


if __name__ == "__main__":
    main()
