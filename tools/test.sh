#!/usr/bin/env bash
# The README's test command: install dependencies, build (release preset), run
# the whole Catch2 suite through CTest. CUDA sources are compiled when nvcc
# and cuDNN exist; [cuda] tests report themselves skipped without a GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)"
ctest --preset release -j "$(nproc)" "$@"
