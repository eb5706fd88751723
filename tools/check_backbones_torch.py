#!/usr/bin/python3
"""Full-size VGG-16 and MobileNetV2 against torchvision: the same random weights, the same inputs.

    /usr/bin/python3 tools/check_backbones_torch.py [--models vgg16,mobilenet_v2]
                     [--scratchnet build/release/scratchnet] [--images N]

For each model: torchvision's network (0.14 layout) with its random initialisation from seed 0 and, for
MobileNetV2, random batch-norm statistics (so that the eval-mode normalization is not an identity);
saved as a .pth, converted by `scratchnet convert --from pth`, run by `scratchnet predict --dump` on the
first N photos of ../shared/datasets/catanddog/test (the dump holds scratchnet's exact input tensors and
logits), then PyTorch in eval mode on the same input tensors. Prints the relative L2 difference of the
logits and exits 1 if it is over 1e-4. The tests check the same at reduced width (tests/test_backbones.cpp);
this is the developer's full-width check (VGG-16's .pth is 528 MB, written to a temporary folder).

PyTorch is only needed here, never to build or run scratchnet.
"""
import argparse
import os
import subprocess
import sys
import tempfile

import torch
import torch.nn as nn
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare_predict_torch import ROOT, read_snw  # noqa: E402


def random_model(name, seed=0):
    torch.manual_seed(seed)
    model = getattr(torchvision.models, name)(weights=None)
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
                m.running_mean.copy_(torch.rand(m.running_mean.shape, generator=g) * 0.2 - 0.1)
                m.weight.copy_(torch.rand(m.weight.shape, generator=g) * 0.5 + 0.5)
                m.bias.copy_(torch.rand(m.bias.shape, generator=g) * 0.2 - 0.1)
    return model.eval()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="vgg16,mobilenet_v2")
    ap.add_argument("--scratchnet", default=os.path.join(ROOT, "build", "release", "scratchnet"))
    ap.add_argument("--images", type=int, default=8)
    args = ap.parse_args()
    torch.set_num_threads(2)
    test = os.path.join(ROOT, "..", "shared", "datasets", "catanddog", "test")
    photos = sorted(os.path.join(d, f) for d, _, fs in os.walk(test) for f in fs)[: args.images]
    worst = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for name in [m for m in args.models.split(",") if m]:
            model = random_model(name)
            pth, snw, dump = (os.path.join(tmp, name + ext) for ext in (".pth", ".snw", "-dump.snw"))
            torch.save(model.state_dict(), pth)
            subprocess.run([args.scratchnet, "convert", "--from", "pth", pth, "--out", snw], check=True,
                           stdout=subprocess.DEVNULL)
            os.remove(pth)
            subprocess.run([args.scratchnet, "predict", "--weights", snw, "--device", "cpu", "--dump", dump, "--json"]
                           + photos, check=True, stdout=subprocess.DEVNULL)
            _, dt = read_snw(dump)
            x = torch.from_numpy(dt["inputs"].copy())
            ours = torch.from_numpy(dt["logits"].copy())
            with torch.no_grad():
                theirs = model(x)
            rel = ((ours - theirs).norm() / theirs.norm()).item()
            worst = max(worst, rel)
            top1 = int((ours.argmax(1) == theirs.argmax(1)).sum())
            print(f"{name}: {len(photos)} photos, logits relative L2 {rel:.3g}, max |difference| "
                  f"{(ours - theirs).abs().max().item():.3g} (max |logit| {theirs.abs().max().item():.3g}), "
                  f"top-1 agreement {top1}/{len(photos)}")
    sys.exit(0 if worst < 1e-4 else 1)


if __name__ == "__main__":
    main()
