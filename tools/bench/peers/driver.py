"""The peer benchmark: scratchnet against ONNX Runtime and PyTorch (frozen and eager) on whole-network
float32 inference, every engine in its own long-lived worker (PROTOCOL.md). Run it through
tools/bench/run-peer-bench.sh, which installs, builds and prepares what it needs.

For each case (model, batch): one random input, written once and sent to every worker; PyTorch's float64
model gives the reference and every engine's answer must be within relative L2 1e-4 of it (a wrong answer
is reported and never timed); then the engines are timed in interleaved rounds (timing.py). With
--cases features, also the experiment's backbone features over its 483 photos (features.py).
Writes OUT/peers.json (everything, with quartiles, min, max and every sample), OUT/peers.md (the table
docs/PERFORMANCE.md quotes) and worker logs in OUT/peers-logs/.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zlib

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import features  # noqa: E402
import prepare  # noqa: E402
import report  # noqa: E402
from check import compare, tolerance_for  # noqa: E402
from timing import SETTLE_S, time_interleaved  # noqa: E402
from workers import FAIR_ENV, WorkerError, runtime_info, start_workers  # noqa: E402

ENGINES = ["scratchnet", "onnxruntime", "torch-frozen", "torch-eager"]
BF16_ENGINES = ["scratchnet-bf16", "torch-bf16"]  # --bf16: scratchnet bf16 and PyTorch's CPU bf16 autocast


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="resnet18,resnet50",
                    help="comma-separated: resnet18, resnet50, vgg16, mobilenet_v2 (prepare.py)")
    ap.add_argument("--batches", default="1,32", help="comma-separated batch sizes")
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="every engine (default: all cores)")
    ap.add_argument("--engines", default=",".join(ENGINES), help="timed engines; torch-eager always gives the reference")
    ap.add_argument("--bf16", action="store_true",
                    help="also time scratchnet --precision bf16 and PyTorch's bf16 autocast (checked at 5e-2)")
    ap.add_argument("--cases", default="models,features", help="models and/or features (the experiment's 483 photos)")
    ap.add_argument("--rounds", type=int, default=7, help="interleaved rounds per model case")
    ap.add_argument("--passes", type=int, default=3, help="feature case: passes over the 483 photos per engine")
    ap.add_argument("--min-sample", type=float, default=0.3, help="seconds: shorter calls are repeated within a sample")
    ap.add_argument("--quick", action="store_true", help="smoke test: 2 rounds, short samples, no feature case")
    ap.add_argument("--out-dir", default="build/bench", help="peers.json, peers.md, peers-logs/")
    ap.add_argument("--cache", default=".cache/peers", help="ResNet-18 weights, ONNX files")
    ap.add_argument("--scratchnet", default="build/release/scratchnet", help="for `scratchnet convert`")
    ap.add_argument("--scratchnet-worker", default="build/release/bench_peer_scratchnet")
    ap.add_argument("--node-modules", default=".cache/peers/node/node_modules")
    ap.add_argument("--weights", default="weights/resnet50-imagenet.snw", help="the ResNet-50")
    ap.add_argument("--data", default="../shared/datasets/catanddog", help="feature case: train/ and test/")
    args = ap.parse_args()
    if args.quick:
        args.rounds, args.min_sample, args.passes = min(args.rounds, 2), min(args.min_sample, 0.1), 1
        if args.cases == ap.get_default("cases"):
            args.cases = "models"
    for name in ("out_dir", "cache", "scratchnet", "scratchnet_worker", "node_modules", "weights", "data"):
        setattr(args, name, os.path.abspath(getattr(args, name)))
    args.models = [m for m in args.models.split(",") if m]
    args.batches = [int(b) for b in args.batches.split(",") if b]
    args.engines = [e for e in args.engines.split(",") if e]
    if args.bf16:
        args.engines += [e for e in BF16_ENGINES if e not in args.engines]
    args.cases = [c for c in args.cases.split(",") if c]
    for e in args.engines:
        if e not in ENGINES + BF16_ENGINES:
            sys.exit(f"driver: unknown engine {e} (known: {', '.join(ENGINES + BF16_ENGINES)})")
    for c in args.cases:
        if c not in ("models", "features"):
            sys.exit(f"driver: unknown case group {c} (models, features)")
    return args


def log(msg):
    print(msg, flush=True)


def make_input(model, batch, path):
    """One N(0,1) input per (model, batch), the same in every run (seeded from the names)."""
    rng = np.random.default_rng(zlib.crc32(f"{model}/b{batch}".encode()))
    rng.standard_normal((batch, 3, 224, 224), dtype=np.float32).astype("<f4").tofile(path)


def model_case(workers, engines, name, batch, entry, tmp, rounds, min_sample):
    """Checks then times one (model, batch) case; returns its record."""
    key = f"{name}-b{batch}"
    case = {"name": f"{name} forward b{batch}", "model": name, "batch": batch, "head": "logits",
            "flops": entry["flops"]["logits"] * batch, "engines": {}}
    needed = list(dict.fromkeys(engines + ["torch-eager"]))
    inp, ref = os.path.join(tmp, f"{key}.in.f32"), os.path.join(tmp, f"{key}.ref.f64")
    make_input(name, batch, inp)
    for e in needed:
        rec = case["engines"].setdefault(e, {}) if e in engines else {}
        try:
            rec["load_s"] = workers[e].call("load", key=key, snw=entry["snw"], onnx=entry["onnx"][("logits", batch)],
                                            batch=batch, head="logits")["load_s"]
        except WorkerError as err:
            if e == "torch-eager":
                raise WorkerError(f"the reference (torch-eager) cannot load {name}: {err}")
            rec["error"] = str(err)
            log(f"  {e}: {err}")
    workers["torch-eager"].call("reference", key=key, input=inp, output=ref)
    ok = []
    for e in engines:
        rec = case["engines"][e]
        if "error" in rec:
            continue
        out = os.path.join(tmp, f"{key}.{e}.f32")
        try:
            ans = workers[e].call("run", key=key, input=inp, output=out)
            rec["check"] = compare(out, ref, ans["shape"], tolerance_for(e))
        except WorkerError as err:
            rec["error"] = str(err)
            continue
        if rec["check"]["ok"]:
            ok.append(e)
        else:
            log(f"  {e}: {rec['check']['message']}")
    stats = time_interleaved({e: workers[e] for e in ok}, key, rounds, min_sample, log)
    for e, st in stats.items():
        case["engines"][e]["stats"] = st
    for e in needed:
        try:
            workers[e].call("unload", key=key)
        except WorkerError:
            pass
    return case


def collect_meta(workers, args):
    # Each worker reports the settings as it sees them (/proc/PID/environ is not reliable here: glibc
    # rewrites GLIBC_TUNABLES in place while parsing it).
    infos = {e: w.call("info", env_keys=list(runtime_info.ENV_KEYS)) for e, w in workers.items()}
    versions = {}
    for i in infos.values():
        versions.update(i.get("versions", {}))
    sn = infos.get("scratchnet", {})
    meta = {"date_utc": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "threads": args.threads,
            "loadavg_start": "%.2f" % os.getloadavg()[0], "machine": sn.get("machine", {}), "versions": versions,
            "workers": {}, "glibc_tunables": None, "fair_env": None}
    for e, w in workers.items():
        env = infos[e].get("environment", {})
        meta["workers"][e] = {"pid": w.pid, "argv": w.argv, "libraries": w.libraries(), "environment": env,
                              "info": infos[e]}
        if e != "scratchnet" and env.get("GLIBC_TUNABLES"):
            meta["glibc_tunables"] = env["GLIBC_TUNABLES"]
    meta["fair_env"] = subprocess.run([FAIR_ENV, "--print"], capture_output=True, text=True).stdout.splitlines()
    if "torch-eager" in infos:
        meta["openblas"] = infos["torch-eager"].get("openblas")
    return meta


def measure_peak(workers, meta):
    if "scratchnet" not in workers:
        return
    p = workers["scratchnet"].call("peak")
    old = meta.get("peak")
    if not old or p["peak_gflops"] > old["peak_gflops"]:
        meta["peak"] = {k: p[k] for k in ("peak_gflops", "per_thread_gflops", "threads")}


def main():
    args = parse_args()
    plan = {m: {"logits": args.batches} for m in args.models} if "models" in args.cases else {}
    tmp = tempfile.mkdtemp(prefix="peers-")
    decoded = None
    if "features" in args.cases:
        log(f"features: decoding and transforming the photos of {args.data} (PIL + torchvision)")
        decoded = features.decode(args.data, args.weights, os.path.join(tmp, "photos"), args.passes, args.threads)
        plan.setdefault("resnet50", {})["features"] = features.batch_sizes(decoded)
    log("prepare: models and ONNX files (cached in %s)" % args.cache)
    entries = prepare.prepare(plan, args.cache, args.scratchnet, args.weights)

    workers = start_workers(list(dict.fromkeys(args.engines + ["torch-eager"])), args.threads,
                            {"scratchnet_worker": args.scratchnet_worker, "node_modules": args.node_modules},
                            os.path.join(args.out_dir, "peers-logs"))
    cases, feat = [], None
    try:
        meta = collect_meta(workers, args)
        measure_peak(workers, meta)
        for line in report.header_lines(meta):
            log(line.replace("**", ""))
        if "models" in args.cases:
            for m in args.models:
                for b in args.batches:
                    log(f"\n{m} forward b{b}: loading, checking, timing")
                    case = report.case_summary(model_case(workers, args.engines, m, b, entries[m], tmp,
                                                          args.rounds, args.min_sample),
                                               (meta.get("peak") or {}).get("peak_gflops"))
                    report.print_case(case, log)
                    cases.append(case)
        if decoded:
            log("\nfeatures: the experiment's photos through the ResNet-50 backbone")
            timed = [e for e in args.engines if e in ("onnxruntime", "scratchnet")]
            feat = features.run(workers, timed, entries["resnet50"], decoded, args.passes, tmp, log)
        measure_peak(workers, meta)  # at the end too; the better one counts
        meta["loadavg_end"] = "%.2f" % os.getloadavg()[0]
    finally:
        for w in workers.values():
            w.close()
        shutil.rmtree(tmp, ignore_errors=True)

    peak = (meta.get("peak") or {}).get("peak_gflops")
    cases = [report.case_summary(c, peak) for c in cases]  # with the final peak
    md = report.markdown(meta, cases, feat)
    os.makedirs(args.out_dir, exist_ok=True)
    for e in entries.values():
        e["onnx"] = {f"{h}-b{b}": p for (h, b), p in e["onnx"].items()}
    with open(os.path.join(args.out_dir, "peers.json"), "w") as f:
        json.dump({"meta": meta, "models": entries, "cases": cases, "features": feat,
                   "settings": {"rounds": args.rounds, "passes": args.passes, "min_sample_s": args.min_sample,
                                "settle_s": SETTLE_S, "quick": args.quick,
                                "tolerance_rel_l2": 1e-4}}, f, indent=1)
    with open(os.path.join(args.out_dir, "peers.md"), "w") as f:
        f.write(md)
    log("\n" + md)
    log(f"peers: wrote {args.out_dir}/peers.json and {args.out_dir}/peers.md")
    bad = [f"{c['name']}: {e}" for c in cases for e, r in c["engines"].items() if not r.get("stats")]
    bad += [f"features: {e}" for e, r in (feat or {}).get("forward", {}).items() if not r.get("median")]
    if bad:
        log("peers: no timing (failed or wrong answer) for " + "; ".join(bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
