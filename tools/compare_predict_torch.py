#!/usr/bin/python3
"""Does PyTorch agree with `scratchnet predict` on the same weights and the same inputs?

    /usr/bin/python3 tools/compare_predict_torch.py [--weights weights/resnet50-imagenet.snw]
                     [--scratchnet build/release/scratchnet] [IMAGE_OR_DIR ...]

1. Runs `scratchnet predict --dump DUMP.snw` on the images (default: the 98 photos of
   ../shared/datasets/catanddog/test), which writes the exact preprocessed input tensors
   and scratchnet's logits (the dump is a .snw file, see weights/FORMAT.md).
2. Loads the .snw weights into a torchvision ResNet built with the options the file
   records (block_stride v1 = stride on the first 1x1 conv, bn_eps), in float32, eval mode.
3. Runs PyTorch on the *same* input tensors and compares: top-1 agreement, top-5 set
   agreement, largest logit difference.
4. Also rebuilds the inputs independently with PIL + torchvision (Resize(256), CenterCrop(224),
   ToTensor, channel order and normalization from the file) and reports how far they are
   from scratchnet's preprocessing, and PyTorch's top-1 agreement on those inputs.

PyTorch is only needed here, never to build or run scratchnet.
"""
import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile
import zlib

import numpy as np
import torch
import torch.nn as nn
import torchvision
from PIL import Image
from torchvision import transforms

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def read_snw(path):
    """(header dict, {name: np.ndarray float32}) of a scratchnet weight file, checksums verified."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"SNWEIGHT", f"{path}: bad magic"
    version, header_crc, header_size, payload_offset, payload_size, payload_crc = struct.unpack_from("<IIQQQI", data, 8)
    assert version == 1, f"{path}: version {version}"
    text = data[64:64 + header_size]
    assert zlib.crc32(text) == header_crc, f"{path}: header checksum"
    payload = data[payload_offset:payload_offset + payload_size]
    assert zlib.crc32(payload) == payload_crc, f"{path}: payload checksum"
    header = json.loads(text)
    tensors = {}
    for t in header["tensors"]:
        raw = payload[t["offset"]:t["offset"] + t["nbytes"]]
        tensors[t["name"]] = np.frombuffer(raw, dtype="<f4").reshape(t["shape"])
    return header, tensors


def build_resnet(header):
    m = header["model"]
    assert header["architecture"] in ("resnet18", "resnet50"), header["architecture"]
    assert m.get("width", 64) == 64
    ctor = getattr(torchvision.models, header["architecture"])
    model = ctor(num_classes=m["num_classes"])
    for mod in model.modules():
        if isinstance(mod, nn.BatchNorm2d):
            mod.eps = m["bn_eps"]
    if m["block_stride"] == "v1" and header["architecture"] == "resnet50":
        for layer in (model.layer2, model.layer3, model.layer4):
            layer[0].conv1.stride, layer[0].conv2.stride = (2, 2), (1, 1)
    return model


def reference_inputs(paths, pre):
    k = 255.0 * pre["scale"]
    steps = [transforms.Resize(pre["resize"]), transforms.CenterCrop(pre["crop"]), transforms.ToTensor()]
    if pre["channel_order"] == "BGR":
        steps.append(transforms.Lambda(lambda t: t[[2, 1, 0]]))
    steps.append(transforms.Normalize([v / k for v in pre["mean"]], [v / k for v in pre["std"]]))
    tf = transforms.Compose(steps)
    return torch.stack([tf(Image.open(p).convert("RGB")) for p in paths])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights", default=os.path.join(ROOT, "weights", "resnet50-imagenet.snw"))
    ap.add_argument("--scratchnet", default=os.path.join(ROOT, "build", "release", "scratchnet"))
    ap.add_argument("--dump", help="reuse this dump instead of running scratchnet")
    ap.add_argument("images", nargs="*", default=[os.path.join(ROOT, "..", "shared", "datasets", "catanddog", "test")])
    args = ap.parse_args()
    torch.set_num_threads(2)

    paths = []
    for p in args.images:
        if os.path.isdir(p):
            for d, _, files in sorted(os.walk(p)):
                paths += [os.path.join(d, f) for f in sorted(files)]
        else:
            paths.append(p)

    dump = args.dump
    if dump is None:
        dump = os.path.join(tempfile.mkdtemp(), "predict-dump.snw")
        cmd = [args.scratchnet, "predict", "--weights", args.weights, "--device", "cpu", "--dump", dump, "--json"] + paths
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    dh, dt = read_snw(dump)
    assert dh["metadata"]["images"] == paths or args.dump, "dump does not match the images"
    paths = dh["metadata"]["images"]
    wh, wt = read_snw(args.weights)

    model = build_resnet(wh)
    missing, unexpected = model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in wt.items()}, strict=False)
    assert not unexpected and all(k.endswith("num_batches_tracked") for k in missing), (missing, unexpected)
    model.eval()

    x = torch.from_numpy(dt["inputs"].copy())
    ours = torch.from_numpy(dt["logits"].copy())
    with torch.no_grad():
        theirs = torch.cat([model(x[i:i + 8]) for i in range(0, len(x), 8)])
    top1_ours, top1_theirs = ours.argmax(1), theirs.argmax(1)
    agree = int((top1_ours == top1_theirs).sum())
    top5_same = sum(set(a.tolist()) == set(b.tolist()) for a, b in zip(ours.topk(5).indices, theirs.topk(5).indices))
    diff = (ours - theirs).abs().max().item()
    rel = ((ours - theirs).norm() / theirs.norm()).item()
    labels = wh["labels"]
    print(f"images: {len(paths)}  weights: {args.weights}")
    print(f"top-1 agreement scratchnet vs PyTorch (same input tensors): {agree}/{len(paths)}")
    print(f"top-5 sets equal: {top5_same}/{len(paths)}")
    print(f"logits: max |difference| {diff:.3g}, relative L2 {rel:.3g}, max |logit| {theirs.abs().max().item():.3g}")
    for p, a, b in zip(paths, top1_ours.tolist(), top1_theirs.tolist()):
        if a != b:
            print(f"  disagree: {p}: scratchnet {a} {labels[a]}, PyTorch {b} {labels[b]}")

    ref = reference_inputs(paths, wh["preprocessing"])
    dx = (ref - x).abs()
    with torch.no_grad():
        theirs_ref = torch.cat([model(ref[i:i + 8]) for i in range(0, len(ref), 8)])
    agree_ref = int((theirs_ref.argmax(1) == top1_ours).sum())
    print(f"PIL/torchvision preprocessing vs scratchnet's: max |difference| {dx.max().item():.3g}, "
          f"mean {dx.mean().item():.3g} (inputs range over [{x.min().item():.3g}, {x.max().item():.3g}])")
    print(f"top-1 agreement scratchnet vs PyTorch on PIL/torchvision-preprocessed inputs: {agree_ref}/{len(paths)}")
    cats = sum(281 <= i <= 285 for i in top1_ours.tolist())
    print(f"scratchnet top-1 in the cat classes 281-285: {cats}/{len(paths)}")
    return 0 if agree == len(paths) else 1


if __name__ == "__main__":
    sys.exit(main())
