#!/usr/bin/env bash
# Runs the [cuda] tests on the CPU emulator (tools/cudasim): the kernels' index
# math, bounds, barriers and reductions checked without a GPU. cuDNN is not
# emulated: tests tagged [cudnn] are left out. Slow-ish (every GPU thread is a fiber).
#   bash tools/cudasim/check.sh [extra Catch2 args]
set -euo pipefail
cd "$(dirname "$0")/../.."
cmake -S . -B build/cudasim -G Ninja -DCMAKE_BUILD_TYPE=Release -DSCRATCHNET_CUDASIM=ON >/dev/null
cmake --build build/cudasim -j "$(nproc)" --target scratchnet_tests
./build/cudasim/scratchnet_tests "[cuda]~[cudnn]" "$@"
