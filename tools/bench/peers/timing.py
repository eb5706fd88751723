"""Interleaved timing of several workers on the same case, and the statistics reported.

Machine noise comes in bursts, so the engines take turns: round r times every engine once, in an order
that rotates each round, and each engine is summarised by its median (with quartiles, min and max). One
sample is `calls` back-to-back forward calls timed inside the worker, `calls` chosen so a sample lasts at
least min_sample_s: short calls are repeated, long ones run once.

Every sample starts on quiet cores: before it, the driver waits SETTLE_S. ONNX Runtime's thread pool keeps
spinning after it has answered (measured: ~25 ms of a core's time after a `time` command, ResNet-50
batch 1, 2 threads; scratchnet's and PyTorch's OpenMP threads go to sleep at once), so without the pause
the engine timed next would share its cores with that spin for the first ~25 ms of its sample.
"""
import math
import time

import numpy as np


def summarize(per_call, calls):
    a = np.asarray(per_call, dtype=np.float64)
    q1, med, q3 = np.percentile(a, [25, 50, 75])
    return {"median": float(med), "q1": float(q1), "q3": float(q3), "min": float(a.min()), "max": float(a.max()),
            "samples": int(a.size), "calls_per_sample": int(calls), "per_call": [float(v) for v in a]}


SETTLE_S = 0.1  # seconds of quiet before each sample (the spin above, with margin)


def time_interleaved(workers, key, rounds, min_sample_s, log=print):
    """workers: {engine: Worker} holding the case under `key` with its input already set (by a run).
    Returns {engine: summarize(...)}."""
    names = list(workers)
    calls = {}
    for n in names:  # warm-up, and the size of one sample
        t = workers[n].call("time", key=key, calls=1)["seconds"]
        calls[n] = max(1, math.ceil(min_sample_s / max(t, 1e-6)))
    samples = {n: [] for n in names}
    for r in range(rounds):
        k = r % len(names)
        for n in names[k:] + names[:k]:
            time.sleep(SETTLE_S)
            s = workers[n].call("time", key=key, calls=calls[n])["seconds"]
            samples[n].append(s / calls[n])
        log("  round %d/%d: %s" % (r + 1, rounds,
                                   "  ".join(f"{n} {1e3 * samples[n][-1]:.1f} ms" for n in names)))
    return {n: summarize(samples[n], calls[n]) for n in names}
