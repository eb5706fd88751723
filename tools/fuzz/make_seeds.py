#!/usr/bin/python3
"""Writes the seed corpora of the fuzz targets into tools/fuzz/corpus/<target>/.

Each seed is a tiny real file (a few KB at most) in the exact input layout of
its harness (see the comment at the top of each fuzz_<target>.cpp):
  weight_file  mode byte + a .snw file (weights/FORMAT.md)
  pth          mode byte + a torch.save .pth, or mode byte 1 + a bare data.pkl
  tfjs         model.json + NUL + the shard s1.bin
  checkpoint   mode byte + a .snck file, or mode byte 1 + JSON header + NUL + payload
  image        an encoded image (JPEG, PNG, BMP, GIF, PPM), cut from
               ../shared/datasets/cat.jpg and shrunk to at most 24 pixels

Run with /usr/bin/python3 (torch is needed only for the .pth seeds; PIL for images):
  /usr/bin/python3 tools/fuzz/make_seeds.py
"""
import io
import json
import os
import struct
import zipfile
import zlib

import torch
from PIL import Image

torch.set_num_threads(2)
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tools", "fuzz", "corpus")


def save(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- .snw weight files ---------------------------------------------------------------
def snw(tensors, architecture="tiny"):
    payload, table = b"", []
    for name, shape, values in tensors:
        off = (len(payload) + 63) // 64 * 64
        payload += b"\0" * (off - len(payload))
        raw = struct.pack("<%df" % len(values), *values)
        table.append({"name": name, "dtype": "float32", "shape": shape, "offset": off,
                      "nbytes": len(raw), "crc32": zlib.crc32(raw)})
        payload += raw
    payload += b"\0" * ((len(payload) + 63) // 64 * 64 - len(payload))
    header = json.dumps({"architecture": architecture, "model": {"num_classes": 2},
                         "preprocessing": {"channel_order": "RGB", "scale": 1 / 255, "mean": [0.485, 0.456, 0.406],
                                           "std": [0.229, 0.224, 0.225], "resize": 256, "crop": 224},
                         "labels": ["cat", "dog"], "metadata": {"source": "make_seeds.py"},
                         "tensors": table}, indent=1).encode()
    poff = (64 + len(header) + 63) // 64 * 64
    fixed = b"SNWEIGHT" + struct.pack("<IIQQQI", 1, zlib.crc32(header), len(header), poff, len(payload),
                                       zlib.crc32(payload))
    fixed += b"\0" * (64 - len(fixed))
    return fixed + header + b"\0" * (poff - 64 - len(header)) + payload


def weight_seeds():
    ok = snw([("weight", [2, 2], [1, 2, 3, 4]), ("bias", [2], [0.5, -0.5])])
    save("weight_file", "tiny", b"\0" + ok)
    save("weight_file", "tiny_fixcrc", b"\1" + ok)
    three = snw([("weight", [2, 2], [1, 2, 3, 4]), ("bias", [2], [0, 0]), ("extra", [1, 3, 1], [7, 8, 9]),
                 ("scalar", [], [3.5]), ("empty", [0, 4], [])])
    save("weight_file", "five_tensors_fixcrc", b"\3" + three)


# ---- .pth state_dicts ------------------------------------------------------------------
def pth_bytes(obj):
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def data_pkl(pth):
    with zipfile.ZipFile(io.BytesIO(pth)) as z:
        return z.read([n for n in z.namelist() if n.endswith("data.pkl")][0])


def pth_seeds():
    # Storages in the order the harness provides them: 0 = 16 float32, 1 = 4 float64, 2 = 8 int64.
    f = torch.arange(16, dtype=torch.float32) - 7.5
    d = torch.tensor([1.0, -2.0, 0.5, 3.25], dtype=torch.float64)
    i = torch.arange(8, dtype=torch.int64)
    sd = {"fc.weight": f.view(4, 4), "fc.bias": d, "bn.num_batches_tracked": i}
    save("pth", "state_dict", b"\0" + pth_bytes(sd))
    save("pth", "state_dict_pickle", b"\1" + data_pkl(pth_bytes(sd)))
    # Views: a transposed slice and a Parameter share storage 0; a scalar in storage 1.
    sd2 = {"t": f.view(4, 4).t()[1:3], "p": torch.nn.Parameter(f.view(2, 8)), "s": d[2], "i": i}
    save("pth", "views_pickle", b"\1" + data_pkl(pth_bytes(sd2)))
    # A checkpoint dict around a state_dict, and an OrderedDict from a real module (with _metadata).
    save("pth", "module_pickle", b"\1" + data_pkl(pth_bytes(torch.nn.Linear(4, 4).state_dict())))
    save("pth", "checkpoint_pickle", b"\1" + data_pkl(pth_bytes({"epoch": 3, "state_dict": {"w": f}})))
    small = os.path.join(ROOT, "tests", "fixtures", "pth_small.pth")
    with open(small, "rb") as fh:
        save("pth", "pth_small", b"\0" + fh.read())
    # A forbidden global (os.system), as a malicious file would carry it.
    save("pth", "forbidden_global_pickle", b"\1" + b"\x80\x02cos\nsystem\nX\x04\0\0\0echoq\0\x85R.")


# ---- TF.js model.json + shard -------------------------------------------------------------
def tfjs_seeds():
    values = struct.pack("<11f", *range(11))
    man = {"format": "layers-model", "modelTopology": {"keras_version": "2.x"},
           "weightsManifest": [{"paths": ["s1.bin"], "weights": [{"name": "conv/kernel", "shape": [1, 1, 2, 3],
                                                                  "dtype": "float32"},
                                                                 {"name": "conv/bias", "shape": [5], "dtype": "float32"}]}]}
    save("tfjs", "one_shard", json.dumps(man).encode() + b"\0" + values)
    man2 = {"format": "layers-model", "modelTopology": {},
            "weightsManifest": [{"paths": ["s1.bin", "s2.bin"], "weights": [{"name": "a", "shape": [3], "dtype": "float32"},
                                                                            {"name": "b", "shape": [4, 4]}]}]}
    save("tfjs", "two_shards", json.dumps(man2).encode() + b"\0" + struct.pack("<3f", 1, 2, 3))


# ---- training checkpoints ---------------------------------------------------------------
def fnv1a64(data):
    h = 0xcbf29ce484222325
    for b in data:
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return "%016x" % h


def checkpoint_seeds():
    w = struct.pack("<4f", 1, 2, 3, 4)
    payload = w + b"\0" * 48 + struct.pack("<2f", 5, 6) + b"\0" * 56
    header = {"epoch": 2, "config": {"lr": 0.001}, "base_weights_hash": "0123456789abcdef",
              "rng": ["%016x" % k for k in (1, 2, 3, 4)], "optimizer": {"step": 10}, "metrics": {"loss": 0.5},
              "payload_bytes": len(payload), "payload_fnv1a64": fnv1a64(payload),
              "tensors": [{"name": "fc.weight", "group": "model", "shape": [2, 2], "offset": 0},
                          {"name": "exp_avg.fc.weight", "group": "optim", "shape": [2], "offset": 64}]}
    text = json.dumps(header, separators=(",", ":")).encode()
    start = (24 + len(text) + 63) // 64 * 64
    f = b"SNCKPT\0\0" + struct.pack("<IIQ", 1, 0, len(text)) + text + b"\0" * (start - 24 - len(text)) + payload
    save("checkpoint", "epoch2", b"\0" + f)
    save("checkpoint", "epoch2_parts", b"\1" + text + b"\0" + payload)


# ---- images ------------------------------------------------------------------------------
def image_seeds():
    cat = Image.open(os.path.join(ROOT, "..", "shared", "datasets", "cat.jpg")).convert("RGB")
    w, h = cat.size
    crop = cat.crop((w // 3, h // 4, w // 3 + 96, h // 4 + 64)).resize((24, 16), Image.BILINEAR)

    def enc(img, fmt, **kw):
        b = io.BytesIO()
        img.save(b, fmt, **kw)
        return b.getvalue()

    save("image", "rgb.jpg", enc(crop, "JPEG", quality=75))
    save("image", "progressive.jpg", enc(crop, "JPEG", quality=60, progressive=True))
    save("image", "gray.jpg", enc(crop.convert("L"), "JPEG", quality=60))
    save("image", "cmyk.jpg", enc(crop.convert("CMYK").resize((8, 8)), "JPEG", quality=60))
    save("image", "rgb.png", enc(crop.resize((12, 8)), "PNG"))
    save("image", "rgba.png", enc(crop.resize((12, 8)).convert("RGBA"), "PNG"))
    save("image", "gray.png", enc(crop.resize((12, 8)).convert("L"), "PNG"))
    save("image", "palette.png", enc(crop.resize((12, 8)).convert("P", palette=Image.ADAPTIVE, colors=8), "PNG"))
    g16 = Image.frombytes("I;16", (6, 4), bytes(range(48)))
    save("image", "gray16.png", enc(g16, "PNG"))
    save("image", "rgb.bmp", enc(crop.resize((6, 4)), "BMP"))
    save("image", "palette.gif", enc(crop.resize((8, 6)).convert("P"), "GIF"))
    save("image", "rgb.ppm", enc(crop.resize((5, 3)), "PPM"))
    save("image", "gray.pgm", enc(crop.resize((5, 3)).convert("L"), "PPM"))
    save("image", "one_pixel.png", enc(crop.resize((1, 1)), "PNG"))


if __name__ == "__main__":
    weight_seeds()
    pth_seeds()
    tfjs_seeds()
    checkpoint_seeds()
    image_seeds()
    for t in sorted(os.listdir(OUT)):
        files = os.listdir(os.path.join(OUT, t))
        print(t, len(files), "seeds,", sum(os.path.getsize(os.path.join(OUT, t, f)) for f in files), "bytes")
