#!/usr/bin/env bash
# The README's test command: install dependencies, build (release preset), check
# the installed package with an example consumer, run the whole Catch2 suite through CTest: under the sanitizers first (asan preset),
# then the release build last, so that the output ends with CTest's summary.
# CUDA sources are compiled when nvcc and cuDNN exist; [cuda] tests report
# themselves skipped without a GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
# ONNX Runtime (npm) checks what `scratchnet export --format onnx` writes; without it that test is skipped.
tools/install-ort.sh || echo "test.sh: warning: onnxruntime-node could not be installed; the ONNX Runtime test will be skipped"
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)"
# The installed package: cmake --install, examples/classify built against it, classifying cat.jpg.
tools/check-install.sh build/release
# No GPU here: run the [cuda] tests' kernel logic on the CPU emulator (tools/cudasim) too.
bash tools/cudasim/check.sh >/tmp/scratchnet-cudasim.log 2>&1 || { tail -50 /tmp/scratchnet-cudasim.log; exit 1; }
tail -2 /tmp/scratchnet-cudasim.log
# Second stage: the whole suite again under AddressSanitizer + UndefinedBehaviorSanitizer (the asan
# preset: CPU only, so the [cuda] tests skip). Only the test program (and the CLI it runs) is built.
# SN_ASAN=0 skips it.
if [[ "${SN_ASAN:-1}" != 0 ]]; then
  cmake --preset asan >/dev/null
  cmake --build --preset asan -j "$(nproc)" --target scratchnet_tests
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  ctest --preset asan -j "$(nproc)" "$@" >/tmp/scratchnet-asan.log 2>&1 || { tail -80 /tmp/scratchnet-asan.log; exit 1; }
  echo "asan: $(grep -E 'tests passed' /tmp/scratchnet-asan.log)"
  unset ASAN_OPTIONS UBSAN_OPTIONS
fi
ctest --preset release -j "$(nproc)" "$@"
