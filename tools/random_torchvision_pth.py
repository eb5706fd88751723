#!/usr/bin/python3
"""A full-size torchvision network with torchvision's own random initialisation, saved as a .pth
state_dict: stand-in base weights for checking the experiment end to end where the ImageNet
weights cannot be downloaded (the accuracy is then meaningless; every step must still work).

    /usr/bin/python3 tools/random_torchvision_pth.py --model mobilenet_v2 --out /tmp/mobilenet_v2-random.pth
    build/release/scratchnet convert --from pth /tmp/mobilenet_v2-random.pth --out /tmp/mobilenet_v2-random.snw
    build/release/scratchnet train --model mobilenet_v2 --weights /tmp/mobilenet_v2-random.snw --data DIR --out RUN

Models: any torchvision.models constructor (resnet18, resnet50, vgg16, mobilenet_v2, ...).
VGG-16's file is 528 MB: keep it out of the repository.
"""
import argparse

import torch
import torchvision

torch.set_num_threads(2)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="torchvision.models constructor name, e.g. vgg16, mobilenet_v2")
    ap.add_argument("--out", required=True, help="the .pth file to write")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    model = getattr(torchvision.models, a.model)()  # weights=None: torchvision's random initialisation
    torch.save(model.state_dict(), a.out)
    n = sum(p.numel() for p in model.parameters())
    print(f"wrote {a.out}: torchvision {torchvision.__version__} {a.model}, random init (seed {a.seed}), {n:,} parameters")


if __name__ == "__main__":
    main()
