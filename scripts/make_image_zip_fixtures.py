#!/usr/bin/python3
"""Writes tests/data/image_zip_*.zip: archives laid out as NVIDIA's dataset_tool.py writes them,
made by Python's own zipfile module (an encoder independent of ours) for tests/test_data_image_zip.

- image_zip_labelled.zip: stored entries, images in sub-folders 00000/img%08d.png as
  dataset_tool does, RGB, dataset.json with labels [[name, label], ...].
- image_zip_flat.zip: deflated entries, grayscale images at the top level, dataset.json with
  "labels": null, and a non-image entry that readers must skip.

Pixels follow closed forms the test recomputes: RGB image k has (r, g, b) at (y, x) =
((10 + k + y) % 256, (100 + x) % 256, (200 - k) % 256); gray image k has (3k + y + 2x) % 256.
Usage: /usr/bin/python3 scripts/make_image_zip_fixtures.py [outdir]
"""
import json
import os
import struct
import sys
import zipfile
import zlib


def png(width, height, channels, pixel):
    """A minimal 8-bit PNG (colour type 0 gray or 2 RGB), rows filtered with filter 0."""
    raw = bytearray()
    for y in range(height):
        raw.append(0)
        for x in range(width):
            raw.extend(pixel(y, x))

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    colour_type = 0 if channels == 1 else 2
    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(bytes(raw)))
            + chunk(b"IEND", b""))


def rgb_image(k, h=6, w=5):
    return png(w, h, 3, lambda y, x: ((10 + k + y) % 256, (100 + x) % 256, (200 - k) % 256))


def gray_image(k, h=4, w=7):
    return png(w, h, 1, lambda y, x: ((3 * k + y + 2 * x) % 256,))


def put(z, name, data):
    """An entry with a fixed date, so the fixtures are byte-for-byte reproducible."""
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = z.compression
    z.writestr(info, data)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..",
                                                               "tests", "data")
    os.makedirs(out, exist_ok=True)
    # Labelled: 5 images; written in a shuffled order so that readers must sort by name.
    labels = []
    with zipfile.ZipFile(os.path.join(out, "image_zip_labelled.zip"), "w",
                         compression=zipfile.ZIP_STORED) as z:
        for k in [3, 0, 4, 1, 2]:
            name = f"{k // 3:05d}/img{k:08d}.png"
            put(z, name, rgb_image(k))
            labels.append([name, k % 3])
        put(z, "dataset.json", json.dumps({"labels": labels}))
    # Flat, deflated, unlabelled, with a non-image entry.
    with zipfile.ZipFile(os.path.join(out, "image_zip_flat.zip"), "w",
                         compression=zipfile.ZIP_DEFLATED) as z:
        for k in range(4):
            put(z, f"img{k:08d}.png", gray_image(k))
        put(z, "readme.txt", "not an image")
        put(z, "dataset.json", json.dumps({"labels": None}))


if __name__ == "__main__":
    main()
