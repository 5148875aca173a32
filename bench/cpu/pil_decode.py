#!/usr/bin/python3
"""PIL side of the decode benchmark: decodes every training image of an image folder
(DIR/train/<class>/*) as torchvision's ImageFolder + Resize would (Image.open, convert("RGB"),
resize to SIZE x SIZE with BILINEAR when the size differs), in one process, and prints images/s
(wall and CPU time) as JSON. JPEG draft mode (PIL's DCT scaling) is used when shrinking, as greentrain does.
usage: pil_decode.py DIR --size N [--limit K]
"""
import argparse, json, os, time
from PIL import Image

ap = argparse.ArgumentParser()
ap.add_argument("dir")
ap.add_argument("--size", type=int, required=True)
ap.add_argument("--limit", type=int, default=20000)
a = ap.parse_args()
files = []
train = os.path.join(a.dir, "train")
for cls in sorted(os.listdir(train)):
    for name in sorted(os.listdir(os.path.join(train, cls))):
        files.append(os.path.join(train, cls, name))
files = files[: a.limit]
start, cpu = time.perf_counter(), time.process_time()
for path in files:
    with Image.open(path) as im:
        if im.size != (a.size, a.size):
            im.draft("RGB", (a.size, a.size))
        im = im.convert("RGB")
        if im.size != (a.size, a.size):
            im = im.resize((a.size, a.size), Image.BILINEAR)
        im.tobytes()
wall, cpu = time.perf_counter() - start, time.process_time() - cpu
print(json.dumps({"framework": "PIL " + Image.__version__, "tree": os.path.basename(a.dir),
                  "size": a.size, "threads": 1, "images": len(files), "wall_s": round(wall, 2),
                  "cpu_s": round(cpu, 2), "images_per_s": round(len(files) / wall),
                  "images_per_cpu_s": round(len(files) / cpu)}))
