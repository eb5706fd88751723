#!/usr/bin/env bash
# Installs ONNX Runtime for node (npm onnxruntime-node, CPU library for linux x64 inside the
# package) into .cache/peers/node, where the peer benchmark (tools/bench/run-peer-bench.sh) and
# the test of `scratchnet export --format onnx` (tests/test_export.cpp) find it. Instant when present.
#   tools/install-ort.sh          needs npm (tools/install-deps.sh installs Debian's)
set -euo pipefail
cd "$(dirname "$0")/.."
ORT_VERSION=1.30.0
node_dir=.cache/peers/node
ort_pkg=$node_dir/node_modules/onnxruntime-node
if [[ ! -f $ort_pkg/bin/napi-v6/linux/x64/libonnxruntime.so.1 ]] ||
   ! grep -q "\"version\": \"$ORT_VERSION\"" "$ort_pkg/package.json"; then
  echo "install-ort: npm install onnxruntime-node@$ORT_VERSION into $node_dir"
  mkdir -p "$node_dir"
  # Without the flag its install script tries to download a CUDA add-on and fails;
  # the CPU library for linux x64 ships inside the package.
  npm install --prefix "$node_dir" --no-audit --no-fund --silent \
    "onnxruntime-node@$ORT_VERSION" --onnxruntime-node-install=skip
  [[ -f $ort_pkg/bin/napi-v6/linux/x64/libonnxruntime.so.1 ]] ||
    { echo "install-ort: $ort_pkg has no linux x64 library after npm install" >&2; exit 1; }
fi
