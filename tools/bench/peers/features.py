"""The experiment's feature extraction, timed: the ResNet-50 backbone (no fc) over the experiment's 483
photos (385 train + 98 test), once, in batches of 32 per split as scratchnet's cached mode
(`train --freeze-bn --no-augment` + `eval`) computes them. What a user who knows the backbone is frozen
would do with ONNX Runtime; compared with the same forward in scratchnet's worker.

The decoding and transform (PIL + torchvision) is timed separately, by features_decode.py. The forward
time is the sum, over all batches, of the worker-side time of each call (no file I/O). Each batch size
(32, and the splits' remainders) has its own ONNX file, loaded once before timing. The first batch of
every size is checked against PyTorch's float64 reference.
"""
import os
import subprocess
import json

from check import compare
from timing import summarize
from workers import FAIR_ENV, WorkerError

HERE = os.path.dirname(os.path.abspath(__file__))


def decode(data, weights, out_dir, passes, threads):
    """Runs features_decode.py under fair-env.sh; returns its JSON."""
    cmd = [FAIR_ENV, "/usr/bin/python3", os.path.join(HERE, "features_decode.py"), "--data", data, "--weights",
           weights, "--out", out_dir, "--passes", str(passes), "--threads", str(threads)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise WorkerError(f"features_decode.py failed (status {done.returncode}):\n{done.stderr[-2000:]}")
    return json.loads(done.stdout)


def batch_sizes(decoded):
    return sorted({b["n"] for b in decoded["batches"]}, reverse=True)


def describe(decoded):
    parts = []
    for split in ("train", "test"):
        ns = [b["n"] for b in decoded["batches"] if b["split"] == split]
        full = sum(1 for n in ns if n == ns[0])
        rest = [str(n) for n in ns[full:]]
        parts.append(f"{split} {full}x{ns[0]}" + ("+" + "+".join(rest) if rest else ""))
    return ", ".join(parts)


def run(workers, engines, entry, decoded, passes, tmp, log=print):
    """workers: {engine: Worker}, including torch-eager for the reference. engines: those timed.
    entry: prepare()'s resnet50 entry (with ONNX files for head 'features' at every batch size)."""
    sizes = batch_sizes(decoded)
    key = {n: f"features-b{n}" for n in sizes}
    needed = list(dict.fromkeys(engines + ["torch-eager"]))
    result = {e: {"check": [], "error": None, "load_s": {}} for e in engines}
    for e in needed:
        for n in sizes:
            loaded = workers[e].call("load", key=key[n], snw=entry["snw"], onnx=entry["onnx"][("features", n)],
                                     batch=n, head="features")
            # What one model costs before its first image (ONNX Runtime: reading the file and
            # optimizing the graph into a session; scratchnet: loading and packing the weights).
            if e in result:
                result[e]["load_s"][str(n)] = loaded.get("load_s")
    for n in sizes:  # check: the first batch of each size
        b = next(b for b in decoded["batches"] if b["n"] == n)
        ref = os.path.join(tmp, f"features-ref-b{n}.f64")
        workers["torch-eager"].call("reference", key=key[n], input=b["file"], output=ref)
        for e in engines:
            out = os.path.join(tmp, f"features-{e}-b{n}.f32")
            try:
                ans = workers[e].call("run", key=key[n], input=b["file"], output=out)
                chk = compare(out, ref, ans["shape"])
            except WorkerError as err:
                chk = {"ok": False, "rel_l2": None, "message": str(err)}
            result[e]["check"].append({"batch": n, **chk})
            log(f"  features check, {e}, first batch of {n}: " +
                (f"relative L2 {chk['rel_l2']:.2e} vs float64" if chk.get("rel_l2") is not None else "")
                + ("" if chk["ok"] else f" FAILED: {chk['message']}"))
            if not chk["ok"] and not result[e]["error"]:
                result[e]["error"] = chk["message"]
                log(f"  features: {e} at batch {n}: {chk['message']}")
    timed = [e for e in engines if not result[e]["error"]]
    totals = {e: [] for e in timed}
    for p in range(passes):
        k = p % max(1, len(timed))
        for e in timed[k:] + timed[:k]:
            out = os.path.join(tmp, f"features-{e}.f32")
            totals[e].append(sum(workers[e].call("run", key=key[b["n"]], input=b["file"], output=out)["seconds"]
                                 for b in decoded["batches"]))
        log(f"  features pass {p + 1}/{passes}: " + "  ".join(f"{e} {totals[e][-1]:.2f} s" for e in timed))
    for e in needed:
        for n in sizes:
            workers[e].call("unload", key=key[n])
    forward = {}
    for e in engines:
        forward[e] = dict(summarize(totals[e], 1), **result[e]) if e in totals else result[e]
    t = decoded["times"]
    return {"model": "resnet50", "head": "features (no fc)", "images": decoded["images"], "batch": sizes[0],
            "batches": describe(decoded), "passes": passes, "forward": forward,
            "decode_transform": dict(summarize(t, 1), first=t[0], threads=decoded["threads"],
                                     torchvision=decoded["torchvision"], blas=decoded["blas"])}
