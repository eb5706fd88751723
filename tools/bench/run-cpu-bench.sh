#!/usr/bin/env bash
# The one command for the CPU comparison with LibTorch: installs Debian's
# LibTorch if missing, builds bench_libtorch (CMake option SCRATCHNET_LIBTORCH),
# and prints the op-level and model-level tables (ratio scratchnet/LibTorch
# time, lower is better). Results also go to build/bench/: JSON, an SVG chart
# of the per-case ratios, and the Markdown tables docs/PERFORMANCE.md quotes.
#
#   tools/bench/run-cpu-bench.sh            # everything, about 10 minutes on 2 cores
#   tools/bench/run-cpu-bench.sh --quick    # fewer shapes and rounds, a couple of minutes
#   tools/bench/run-cpu-bench.sh --groups conv --filter 'b32'   # any bench_libtorch option
set -euo pipefail
cd "$(dirname "$0")/../.."
tools/install-deps.sh --reference >/dev/null
cmake --preset release -DSCRATCHNET_LIBTORCH=ON >/dev/null
cmake --build --preset release -j "$(nproc)" --target bench_libtorch
mkdir -p build/bench
exec build/release/tools/bench/libtorch/bench_libtorch \
  --json build/bench/bench-cpu.json --svg build/bench/bench-cpu.svg --markdown build/bench/bench-cpu.md "$@"
