"""Answer checks: every engine's output against the float64 reference, before anything is timed.

Tolerance: relative L2 error <= 1e-4 for whole networks. float32 sums in a different order (blocked
layouts, Winograd-free direct kernels, FMA or not) stay around 1e-6..1e-5 through 50 layers; a wrong
layer, stride or padding gives errors of order 1.
"""
import numpy as np

TOLERANCE = 1e-4
# bfloat16 engines (scratchnet --precision bf16, PyTorch CPU autocast): 8 significant bits per
# stored value; through ~50 layers the logits drift by ~1e-2 relative. 5e-2 still fails a wrong layer.
BF16_TOLERANCE = 5e-2


def tolerance_for(engine):
    return BF16_TOLERANCE if engine.endswith("-bf16") else TOLERANCE


def compare(output_path, reference_path, shape, tol=TOLERANCE):
    """Returns {"ok", "rel_l2", "max_rel", "message"} for a raw float32 output against a raw float64 reference."""
    n = int(np.prod(shape))
    ref = np.fromfile(reference_path, dtype="<f8")
    try:
        out = np.fromfile(output_path, dtype="<f4").astype(np.float64)
    except OSError as e:
        return {"ok": False, "rel_l2": None, "max_rel": None, "message": f"{output_path}: {e}"}
    if out.size != n or ref.size != n:
        return {"ok": False, "rel_l2": None, "max_rel": None,
                "message": f"{output_path}: {out.size} values, expected {n} (shape {list(shape)})"}
    if not np.all(np.isfinite(out)):
        return {"ok": False, "rel_l2": None, "max_rel": None,
                "message": f"{output_path}: {int(np.sum(~np.isfinite(out)))} values are NaN or infinite"}
    norm = np.linalg.norm(ref)
    rel = float(np.linalg.norm(out - ref) / norm) if norm > 0 else float(np.linalg.norm(out))
    max_rel = float(np.max(np.abs(out - ref)) / max(np.max(np.abs(ref)), 1e-30))
    ok = rel <= tol
    return {"ok": ok, "rel_l2": rel, "max_rel": max_rel,
            "message": "" if ok else f"relative L2 error {rel:.3g} > {tol:g}: wrong answer, not timed"}
