#!/usr/bin/env bash
# Runs a command with the settings that give the peers (PyTorch, LibTorch, ONNX
# Runtime) their best CPU speed on Debian, for benchmark commands only (never
# in tests or CI):
#   - OpenBLAS instead of the reference BLAS (where Debian's libopenblas0-pthread
#     is installed; otherwise the BLAS is left as it is): Debian's torch links libblas.so.3,
#     which the alternatives system may point at the reference BLAS (libblas3,
#     ~7 GFLOP/s). Putting OpenBLAS's directory first on LD_LIBRARY_PATH makes
#     this process load OpenBLAS's libblas.so.3 / liblapack.so.3 whatever the
#     machine-wide alternative is (nothing is changed machine-wide).
#   - a malloc that keeps its memory: by default glibc serves blocks above its
#     mmap threshold (at most 32 MB) with mmap and unmaps them when freed, so
#     every 100 MB activation is page-faulted in and zeroed again on every call.
#   - OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset, so OpenBLAS picks its kernel
#     from the CPU it runs on (the chosen one is recorded, see
#     tools/reference/runtime_info.py).
#
#   tools/bench/peers/fair-env.sh CMD [ARGS...]
#   tools/bench/peers/fair-env.sh --print     # the settings, one per line
set -euo pipefail
OPENBLAS_DIR=${SN_OPENBLAS_DIR:-/usr/lib/x86_64-linux-gnu/openblas-pthread}
TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=17179869184

library_path=${LD_LIBRARY_PATH:-}
if [[ -e $OPENBLAS_DIR/libblas.so.3 ]]; then
  library_path=$OPENBLAS_DIR${library_path:+:$library_path}
else
  # E.g. a pip PyTorch on the GPU machine, which brings its own BLAS: the
  # BLAS is left as it is (and recorded by the benchmark), the rest applies.
  echo "fair-env: no $OPENBLAS_DIR/libblas.so.3 (Debian's libopenblas0-pthread): the BLAS is left as it is" >&2
fi
if [[ "${1:-}" == "--print" ]]; then
  printf 'LD_LIBRARY_PATH=%s\nGLIBC_TUNABLES=%s\nOPENBLAS_CORETYPE unset\nOPENBLAS_L2_SIZE unset\n' \
    "$library_path" "$TUNABLES"
  exit 0
fi
settings=(-u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE GLIBC_TUNABLES="$TUNABLES")
[[ -n $library_path ]] && settings+=(LD_LIBRARY_PATH="$library_path")  # never an empty one: that means "."
exec env "${settings[@]}" "$@"
