#!/usr/bin/env bash
# The one command for the peer benchmark: scratchnet's frozen-inference ResNet
# forward against the strongest CPU peers, ONNX Runtime and PyTorch (frozen
# with oneDNN, and eager), all given the same threads and identical weights,
# every answer checked before timing (tools/bench/peers/driver.py).
#
#   tools/bench/run-peer-bench.sh                # ResNet-18/50 at batch 1 and 32 + the experiment's features
#   tools/bench/run-peer-bench.sh --quick        # smoke test: 2 rounds, no feature case (~2 minutes)
#   tools/bench/run-peer-bench.sh --models resnet50 --batches 32 --threads 2 --rounds 9
#   tools/bench/run-peer-bench.sh --models vgg16,mobilenet_v2 --cases models   # random-weight VGG-16, MobileNetV2
#   tools/bench/run-peer-bench.sh --cases features   # only the 483 photos' backbone features
#   (any tools/bench/peers/driver.py option; SN_PRESET=cpu to build without CUDA)
#
# Installs what is missing (Debian packages via tools/install-deps.sh --reference,
# npm onnxruntime-node into .cache/peers/node), builds scratchnet and its worker,
# fetches the ResNet-50 weights, makes the ResNet-18 weights and ONNX files
# (cached in .cache/peers/), then prints a table per case and writes
# build/bench/peers.json and build/bench/peers.md. The peers run through
# tools/bench/peers/fair-env.sh (OpenBLAS, malloc settings); OPENBLAS_CORETYPE and
# OPENBLAS_L2_SIZE are unset for this command only.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [[ " $* " == *" -h "* || " $* " == *" --help "* ]]; then
  sed -n '2,20p' "$0"
  exec /usr/bin/python3 tools/bench/peers/driver.py --help
fi

preset=${SN_PRESET:-release}
node_dir=.cache/peers/node

tools/install-deps.sh --reference >/dev/null
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" -j "$(nproc)" --target scratchnet bench_peer_scratchnet ||
  { echo "run-peer-bench: build failed (cmake --build --preset $preset --target bench_peer_scratchnet)" >&2; exit 1; }
tools/fetch-weights.sh --scratchnet "build/$preset/scratchnet" >/dev/null

tools/install-ort.sh  # npm onnxruntime-node into $node_dir

mkdir -p build/bench
exec env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 tools/bench/peers/driver.py \
  --scratchnet "build/$preset/scratchnet" --scratchnet-worker "build/$preset/bench_peer_scratchnet" \
  --node-modules "$node_dir/node_modules" "$@"
