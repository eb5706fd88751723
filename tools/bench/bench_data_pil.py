#!/usr/bin/python3
"""The PIL/torchvision side of tools/bench/bench_data.cpp: the same work per image,
    Image.open(f).convert("RGB") -> Resize((256, 256)) -> RandomResizedCrop(224)
    -> RandomHorizontalFlip() -> ToTensor()
over every image of an ImageFolder, single-threaded. Prints one JSON line:
{"seconds": [pass times], "images": n}. bench_data runs it once per round,
interleaved with its own passes.
"""
import argparse
import json
import os
import sys
import time

import torch
import torchvision.transforms as T
from torchvision.datasets.folder import IMG_EXTENSIONS, pil_loader

torch.set_num_threads(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True, help="ImageFolder root (class sub-folders)")
    ap.add_argument("--passes", type=int, default=1, help="timed passes")
    ap.add_argument("--warmup", type=int, default=1, help="untimed passes first (file cache, imports)")
    args = ap.parse_args()
    # Every image below the folder, as bench_data counts them (train/ and test/ with their class folders).
    files = sorted(os.path.join(d, f) for d, _, names in os.walk(args.data) for f in names
                   if f.lower().endswith(IMG_EXTENSIONS))
    if not files:
        sys.exit(f"bench_data_pil: no images below {args.data}")
    tf = T.Compose([T.Resize((256, 256)), T.RandomResizedCrop(224), T.RandomHorizontalFlip(), T.ToTensor()])
    torch.manual_seed(0)
    times = []
    for p in range(args.warmup + args.passes):
        t0 = time.perf_counter()
        for f in files:
            x = tf(pil_loader(f))
        if p >= args.warmup:
            times.append(time.perf_counter() - t0)
    assert x.shape == (3, 224, 224)
    print(json.dumps({"seconds": times, "images": len(files)}))


if __name__ == "__main__":
    main()
