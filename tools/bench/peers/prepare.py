"""The models every engine of the peer benchmark runs, made once and cached.

- resnet50: the ImageNet weights the experiment uses (weights/resnet50-imagenet.snw, Keras layout:
  stride on the first 1x1 conv of a downsampling block, batch-norm eps 1e-3).
- resnet18: torchvision's ResNet-18 with random weights from a fixed seed (ImageNet ResNet-18 weights
  cannot be downloaded here), batch-norm statistics drawn around their defaults so that folding them is
  not a no-op; saved as a .pth and converted by `scratchnet convert --from pth`.
- vgg16, mobilenet_v2: torchvision's VGG-16 and MobileNetV2 the same way (random weights from a fixed seed;
  MobileNetV2's batch-norm statistics randomized as ResNet-18's; VGG-16 has no batch norm).

Every engine reads the same .snw: scratchnet directly, PyTorch through tools/reference/experiment_torch.py's
reader, ONNX Runtime through an ONNX file exported from that PyTorch model (torch.onnx.export, opset 13, one
fixed batch size per file). A stamp next to each ONNX file records the .snw's sha256 and the torch version;
the file is made again when either changes.
"""
import hashlib
import json
import os
import subprocess
import sys

import torch
import torch.nn as nn
import torchvision

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "reference"))
from experiment_torch import build_resnet, read_snw  # noqa: E402

RESNET18_SEED = 1813
OPSET = 13


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def make_random(cache, scratchnet, name="resnet18"):
    """Random-weight torchvision `name` (.pth from a fixed seed, converted to .snw); returns the .snw path."""
    snw = os.path.join(cache, f"{name}-seed{RESNET18_SEED}.snw")
    if os.path.exists(snw):
        return snw
    torch.manual_seed(RESNET18_SEED)
    model = getattr(torchvision.models, name)(weights=None)
    g = torch.Generator().manual_seed(RESNET18_SEED + 1)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
                m.running_mean.copy_(torch.rand(m.running_mean.shape, generator=g) * 0.2 - 0.1)
                m.weight.copy_(torch.rand(m.weight.shape, generator=g) * 0.5 + 0.5)
                m.bias.copy_(torch.rand(m.bias.shape, generator=g) * 0.2 - 0.1)
    pth = snw[:-4] + ".pth"
    torch.save(model.state_dict(), pth)
    cmd = [scratchnet, "convert", "--from", "pth", pth, "--arch", name, "--out", snw + ".tmp",
           "--source", f"random weights: torchvision {name}, torch.manual_seed({RESNET18_SEED}), "
                       "batch-norm statistics randomized (tools/bench/peers/prepare.py)"]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"prepare: {' '.join(cmd)} failed:\n{done.stdout}{done.stderr}")
    os.replace(snw + ".tmp", snw)
    os.remove(pth)
    return snw


# The classifier a transfer head replaces (models/zoo.h): what head 'features' drops.
HEADS = {"vgg16": ("classifier", 6), "mobilenet_v2": ("classifier", 1)}


def torch_model(snw, head="logits"):
    """The PyTorch model of a .snw in eval mode; head 'features' drops the last classifier (fc; VGG-16's
    classifier.6, MobileNetV2's classifier.1), as the experiment's transfer model does."""
    header, tensors = read_snw(snw)
    arch = header["architecture"]
    if arch not in HEADS:
        model = build_resnet(header, tensors).eval()
        if head == "features":
            model.fc = nn.Identity()
        return model
    seq, index = HEADS[arch]
    model = getattr(torchvision.models, arch)(weights=None, num_classes=tensors[f"{seq}.{index}.weight"].shape[0])
    missing, unexpected = model.load_state_dict(tensors, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        sys.exit(f"{snw} does not match torchvision {arch}: missing {missing}, unexpected {unexpected}")
    model.eval()
    if head == "features":
        getattr(model, seq)[index] = nn.Identity()
    return model


def flops_per_image(model):
    """2 x multiply-adds of the convolutions and the fc layer for one 224x224 image (the usual count)."""
    macs = [0]

    def conv_hook(m, inp, out):
        macs[0] += out[0].numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]

    def fc_hook(m, inp, out):
        macs[0] += m.in_features * m.out_features

    hooks = [m.register_forward_hook(conv_hook) for m in model.modules() if isinstance(m, nn.Conv2d)]
    hooks += [m.register_forward_hook(fc_hook) for m in model.modules() if isinstance(m, nn.Linear)]
    with torch.no_grad():
        model(torch.zeros(1, 3, 224, 224))
    for h in hooks:
        h.remove()
    return 2.0 * macs[0]


def export_onnx(snw, snw_sha, name, batch, head, cache):
    """ONNX file of `name` at a fixed batch size; reused while the stamp (weights, torch, opset) matches."""
    path = os.path.join(cache, f"{name}-{head}-b{batch}.onnx")
    stamp = {"snw_sha256": snw_sha, "torch": torch.__version__, "opset": OPSET, "batch": batch, "head": head}
    stamp_path = path + ".json"
    if os.path.exists(path) and os.path.exists(stamp_path):
        with open(stamp_path) as f:
            if json.load(f) == stamp:
                return path
    print(f"prepare: exporting {os.path.basename(path)}", flush=True)
    model = torch_model(snw, head)
    with torch.no_grad():
        torch.onnx.export(model, torch.zeros(batch, 3, 224, 224), path + ".tmp", opset_version=OPSET,
                          input_names=["input"], output_names=["output"], do_constant_folding=True)
    import onnx  # Debian's python3-onnx; only needed when exporting
    onnx.checker.check_model(path + ".tmp")
    os.replace(path + ".tmp", path)
    with open(stamp_path, "w") as f:
        json.dump(stamp, f)
    return path


def prepare(plan, cache, scratchnet, resnet50_snw):
    """plan: {model: {head: [batch sizes]}}, head "logits" (whole network) or "features" (no fc): the ONNX files
    to have. Returns {model: {"snw", "snw_sha256", "flops": {head: per image}, "onnx": {(head, batch): path}}}."""
    os.makedirs(cache, exist_ok=True)
    out = {}
    for name, heads in plan.items():
        if name == "resnet50":
            snw = resnet50_snw
            if not os.path.exists(snw):
                sys.exit(f"prepare: {snw} is missing (tools/fetch-weights.sh makes it)")
        elif name in ("resnet18", "vgg16", "mobilenet_v2"):
            snw = make_random(cache, scratchnet, name)
        else:
            sys.exit(f"prepare: unknown model {name} (resnet18, resnet50, vgg16 or mobilenet_v2)")
        sha = sha256(snw)
        entry = {"snw": snw, "snw_sha256": sha, "flops": {}, "onnx": {}}
        for head, batches in heads.items():
            entry["flops"][head] = flops_per_image(torch_model(snw, head))
            for b in batches:
                entry["onnx"][(head, b)] = export_onnx(snw, sha, name, b, head, cache)
        out[name] = entry
    return out
