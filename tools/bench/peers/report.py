"""The peer benchmark's output: a terminal table per case, the Markdown table docs/PERFORMANCE.md quotes, and a
header naming the machine, threads, date, versions, BLAS and malloc settings."""

# scratchnet's column is what the worker (tools/bench/bench_peer_scratchnet.cpp) runs for every network: its
# frozen-inference path, feature_snapshot() then the head (batch norm folded only where the network has batch norm
# and a snapshot that folds it: the ResNets; VGG-16 has none).
LABELS = {"scratchnet": "scratchnet (frozen-inference path)", "onnxruntime": "ONNX Runtime", "torch-frozen": "PyTorch frozen",
          "torch-eager": "PyTorch eager", "scratchnet-bf16": "scratchnet bf16", "torch-bf16": "PyTorch bf16 autocast"}


def fmt_time(s):
    if s is None:
        return "-"
    if s >= 1:
        return f"{s:.2f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.1f} ms" if s < 0.1 else f"{s * 1e3:.0f} ms"
    return f"{s * 1e6:.0f} us"


def case_summary(case, peak):
    """Adds the fastest peer and the ratio scratchnet / fastest peer to a finished model case."""
    timed = {e: r["stats"]["median"] for e, r in case["engines"].items() if r.get("stats")}
    # The fp32 comparison: scratchnet against the fastest float32 peer.
    peers = {e: t for e, t in timed.items() if not e.startswith("scratchnet") and not e.endswith("-bf16")}
    case["fastest_peer"] = min(peers, key=peers.get) if peers else None
    sn = timed.get("scratchnet")
    case["ratio_to_fastest_peer"] = sn / peers[case["fastest_peer"]] if sn and peers else None
    b16 = timed.get("scratchnet-bf16")
    if b16:  # bf16 against scratchnet fp32, the fastest fp32 peer, and PyTorch's own bf16
        case["bf16_ratios"] = {"to_scratchnet_fp32": b16 / sn if sn else None,
                               "to_fastest_fp32_peer": b16 / peers[case["fastest_peer"]] if peers else None,
                               "to_torch_bf16": b16 / timed["torch-bf16"] if timed.get("torch-bf16") else None}
    for e, t in timed.items():
        r = case["engines"][e]
        r["gflops"] = case["flops"] / t * 1e-9
        r["percent_of_peak"] = 100 * r["gflops"] / peak if peak else None
    return case


def print_case(case, log=print):
    log(f"\n{case['name']}: {case['flops'] * 1e-9:.2f} GFLOP per call")
    log(f"  {'engine':24s} {'median':>10s} {'q1 - q3':>21s} {'GFLOP/s':>8s} {'% peak':>7s}  check (rel. L2 vs float64)")
    for e, r in case["engines"].items():
        st = r.get("stats")
        chk = r.get("check") or {}
        rel = f"{chk['rel_l2']:.2e}" if chk.get("rel_l2") is not None else "-"
        status = r.get("error") or chk.get("message") or ("ok" if st else "check only")
        if st:
            pct = f"{r['percent_of_peak']:.0f}%" if r.get("percent_of_peak") is not None else "-"
            log(f"  {LABELS.get(e, e):24s} {fmt_time(st['median']):>10s} "
                f"{fmt_time(st['q1']) + ' - ' + fmt_time(st['q3']):>21s} {r['gflops']:8.0f} {pct:>7s}  {rel} {status}")
        else:
            log(f"  {LABELS.get(e, e):24s} {'-':>10s} {'':>21s} {'':>8s} {'':>7s}  {rel} {status}")
    if case.get("ratio_to_fastest_peer"):
        log(f"  scratchnet / fastest peer ({LABELS[case['fastest_peer']]}): {case['ratio_to_fastest_peer']:.2f}"
            "  (below 1: scratchnet is faster)")
    br = case.get("bf16_ratios")
    if br:
        parts = [f"{k.replace('to_', '/ ').replace('_', ' ')} {v:.2f}" for k, v in br.items() if v]
        log("  scratchnet bf16 " + ", ".join(parts))


def header_lines(meta):
    m = meta["machine"]
    v = meta["versions"]
    peak = meta.get("peak") or {}
    lines = [
        f"Measured {meta['date_utc']} on **{m.get('cpu_model', '?')}**, {m.get('logical_cpus', '?')} logical CPUs, "
        f"**{meta['threads']} threads every engine**; load average {meta['loadavg_start']} at the start, "
        f"{meta.get('loadavg_end', '?')} at the end.",
        f"scratchnet {v.get('scratchnet', '?')} ({m.get('compiler', '?')}, {m.get('simd', '?')}); "
        f"ONNX Runtime {v.get('onnxruntime', '-')} (node {v.get('node', '-')}); PyTorch {v.get('torch', '-')}, "
        f"oneDNN {'on' if v.get('mkldnn') else 'off'}.",
        f"Peers' BLAS: {v.get('blas', '-')}; GLIBC_TUNABLES={meta.get('glibc_tunables') or '-'}; "
        "OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset.",
    ]
    if peak:
        lines.append(f"Measured fp32 peak (FMA loop): {peak['per_thread_gflops']:.0f} GFLOP/s one thread, "
                     f"{peak['peak_gflops']:.0f} GFLOP/s {meta['threads']} threads. Ratio = scratchnet time / "
                     "fastest peer's time (medians of interleaved rounds): below 1 scratchnet is faster. "
                     "GFLOP/s count a direct convolution's multiply-adds for every engine (effective rates): "
                     "scratchnet's Winograd 3x3 convolutions do 1/4 (F(4x4), maps of 14x14 and more) or "
                     "4/9 (F(2x2)) of those multiplications, so its effective rate can exceed the FMA peak.")
    return lines


def markdown(meta, cases, features=None):
    out = header_lines(meta) + [""]
    if cases:
        out += model_table(cases)
    if features:
        out += ([""] if cases else []) + features_markdown(features)
    return "\n".join(out) + "\n"


def model_table(cases):
    engines = [e for e in LABELS if any(e in c["engines"] for c in cases) and not e.endswith("-bf16")]
    out = []
    out.append("| case | " + " | ".join(LABELS[e] for e in engines) +
               " | scratchnet / fastest peer | scratchnet GFLOP/s (% peak) | fastest peer GFLOP/s (% peak) |")
    out.append("|---|" + "---:|" * (len(engines) + 3))
    for c in cases:
        timed = {e: c["engines"][e]["stats"]["median"] for e in engines
                 if e in c["engines"] and c["engines"][e].get("stats")}
        best = min(timed, key=timed.get) if timed else None
        cells = []
        for e in engines:
            r = c["engines"].get(e)
            if r is None:
                cells.append("")
            elif not r.get("stats"):
                cells.append("wrong answer" if r.get("check") and not r["check"]["ok"] else "failed")
            else:
                t = fmt_time(r["stats"]["median"])
                cells.append(f"**{t}**" if e == best else t)

        def rate(e):
            r = c["engines"].get(e) or {}
            if not r.get("gflops"):
                return "-"
            return f"{r['gflops']:.0f} ({r['percent_of_peak']:.0f}%)" if r.get("percent_of_peak") else f"{r['gflops']:.0f}"

        ratio = f"**{c['ratio_to_fastest_peer']:.2f}**" if c.get("ratio_to_fastest_peer") else "-"
        out.append(f"| {c['name']} | " + " | ".join(cells) + f" | {ratio} | {rate('scratchnet')} | "
                   f"{rate(c['fastest_peer']) if c.get('fastest_peer') else '-'} |")
    if any(c.get("bf16_ratios") for c in cases):
        out += ["", "bfloat16 (checked against float64 at relative L2 <= 5e-2; GFLOP/s count the same "
                "multiply-adds as float32):", "",
                "| case | scratchnet bf16 | PyTorch bf16 autocast | bf16 / scratchnet fp32 | "
                "bf16 / fastest fp32 peer | bf16 / PyTorch bf16 | scratchnet bf16 GFLOP/s |",
                "|---|---:|---:|---:|---:|---:|---:|"]
        for c in cases:
            br = c.get("bf16_ratios")
            if not br:
                continue
            t = {e: (c["engines"].get(e) or {}).get("stats") for e in ("scratchnet-bf16", "torch-bf16")}
            f = lambda v: f"{v:.2f}" if v else "-"  # noqa: E731
            out.append(f"| {c['name']} | {fmt_time(t['scratchnet-bf16']['median'] if t['scratchnet-bf16'] else None)} | "
                       f"{fmt_time(t['torch-bf16']['median'] if t['torch-bf16'] else None)} | "
                       f"{f(br['to_scratchnet_fp32'])} | {f(br['to_fastest_fp32_peer'])} | {f(br['to_torch_bf16'])} | "
                       f"{rate('scratchnet-bf16')} |")
    return out


def features_markdown(f):
    engines = [e for e in LABELS if e in f["forward"]]
    lines = [f"Backbone features of {f['images']} photos, train and test ({f['model']} without fc, "
             f"batches of {f['batch']}: {f['batches']}), computed once; "
             f"{'median of ' + str(f['passes']) + ' passes' if f['passes'] > 1 else 'one pass'}:", "",
             "| step | " + " | ".join(LABELS.get(e, e) for e in engines) + " |",
             "|---|" + "---:|" * len(engines)]
    lines.append("| forward, all images | " + " | ".join(
        fmt_time(f["forward"][e]["median"]) if f["forward"][e].get("median") else "failed" for e in engines) + " |")
    load = {e: (f["forward"][e].get("load_s") or {}).get(str(f["batch"])) for e in engines}
    lines.append(f"| loading the batch-{f['batch']} model once (ONNX Runtime: session creation) | " + " | ".join(
        fmt_time(load[e]) if load[e] is not None else "-" for e in engines) + " |")
    d = f["decode_transform"]
    lines.append(f"| decode + test transform (PIL + torchvision, one process; first pass {fmt_time(d['first'])}) | "
                 + " | ".join(fmt_time(d["median"]) if e != "scratchnet" else "(its own loader)" for e in engines)
                 + " |")
    return lines
