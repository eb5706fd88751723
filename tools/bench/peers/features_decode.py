"""Decode + preprocess the experiment's photos as a PyTorch user would (PIL + torchvision), timed, and
write them as raw float32 batches for the feature-extraction timing (features.py).

  features_decode.py --data DIR --weights FILE.snw --out DIR [--batch 32] [--passes 3] [--threads N]

The transform is the experiment's test transform (Resize(224), CenterCrop(224), ToTensor, the weight
file's normalization: tools/reference/experiment_torch.py), in one process (DataLoader's default,
num_workers=0). Train images first, then test, each split in ImageFolder order, batched per split as
the experiment does. Prints one JSON object: per-pass times (the first pass reads the files from disk
or the page cache), the batch files, and what it ran on. Run it through fair-env.sh.
"""
import argparse
import json
import os
import sys
import time

import torch
import torchvision

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "reference"))
import runtime_info  # noqa: E402
from experiment_torch import make_transforms, read_snw  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--weights", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--passes", type=int, default=3)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    header, _ = read_snw(args.weights)
    _, test_tf = make_transforms(argparse.Namespace(no_normalize=False, no_augment=True), header["preprocessing"])
    splits = []
    for split in ("train", "test"):
        folder = os.path.join(args.data, split)
        if not os.path.isdir(folder):
            sys.exit(f"features_decode: {folder} not found")
        splits.append((split, torchvision.datasets.ImageFolder(folder, test_tf)))

    times = []
    for _ in range(args.passes):
        t0 = time.perf_counter()
        images = {split: [ds[i][0] for i in range(len(ds))] for split, ds in splits}
        times.append(time.perf_counter() - t0)

    os.makedirs(args.out, exist_ok=True)
    batches = []
    for split, xs in images.items():
        for i in range(0, len(xs), args.batch):
            x = torch.stack(xs[i:i + args.batch]).numpy().astype("<f4")
            path = os.path.join(args.out, f"{split}-{i // args.batch:03d}.f32")
            x.tofile(path)
            batches.append({"file": path, "n": int(x.shape[0]), "split": split})
    json.dump({"times": times, "batches": batches, "images": sum(len(v) for v in images.values()),
               "threads": torch.get_num_threads(), "torch": torch.__version__,
               "torchvision": torchvision.__version__, "blas": runtime_info.blas_summary(),
               "environment": runtime_info.environment()}, sys.stdout)


if __name__ == "__main__":
    main()
