#!/usr/bin/env python3
"""Writes the small seed corpora of the fuzz harnesses into tests/fuzz/<name>/ (standard
library only; the files are committed). The checkpoint seeds come from make_checkpoint_seed
(tests/fuzz/make_checkpoint_seed.cpp, built by scripts/fuzz.sh). Usage: make_seeds.py"""
import gzip
import io
import os
import struct
import zipfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def put(name, rel, data):
    path = os.path.join(HERE, name, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def idx3(n, rows, cols):
    px = bytes((i * 31 + r * 7 + c * 3) % 256 for i in range(n) for r in range(rows) for c in range(cols))
    return struct.pack(">IIII", 0x803, n, rows, cols) + px


def idx1(labels):
    return struct.pack(">II", 0x801, len(labels)) + bytes(labels)


def npy(descr, shape, payload, fortran=False):
    shape_txt = "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"
    header = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (descr, fortran, shape_txt)
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + payload


def npz(arrays, compression):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as z:
        for name, data in arrays.items():
            z.writestr(name + ".npy", data)
    return buf.getvalue()


def png(w, h, channels):
    raw = b"".join(b"\x00" + bytes((x * 40 + y * 20 + c * 90) % 256 for x in range(w) for c in range(channels))
                   for y in range(h))
    color = {1: 0, 3: 2, 4: 6}[channels]

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, color, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def bmp(w, h):
    def row(y):
        r = b"".join(bytes(((x * 50) % 256, (y * 60) % 256, 128)) for x in range(w))
        return r + b"\x00" * ((4 - len(r) % 4) % 4)
    pixels = b"".join(row(y) for y in range(h))
    return (b"BM" + struct.pack("<IHHI", 54 + len(pixels), 0, 0, 54) +
            struct.pack("<IiiHHIIiiII", 40, w, h, 1, 24, 0, len(pixels), 2835, 2835, 0, 0) + pixels)


def main():
    # idx: byte 0 bit 0 = labels file present, byte 1 = split point (share of the rest, /255).
    images, labels = idx3(3, 4, 4), idx1([1, 0, 2])
    split = round(255 * len(images) / (len(images) + len(labels)))
    put("idx", "plain_labelled", bytes([1, split]) + images + labels)
    put("idx", "plain_images", bytes([0, 0]) + images)
    gz_i, gz_l = gzip.compress(images, mtime=0), gzip.compress(labels, mtime=0)
    split = round(255 * len(gz_i) / (len(gz_i) + len(gz_l)))
    put("idx", "gzip_labelled", bytes([1, split]) + gz_i + gz_l)
    # cifar: byte 0 bit 0 = CIFAR-100, bit 1 = class-names file.
    rec10 = lambda l: bytes([l]) + bytes(i % 256 for i in range(3072))
    rec100 = lambda c, f: bytes([c, f]) + bytes((3 * i) % 256 for i in range(3072))
    put("cifar", "cifar10", bytes([2]) + rec10(3) + rec10(9))
    put("cifar", "cifar100", bytes([1]) + rec100(1, 42))
    put("cifar", "cifar10_gz", bytes([0]) + gzip.compress(rec10(0), mtime=0))
    # npy / npz
    f4 = npy("<f4", (2, 3), struct.pack("<6f", *range(6)))
    put("npy", "f4_2x3", f4)
    put("npy", "f8_fortran", npy("<f8", (2, 2), struct.pack("<4d", 1, 2, 3, 4), fortran=True))
    put("npy", "u1_vec", npy("|u1", (5,), bytes(range(5))))
    put("npy", "i8_scalar", npy("<i8", (), struct.pack("<q", 7)))
    put("npy", "b1_empty", npy("|b1", (0, 3), b""))
    stats = {"mu": npy("<f8", (2,), struct.pack("<2d", 0.5, 1.5)),
             "sigma": npy("<f8", (2, 2), struct.pack("<4d", 1, 0, 0, 1))}
    put("npz", "stored", npz(stats, zipfile.ZIP_STORED))
    put("npz", "deflated", npz(stats, zipfile.ZIP_DEFLATED))
    # image_folder: byte 0 = extension (0 png, 1 jpg, 2 bmp, 3 webp), bytes 1-2 = json length.
    def folder(ext, json, image):
        return bytes([ext]) + struct.pack("<H", len(json)) + json + image
    put("image_folder", "png_gray", folder(0, b"", png(3, 2, 1)))
    put("image_folder", "png_rgba_json", folder(0, b'{"labels": [["a.png", 3]]}', png(2, 2, 4)))
    put("image_folder", "png_rgb_null", folder(0, b'{"labels": null}', png(4, 3, 3)))
    put("image_folder", "bmp", folder(2, b'{"labels": [["a.bmp", 0]]}', bmp(3, 3)))
    # config: YAML files, and "--set " lines.
    for name in ("fashion_mnist_dcgan.yaml", "cifar10_resnet_hinge.yaml"):
        path = os.path.join(ROOT, "configs", name)
        if os.path.exists(path):
            with open(path, "rb") as f:
                text = f.read()
            # extends: would point outside the temp folder the harness writes to
            put("config", name, b"\n".join(l for l in text.split(b"\n") if not l.startswith(b"extends")))
    put("config", "small.yaml", b"data:\n  type: synthetic_shapes\n  resolution: 16\ntrain:\n  batch_size: 8\n")
    put("config", "set_lines", b"--set optim.lr_g=1e-4\ntrain.kimg=2\naugment.diffaugment=[color, cutout]")


if __name__ == "__main__":
    main()
