"""What a Python benchmark process actually runs on: the BLAS and other native
libraries mapped into it, OpenBLAS's chosen kernel, and the environment
settings that change its speed. Recorded with every PyTorch timing, because
the same torch build is 2-6x slower with Debian's reference BLAS or with
glibc's default malloc thresholds (issue 13).
"""
import ctypes
import os

# Native libraries whose choice changes the speed of a CPU forward pass.
_INTERESTING = ("libblas", "liblapack", "openblas", "libmkl", "libdnnl", "libmkldnn", "libonnxruntime", "libgomp",
                "libiomp", "libomp")
# Environment variables that steer them; recorded as set (or absent).
ENV_KEYS = ("GLIBC_TUNABLES", "LD_LIBRARY_PATH", "LD_PRELOAD", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
            "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT")


def mapped_libraries(pid="self"):
    """Paths of the interesting shared libraries mapped into process `pid`, as the kernel lists them."""
    found = []
    try:
        with open(f"/proc/{pid}/maps") as f:
            for line in f:
                path = line.split()[-1] if "/" in line else ""
                name = os.path.basename(path)
                if path and any(k in name for k in _INTERESTING) and path not in found:
                    found.append(path)
    except OSError as e:
        return [f"/proc/{pid}/maps unreadable: {e}"]
    return found


def _blas_libraries(pid):
    """The BLAS a program's sgemm_ calls reach: the libblas.so.3 it links (Debian's torch does), which the
    alternatives system or LD_LIBRARY_PATH points at the reference BLAS or at OpenBLAS. An OpenBLAS mapped
    only for LAPACK does not count. Falls back to any OpenBLAS when no libblas is mapped."""
    libs = mapped_libraries(pid)
    blas = [p for p in libs if os.path.basename(p).startswith("libblas")]
    return blas or [p for p in libs if "openblas" in os.path.basename(p)]


def openblas_info(pid="self"):
    """OpenBLAS's kernel choice ('corename', e.g. SkylakeX or Zen) and build config, through ctypes, when the
    BLAS this process uses is OpenBLAS; None otherwise (e.g. the reference BLAS). Only for this process."""
    for path in _blas_libraries(pid):
        try:
            lib = ctypes.CDLL(path)  # already loaded: the same handle, nothing new is initialized
        except OSError:
            continue
        if not hasattr(lib, "openblas_get_corename"):  # dlsym also searches the library's dependencies
            continue
        lib.openblas_get_corename.restype = ctypes.c_char_p
        lib.openblas_get_config.restype = ctypes.c_char_p
        return {"library": os.path.realpath(path), "corename": lib.openblas_get_corename().decode(),
                "config": lib.openblas_get_config().decode(), "threads": lib.openblas_get_num_threads()}
    return None


def blas_summary(pid="self"):
    """One line: which BLAS sgemm_ reaches, and OpenBLAS's kernel if it is OpenBLAS."""
    blas = sorted({os.path.realpath(p) for p in _blas_libraries(pid)})
    text = ", ".join(blas) if blas else "no BLAS mapped"
    ob = openblas_info(pid) if pid == "self" else None
    if ob:
        text += f" (OpenBLAS {ob['config'].split()[1]}, core {ob['corename']})"
    return text


def environment(keys=None):
    """The variables in `keys` (default ENV_KEYS) as this process sees them; None when unset."""
    return {k: os.environ.get(k) for k in (keys or ENV_KEYS)}
