#!/usr/bin/env bash
# gpu-pack.sh — prepares, on this machine, what the GPU machine's device call
# must carry besides the working tree, checks it fits, and prints the call.
#
#   bash tools/gpu-pack.sh [--cpu-reference]
#
# A device call takes at most 64 MiB in all (tracked files, carried paths).
# It carries:
#   .gpudeps.tar.gz                 header-only build dependencies (tools/gpu-deps.sh)
#   .gpucarry/*.snwpack             ResNet-50 weights rounded to bfloat16, 33 MiB
#                                   (tools/gpu_weights.py; float32 is 98 MiB)
#   shared/datasets/catanddog       the photos, 17 MiB, through the link shared -> ../shared
#                                   (a path through a link travels as a folder; the link
#                                   and .gpucarry/ are git-ignored: nothing is copied into git)
# --cpu-reference also runs the 13-epoch experiment here on the CPU with the same
# rounded weights and default seed, and carries its result
# (.gpucarry/cpu-reference.txt), which tools/gpu-check.sh prints beside the GPU run's.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${SN_SHARED:-../shared}
WEIGHTS=weights/resnet50-imagenet.snw
ROUNDED=weights/resnet50-imagenet-bf16.snw
PACK=.gpucarry/resnet50-imagenet-bf16.snwpack
PY=/usr/bin/python3
[[ -x $PY ]] || PY=python3

tools/install-deps.sh   # the -dev packages gpu-deps.sh packs (apt-get only for missing ones)
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" --target scratchnet
[[ -f .gpudeps.tar.gz ]] || bash tools/gpu-deps.sh
[[ -f $WEIGHTS ]] || tools/fetch-weights.sh
mkdir -p .gpucarry
if [[ ! -f $PACK || ! -f $ROUNDED || $WEIGHTS -nt $PACK ]]; then
  "$PY" tools/gpu_weights.py pack "$WEIGHTS" "$PACK" --rounded "$ROUNDED"
fi
[[ -d $SHARED/datasets/catanddog/train ]] || { echo "gpu-pack: $SHARED/datasets/catanddog not found" >&2; exit 1; }
if [[ ! -e shared ]]; then
  ln -s "$SHARED" shared
elif [[ ! -L shared ]]; then
  echo "gpu-pack: ./shared exists and is not the link to $SHARED; leaving it" >&2
fi

if [[ ${1:-} == --cpu-reference ]]; then
  run=runs/cpu-reference-bf16
  rm -rf "$run"
  start=$(date +%s)
  ./build/release/scratchnet train --data "$SHARED/datasets/catanddog" --out "$run" --device cpu --weights "$ROUNDED"
  ./build/release/scratchnet eval --run "$run" --data "$SHARED/datasets/catanddog" --device cpu | tee /tmp/gpu-pack-eval.txt
  {
    echo "CPU reference ($(date -u +%Y-%m-%d), $(git rev-parse --short HEAD), $(nproc) threads, $(( $(date +%s) - start )) s):"
    echo "  scratchnet train --device cpu --weights $ROUNDED (default seed and options)"
    grep -iE "best" /tmp/gpu-pack-eval.txt | head -3 | sed 's/^/  /'
  } >.gpucarry/cpu-reference.txt
  cat .gpucarry/cpu-reference.txt
fi

# What will travel: tracked + untracked-not-ignored files, and the carried paths.
tree_bytes=$( { git ls-files -z --cached --others --exclude-standard | xargs -0 -r du -cbL 2>/dev/null | tail -1 | cut -f1; } || echo 0)
carry_bytes=$(du -cbL .gpudeps.tar.gz .gpucarry shared/datasets/catanddog | tail -1 | cut -f1)
total=$((tree_bytes + carry_bytes))
awk -v t="$tree_bytes" -v c="$carry_bytes" 'BEGIN { m = 1048576;
  printf "gpu-pack: working tree %.1f MiB + carried %.1f MiB = %.1f MiB (limit 64 MiB)\n", t / m, c / m, (t + c) / m }'
((total < 64 * 1048576)) || { echo "gpu-pack: too large for one device call" >&2; exit 1; }
echo 'device call: run(command="bash tools/gpu-check.sh", carry=[".gpudeps.tar.gz", ".gpucarry", "shared/datasets/catanddog"], timeout_s=560)'
