#!/usr/bin/env bash
# The README's test command: install dependencies, build (release preset), run
# the whole Catch2 suite through CTest. CUDA sources are compiled when nvcc
# and cuDNN exist; [cuda] tests report themselves skipped without a GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)"
# No GPU here: run the [cuda] tests' kernel logic on the CPU emulator (tools/cudasim) too.
bash tools/cudasim/check.sh >/tmp/scratchnet-cudasim.log 2>&1 || { tail -50 /tmp/scratchnet-cudasim.log; exit 1; }
tail -2 /tmp/scratchnet-cudasim.log
ctest --preset release -j "$(nproc)" "$@"
