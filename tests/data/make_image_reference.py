#!/usr/bin/python3
"""Reference pixels for greentrain's image tests, made by independent code.

Writes into OUT (atomically: a temporary folder renamed at the end):
  images/      JPEG and PNG files written by PIL (RGB 4:2:0 and 4:4:4, grey, progressive JPEG;
               PNG RGB, grey, 1-bit, palette, grey+alpha, RGBA, 16-bit RGB)
  decode/      for each image, the pixels PIL decodes (full size, RGB and grey) and, for JPEG,
               PIL's DCT-scaled decode (Image.draft) at a smaller size
  resize/      random images and their resized references (numpy area averages, PyTorch
               bilinear interpolation with align_corners=False), in float64, unrounded
  tree/        an image folder (train/ and test/, two classes, JPEG and PNG of several sizes) and
               tree.rgb20: its training images as greentrain should cache them at 20x20 RGB
               (PIL decode with draft, then the reference resize, rounded half up)
  manifest.json  what is where
usage: make_image_reference.py OUT
"""
import json
import os
import shutil
import sys
import tempfile

import numpy as np
import torch
from PIL import Image


def smooth_image(rng, h, w, c):
    """A photo-like image: smooth gradients plus a little noise (JPEG-friendly)."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    planes = []
    for k in range(c):
        a, b, p = rng.uniform(0.05, 0.4, 3)
        plane = 127 + 80 * np.sin(a * x + p) * np.cos(b * y + k) + rng.normal(0, 6, (h, w))
        planes.append(plane)
    img = np.clip(np.stack(planes, axis=-1), 0, 255).astype(np.uint8)
    return img if c > 1 else img[:, :, 0]


def area_axis(a, axis, to):
    """Exact area averaging along one axis: repeat each pixel `to` times, average blocks of
    `from` (the covered lengths), independent of greentrain's weight computation."""
    n = a.shape[axis]
    r = np.repeat(a, to, axis=axis)
    shape = list(r.shape)
    shape[axis:axis + 1] = [to, n]
    return r.reshape(shape).mean(axis=axis + 1)


def bilinear_axis(a, axis, to):
    """PyTorch's bilinear interpolation (align_corners=False) along one axis."""
    t = torch.from_numpy(np.moveaxis(a, axis, -1).copy()).to(torch.float64)  # (..., n)
    lead = t.shape[:-1]
    t = t.reshape(1, 1, -1, t.shape[-1])
    out = torch.nn.functional.interpolate(t, size=(t.shape[2], to), mode="bilinear",
                                          align_corners=False)
    out = out.reshape(*lead, to).numpy()
    return np.moveaxis(out, -1, axis)


def resize_reference(img, out_w, out_h):
    """HxWxC uint8 -> out_h x out_w x C float64: width first, then height."""
    a = img.astype(np.float64)
    for axis, to in ((1, out_w), (0, out_h)):
        n = a.shape[axis]
        if to < n:
            a = area_axis(a, axis, to)
        elif to > n:
            a = bilinear_axis(a, axis, to)
    return a


def write(path, array):
    np.ascontiguousarray(array).tofile(path)


def decoded(path, mode):
    with Image.open(path) as im:
        if im.format == "JPEG" and mode == "L":
            im.draft("L", im.size)  # the decoder's own luma, as TurboJPEG's TJPF_GRAY
        return np.asarray(im.convert(mode))


def draft_decoded(path, mode, min_w, min_h):
    with Image.open(path) as im:
        im.draft(mode, (min_w, min_h))
        return np.asarray(im.convert(mode))


def make(out):
    rng = np.random.default_rng(20)
    os.makedirs(os.path.join(out, "images"))
    os.makedirs(os.path.join(out, "decode"))
    os.makedirs(os.path.join(out, "resize"))
    manifest = {"decode": [], "resize": []}

    images = []  # (name, PIL image, save kwargs)
    images.append(("rgb420.jpg", Image.fromarray(smooth_image(rng, 48, 64, 3)),
                   dict(quality=90)))
    images.append(("rgb444.jpg", Image.fromarray(smooth_image(rng, 37, 53, 3)),
                   dict(quality=95, subsampling=0)))
    images.append(("progressive.jpg", Image.fromarray(smooth_image(rng, 40, 40, 3)),
                   dict(quality=85, progressive=True)))
    images.append(("grey.jpg", Image.fromarray(smooth_image(rng, 33, 45, 1), "L"),
                   dict(quality=90)))
    images.append(("rgb.png", Image.fromarray(smooth_image(rng, 30, 41, 3)), {}))
    images.append(("grey.png", Image.fromarray(smooth_image(rng, 29, 31, 1), "L"), {}))
    images.append(("bits1.png", Image.fromarray(smooth_image(rng, 17, 19, 1) > 127), {}))
    images.append(("palette.png", Image.fromarray(smooth_image(rng, 25, 27, 3)).convert(
        "P", palette=Image.Palette.ADAPTIVE, colors=16), {}))
    la = np.dstack([smooth_image(rng, 21, 23, 1), smooth_image(rng, 21, 23, 1)])
    images.append(("grey_alpha.png", Image.fromarray(la, "LA"), {}))
    images.append(("rgba.png", Image.fromarray(smooth_image(rng, 22, 26, 4), "RGBA"), {}))
    for name, im, kwargs in images:
        path = os.path.join(out, "images", name)
        im.save(path, **kwargs)
        entry = {"file": "images/" + name}
        with Image.open(path) as check:
            entry["width"], entry["height"] = check.size
            entry["colour"] = check.mode not in ("L", "LA", "1", "I;16")
        for mode, suffix in (("RGB", "rgb"), ("L", "grey")):
            write(os.path.join(out, "decode", name + "." + suffix), decoded(path, mode))
            entry[suffix] = "decode/" + name + "." + suffix
        if name.endswith(".jpg"):
            min_w, min_h = entry["width"] // 3, entry["height"] // 3
            scaled = draft_decoded(path, "RGB", min_w, min_h)
            write(os.path.join(out, "decode", name + ".scaled.rgb"), scaled)
            entry["scaled"] = {"min_width": min_w, "min_height": min_h,
                               "width": int(scaled.shape[1]), "height": int(scaled.shape[0]),
                               "rgb": "decode/" + name + ".scaled.rgb"}
        manifest["decode"].append(entry)

    # A 16-bit RGB PNG (PIL cannot write one: write_png16 builds it from zlib and CRCs); the
    # expected 8-bit image is each sample's high byte.
    rgb16 = (smooth_image(rng, 12, 14, 3).astype(np.uint16) << 8) | rng.integers(
        0, 256, (12, 14, 3), dtype=np.uint16)
    manifest["png16"] = write_png16(os.path.join(out, "images", "rgb16.png"), rgb16)
    write(os.path.join(out, "decode", "rgb16.png.rgb"), (rgb16 >> 8).astype(np.uint8))
    manifest["png16"].update({"file": "images/rgb16.png", "rgb": "decode/rgb16.png.rgb"})

    cases = [(9, 7, 3, 4, 3), (10, 10, 1, 5, 5), (13, 11, 3, 5, 7), (6, 4, 3, 15, 9),
             (5, 5, 1, 12, 12), (14, 6, 3, 5, 13), (28, 28, 1, 32, 32), (224, 224, 3, 64, 64),
             (112, 112, 3, 64, 64), (3, 17, 1, 3, 6)]
    for i, (w, h, c, ow, oh) in enumerate(cases):
        src = rng.integers(0, 256, (h, w, c), dtype=np.uint8)
        ref = resize_reference(src, ow, oh)
        write(os.path.join(out, "resize", f"{i}.in"), src)
        write(os.path.join(out, "resize", f"{i}.ref"), ref.astype("<f8"))
        manifest["resize"].append({"width": w, "height": h, "channels": c, "out_width": ow,
                                   "out_height": oh, "input": f"resize/{i}.in",
                                   "reference": f"resize/{i}.ref"})

    # An image folder of mixed formats and sizes; the expected 20x20 RGB training set.
    size = 20
    expected = []
    for split in ("train", "test"):
        for cls in ("b class", "a-class"):  # a space in one name
            folder = os.path.join(out, "tree", split, cls)
            os.makedirs(folder)
            for k, (w, h, fmt) in enumerate([(48, 40, "jpg"), (20, 20, "png"), (15, 26, "png"),
                                              (90, 83, "jpg")]):
                img = Image.fromarray(smooth_image(rng, h, w, 3))
                name = f"{k}.{fmt}"
                path = os.path.join(folder, name)
                img.save(path, **({"quality": 90} if fmt == "jpg" else {}))
                if split == "train":
                    if fmt == "jpg":
                        pixels = draft_decoded(path, "RGB", size, size)
                    else:
                        pixels = decoded(path, "RGB")
                    expected.append((cls, name, resize_reference(pixels, size, size)))
    expected.sort(key=lambda e: (e[0].encode(), e[1].encode()))  # class, then name, by bytes
    tree = np.stack([np.floor(e[2] + 0.5).clip(0, 255).astype(np.uint8) for e in expected])
    write(os.path.join(out, "tree.rgb20"), tree)
    manifest["tree"] = {"folder": "tree", "size": size, "train_rows": len(expected),
                        "train_rgb": "tree.rgb20"}

    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)


def write_png16(path, rgb16):
    """A 16-bit truecolour PNG from first principles (zlib + CRC), as PIL cannot write one."""
    import struct
    import zlib

    h, w, _ = rgb16.shape
    raw = b"".join(b"\x00" + rgb16[y].astype(">u2").tobytes() for y in range(h))

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0)) +
           chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    with open(path, "wb") as f:
        f.write(png)
    return {"width": w, "height": h}


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_image_reference.py OUT")
    out = os.path.abspath(sys.argv[1])
    parent = os.path.dirname(out)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".image-reference-", dir=parent)
    try:
        make(tmp)
        if os.path.isdir(out):
            shutil.rmtree(out)
        os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


if __name__ == "__main__":
    main()
