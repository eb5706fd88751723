#!/usr/bin/env bash
# Runs the [cuda] tests on the CPU emulator (tools/cudasim): the kernels' index
# math, bounds, barriers and reductions checked without a GPU. cuDNN is not
# emulated: tests tagged [cudnn] are left out. Slow-ish (every GPU thread is a fiber).
# Then the [sanitize] subset again with the allocator's cache off
# (SCRATCHNET_CUDA_NO_CACHE=1): every block is then the size asked for, with cudasim's
# guard page at most 255 bytes behind its end (not behind a size class's slack of up to
# 25%), so a kernel that reads or writes past the end of its buffer crashes.
# The build is the `cudasim` preset of CMakePresets.json (configure, build and test
# presets, and a workflow: `cmake --workflow --preset cudasim` runs the first stage as
# one CTest test per test case).
#   bash tools/cudasim/check.sh [extra Catch2 args]
set -euo pipefail
cd "$(dirname "$0")/../.."
cmake --preset cudasim >/dev/null
cmake --build --preset cudasim -j "$(nproc)"
./build/cudasim/scratchnet_tests "[cuda]~[cudnn]" "$@"
echo "== again without the allocator's cache (SCRATCHNET_CUDA_NO_CACHE=1): the [sanitize] subset"
SCRATCHNET_CUDA_NO_CACHE=1 ./build/cudasim/scratchnet_tests "[sanitize]~[cudnn]" "$@"
