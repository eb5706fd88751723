#!/usr/bin/env bash
# Installs a build (cmake --install) into BUILD_DIR/install, builds the example consumer
# examples/classify against the installed CMake package (find_package(scratchnet),
# scratchnet::models), and classifies ../shared/datasets/cat.jpg with it. tools/test.sh runs it.
#   tools/check-install.sh [BUILD_DIR]     (default build/release, already built)
# Weights: weights/resnet50-imagenet.snw when present (then cat.jpg must come out as one of the
# ImageNet cat classes 281-285); otherwise a small random ResNet-18 converted by the installed
# `scratchnet convert` from tests/fixtures/resnet18_w4.pth (the class is then meaningless; what is
# checked is that the consumer builds, links, loads weights and classifies).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
prefix=$PWD/$build/install
consumer=$PWD/$build/example-classify
rm -rf "$prefix" "$consumer"
cmake --install "$build" --prefix "$prefix" >/dev/null
cmake -S examples/classify -B "$consumer" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$consumer" >/dev/null
cat_jpg=../shared/datasets/cat.jpg
if [[ -f weights/resnet50-imagenet.snw ]]; then
  out=$("$consumer/classify" weights/resnet50-imagenet.snw "$cat_jpg")
  echo "check-install: $out"
  class=$(sed -n 's/.*: class \([0-9]*\) .*/\1/p' <<<"$out")
  [[ -n "$class" && "$class" -ge 281 && "$class" -le 285 ]] ||
    { echo "check-install: cat.jpg is not in an ImageNet cat class (281-285)" >&2; exit 1; }
else
  "$prefix/bin/scratchnet" convert --from pth tests/fixtures/resnet18_w4.pth --out "$consumer/r18_w4.snw" >/dev/null
  out=$("$consumer/classify" "$consumer/r18_w4.snw" "$cat_jpg")
  echo "check-install: $out (random test weights: weights/resnet50-imagenet.snw is absent)"
  [[ "$out" == *": class "*", probability "* ]] || { echo "check-install: unexpected output" >&2; exit 1; }
fi
echo "check-install: examples/classify built against $prefix (find_package(scratchnet), scratchnet::models)"
