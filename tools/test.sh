#!/usr/bin/env bash
# The README's test command: install dependencies, build the release preset (the CUDA sources too
# when nvcc and cuDNN exist), check the installed package with an example consumer, run the whole
# Catch2 suite through CTest; the output ends with CTest's summary. [cuda] tests report themselves
# skipped without a GPU.
#   bash tools/test.sh [ctest options]      e.g. -R resnet, --rerun-failed
# CI (.ci/run) runs two more stages, each also runnable on its own (docs/TESTS.md):
#   bash tools/test-asan.sh        the suite under AddressSanitizer + UBSan (the asan preset)
#   bash tools/cudasim/check.sh    the [cuda] tests' kernels on the CPU emulator
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
# ONNX Runtime (npm) checks what `scratchnet export --format onnx` writes; without it that test is skipped.
tools/install-ort.sh || echo "test.sh: warning: onnxruntime-node could not be installed; the ONNX Runtime test will be skipped"
# SCRATCHNET_WERROR=ON (CI sets it): warnings are errors, in C++ and in nvcc's host and device code.
cmake --preset release ${SCRATCHNET_WERROR:+-DSCRATCHNET_WERROR=$SCRATCHNET_WERROR} >/dev/null
cmake --build --preset release -j "$(nproc)"
# The installed package: cmake --install, examples/classify built against it, classifying cat.jpg.
tools/check-install.sh build/release
ctest --preset release -j "$(nproc)" "$@"
