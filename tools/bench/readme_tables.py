#!/usr/bin/env python3
"""Turn bench_libtorch's JSON (build/bench/bench-cpu.json) into the Markdown
tables of docs/PERFORMANCE.md (Against LibTorch): the machine, the model-level
table, the batch-32 conv table, summaries of the other conv cases, the ops.

    python3 tools/bench/readme_tables.py [build/bench/bench-cpu.json]

Standard library only (no torch needed)."""
import json
import math
import sys


def fmt_time(s):
    if s >= 1:
        return f"{s:.2f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.1f} ms"
    return f"{s * 1e6:.0f} us"


def geomean(v):
    return math.exp(sum(math.log(x) for x in v) / len(v)) if v else float("nan")


def main(path):
    d = json.load(open(path))
    m, peak = d["machine"], d["peak_gflops"]
    rows = [r for r in d["rows"] if r["check"]["ok"] and "error" not in r and "fast" in r.get("sides", {})]
    bad = [r["name"] for r in d["rows"] if not r["check"]["ok"] or "error" in r]
    out = []
    out.append(f"Measured {m['date_utc'][:10]} on **{m['cpu_model']}**, {m['logical_cpus']} logical CPUs, "
               f"**{m['threads']} threads on both sides**; scratchnet built with {m['compiler']} ({m['simd']}), "
               f"{m['other_versions']}. Measured fp32 peak (FMA loop): {peak['per_thread']:.0f} GFLOP/s one "
               f"thread, {peak['all_threads']:.0f} GFLOP/s {m['threads']} threads. Ratio = scratchnet time / "
               f"LibTorch time (median of interleaved rounds): below 1 scratchnet is faster.")
    if bad:
        out.append(f"\nFailed their result check (no speed reported): {', '.join(bad)}")

    def table(title, sel, cols=("LibTorch", "scratchnet", "ratio", "GFLOP/s", "% peak")):
        out.append(f"\n| {title} | " + " | ".join(cols) + " |")
        out.append("|---|" + "---:|" * len(cols))
        for r in sel:
            lt, sn = r["sides"]["libtorch"]["median_s"], r["sides"]["fast"]["median_s"]
            gf = r["flops"] / sn * 1e-9 if r["flops"] else None
            cells = [fmt_time(lt), fmt_time(sn), f"{sn / lt:.2f}"]
            if "GFLOP/s" in cols:
                cells += [f"{gf:.0f}" if gf else "", f"{100 * gf / peak['all_threads']:.0f}%" if gf else ""]
            out.append(f"| {r['name']} | " + " | ".join(cells) + " |")

    table("model", [r for r in rows if r["group"] == "model"])
    b32 = [r for r in rows if r["group"] == "conv" and " b32 fwd (" in r["name"]]
    table("conv, batch 32, forward", b32)

    out.append("\n| conv cases | count | geomean ratio | worst ratio |")
    out.append("|---|---:|---:|---:|")
    for label, key in (("batch 1, forward", " b1 fwd ("), ("batch 32, forward", " b32 fwd ("),
                       ("batch 1, forward+backward", " b1 fwd+bwd"), ("batch 32, forward+backward", " b32 fwd+bwd")):
        sel = [r for r in rows if r["group"] == "conv" and key in r["name"]]
        if sel:
            q = [r["ratio"]["fast"] for r in sel]
            worst = max(sel, key=lambda r: r["ratio"]["fast"])
            out.append(f"| {label} | {len(sel)} | {geomean(q):.2f} | {max(q):.2f} ({worst['name'].split(' (')[0]}) |")

    table("op", [r for r in rows if r["group"] == "op"], cols=("LibTorch", "scratchnet", "ratio"))
    table("sgemm", [r for r in rows if r["group"] == "gemm"])
    print("\n".join(out))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "build/bench/bench-cpu.json")
