#!/usr/bin/python3
"""Does `scratchnet convert --from onnx` reproduce PyTorch on full-size torchvision ResNets?

    /usr/bin/python3 tools/check_onnx_import.py [--scratchnet build/release/scratchnet]
                     [--models resnet18,resnet50] [IMAGE ...]

For each model: torchvision's ResNet with random weights and random batch-norm statistics (seed 0),
exported by Debian's torch 1.13 with torch.onnx.export's defaults (opset 13, eval mode: batch norm
folded into the convs), converted with `scratchnet convert --from onnx`, then run by
`scratchnet predict --weights ... --dump` on the images (default: the 98 photos of
../shared/datasets/catanddog/test); PyTorch runs the same model on exactly the input tensors
scratchnet used. Prints, per model, the largest relative error of a photo's logit vector
(||scratchnet - torch|| / ||torch||), the error over all logits and top-1 agreement; exits 1 if an
error is above 1e-4, and 77 (skipped) without torch or onnx. PyTorch is never needed to build or
run scratchnet.
"""
import argparse
import glob
import os
import subprocess
import sys
import tempfile

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(ROOT, "tools"))

try:
    import numpy as np
    import torch
    import torchvision
    from compare_predict_torch import read_snw
except ImportError as e:  # the optional reference tools are absent: nothing to compare with
    print(f"check_onnx_import: skipped: {e} (tools/install-deps.sh --reference installs PyTorch)")
    sys.exit(77)

torch.set_num_threads(2)


def random_model(arch, seed):
    torch.manual_seed(seed)
    model = getattr(torchvision.models, arch)()
    gen = torch.Generator().manual_seed(seed)
    for m in model.modules():  # statistics unlike the 0 and 1 a fresh model has
        if isinstance(m, torch.nn.BatchNorm2d):
            c = m.num_features
            with torch.no_grad():
                m.weight.copy_(torch.rand(c, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(c, generator=gen) * 0.1)
                m.running_mean.copy_(torch.randn(c, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(c, generator=gen) + 0.5)
    return model.eval()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scratchnet", default=os.path.join(ROOT, "build", "release", "scratchnet"))
    ap.add_argument("--models", default="resnet18,resnet50")
    ap.add_argument("images", nargs="*")
    args = ap.parse_args()
    images = args.images or sorted(glob.glob(os.path.join(ROOT, "..", "shared", "datasets", "catanddog", "test", "*",
                                                          "*")))
    worst_all = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for seed, arch in enumerate(args.models.split(",")):
            model = random_model(arch, seed)
            onnx_path, snw, dump = (os.path.join(tmp, arch + ext) for ext in (".onnx", ".snw", "-dump.snw"))
            torch.onnx.export(model, torch.zeros(1, 3, 224, 224), onnx_path, opset_version=13,
                              input_names=["input"], output_names=["logits"],
                              dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
            subprocess.run([args.scratchnet, "convert", "--from", "onnx", onnx_path, "--out", snw], check=True,
                           stdout=subprocess.DEVNULL)
            subprocess.run([args.scratchnet, "predict", "--weights", snw, "--device", "cpu", "--dump", dump, "--json",
                            *images], check=True, stdout=subprocess.DEVNULL)
            _, t = read_snw(dump)
            ours = t["logits"].astype(np.float64)
            with torch.no_grad():
                ref = model(torch.from_numpy(np.array(t["inputs"]))).double().numpy()
            per_photo = np.linalg.norm(ours - ref, axis=1) / np.linalg.norm(ref, axis=1)
            overall = np.linalg.norm(ours - ref) / np.linalg.norm(ref)
            top1 = int((ours.argmax(1) == ref.argmax(1)).sum())
            print(f"{arch}: {len(images)} images, logits relative error per image at most {per_photo.max():.2e}, "
                  f"over all {overall:.2e}, same top-1 {top1}/{len(images)} "
                  f"(ONNX {os.path.getsize(onnx_path) / 1e6:.1f} MB, exported by torch {torch.__version__})")
            worst_all = max(worst_all, per_photo.max())
    if worst_all > 1e-4:
        print(f"check_onnx_import: FAILED: {worst_all:.2e} > 1e-4")
        sys.exit(1)


if __name__ == "__main__":
    main()
