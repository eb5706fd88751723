"""PyTorch's worker for the peer benchmark (protocol: tools/bench/peers/PROTOCOL.md).

  worker_torch.py --threads N --variant eager|frozen|bf16

eager:  the model in eval mode under torch.no_grad(), model and input in channels_last (NHWC)
        memory format, as PyTorch's CPU tuning guides advise for CNNs: oneDNN's convolutions then
        need no reorders (2026-12-03, 2 threads: ResNet-50 b32 0.85 s vs 1.03 s contiguous,
        ResNet-18 b32 0.33 vs 0.44 s, b1 4-14% faster).
frozen: PyTorch's optimized inference: torch.jit.freeze(torch.jit.script(model)) then
        torch.jit.optimize_for_inference, which folds batch norm and moves the convolutions to oneDNN
        (MKL-DNN) with its blocked layout.
bf16:   eager under torch.autocast(cpu, bfloat16), also in channels_last (ResNet-50 b32 517 ms
        vs 889 ms contiguous, b1 39 vs 45 ms, measured alone 2026-12-03).
The eager worker also answers 'reference': the same model in float64, the yardstick every engine's
answer is checked against.

Run it through tools/bench/peers/fair-env.sh (OpenBLAS, malloc settings).
"""
import argparse
import copy
import json
import os
import sys
import time

import numpy as np
import torch
import torchvision

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "reference"))
import runtime_info  # noqa: E402
from prepare import torch_model  # noqa: E402


class Worker:
    def __init__(self, variant):
        self.variant = variant
        self.models = {}  # key -> (callable, float64 model or None, input tensor)

    def load(self, c):
        t0 = time.perf_counter()
        model = torch_model(c["snw"], c.get("head", "logits"))
        x = torch.zeros(c["batch"], 3, 224, 224)
        ref = None
        if self.variant in ("eager", "bf16"):
            ref = copy.deepcopy(model).double() if self.variant == "eager" else None  # contiguous: the yardstick
            model = model.to(memory_format=torch.channels_last)
            x = x.to(memory_format=torch.channels_last)  # _input's copy_ keeps this layout
        if self.variant == "bf16":
            # PyTorch's own CPU mixed precision: convolutions and matrix products in bfloat16.
            def fn(inp, m=model):
                with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
                    return m(inp).float()
        elif self.variant == "frozen":
            with torch.no_grad():
                fn = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.script(model)))
                for _ in range(2):  # the profiling executor specializes on the first calls
                    fn(x)
        else:
            fn = model
        self.models[c["key"]] = (fn, ref, x)
        return {"load_s": time.perf_counter() - t0}

    def _input(self, c):
        fn, ref, x = self.models[c["key"]]
        data = np.fromfile(c["input"], dtype="<f4")
        if data.size != x.numel():
            raise ValueError(f"{c['input']}: {data.size} floats, expected {x.numel()}")
        x.copy_(torch.from_numpy(data).view(x.shape))
        return fn, ref, x

    def run(self, c):
        fn, _, x = self._input(c)
        t0 = time.perf_counter()
        with torch.no_grad():
            y = fn(x)
        dt = time.perf_counter() - t0
        y.numpy().astype("<f4").tofile(c["output"])
        return {"seconds": dt, "shape": list(y.shape)}

    def reference(self, c):
        _, ref, x = self._input(c)
        if ref is None:
            raise ValueError("the float64 reference is computed by the eager worker only")
        with torch.no_grad():
            y = ref(x.double())
        y.numpy().astype("<f8").tofile(c["output"])
        return {"shape": list(y.shape)}

    def time(self, c):
        fn, _, x = self.models[c["key"]]
        with torch.no_grad():
            t0 = time.perf_counter()
            for _ in range(c["calls"]):
                fn(x)
            return {"seconds": time.perf_counter() - t0}

    def unload(self, c):
        self.models.pop(c["key"], None)
        return {}

    def info(self, c):
        return {"engine": "torch-" + self.variant, "threads": torch.get_num_threads(),
                "versions": {"torch": torch.__version__, "torchvision": torchvision.__version__,
                             "numpy": np.__version__, "python": sys.version.split()[0],
                             "blas": runtime_info.blas_summary(), "mkldnn": torch.backends.mkldnn.is_available()},
                "openblas": runtime_info.openblas_info(), "libraries": runtime_info.mapped_libraries(),
                "environment": runtime_info.environment(c.get("env_keys"))}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--variant", choices=["eager", "frozen", "bf16"], required=True)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    worker = Worker(args.variant)
    for line in sys.stdin:
        try:
            c = json.loads(line)
            if c["cmd"] == "quit":
                break
            answer = getattr(worker, c["cmd"])(c) if c["cmd"] in (
                "load", "run", "reference", "time", "unload", "info") else None
            if answer is None:
                raise ValueError(f"unknown command {c['cmd']!r}")
            answer["ok"] = True
        except Exception as e:  # report and keep serving: the driver decides
            answer = {"ok": False, "error": f"worker_torch ({args.variant}): {type(e).__name__}: {e}"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
