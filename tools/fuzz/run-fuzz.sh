#!/usr/bin/env bash
# Runs one fuzz target (or all of them, one after the other) for a given time.
#
#   tools/fuzz/run-fuzz.sh TARGET SECONDS [libFuzzer options...]
#   tools/fuzz/run-fuzz.sh all SECONDS          # SECONDS for each target
#
# TARGET is weight_file, pth, tfjs, checkpoint, image or onnx. Builds the `fuzz`
# preset (clang, libFuzzer, ASan+UBSan) and runs build/fuzz/tools/fuzz/fuzz_TARGET
# at the lowest priority (nice 19), on one core, starting from the seeds in
# tools/fuzz/corpus/TARGET; the growing corpus stays in build/fuzz/corpus/TARGET
# (not committed) so a second run goes on where the first stopped. A crash or a
# sanitizer report stops the run and leaves the input in build/fuzz/crashes/TARGET/:
# reproduce it with `build/fuzz/tools/fuzz/fuzz_TARGET FILE`, then copy it to
# tests/fixtures/regress/TARGET/ where tests/test_fuzz_regress.cpp runs it through
# the normal reader. Needs clang and libFuzzer: `tools/install-deps.sh --fuzz`.
set -euo pipefail
cd "$(dirname "$0")/../.."
target=${1:?usage: run-fuzz.sh TARGET|all SECONDS [libFuzzer options]}
seconds=${2:?usage: run-fuzz.sh TARGET|all SECONDS [libFuzzer options]}
shift 2

if [[ "$target" == all ]]; then
  for t in weight_file pth tfjs checkpoint image onnx; do "$0" "$t" "$seconds" "$@"; done
  exit 0
fi

if [[ -z "${SN_FUZZ_NO_DEPS:-}" ]]; then tools/install-deps.sh --fuzz; fi
[[ -f build/fuzz/build.ninja ]] || cmake --preset fuzz >/dev/null
nice -n 19 cmake --build --preset fuzz -j2 --target "fuzz_$target"

work=build/fuzz/corpus/$target
crashes=build/fuzz/crashes/$target/
mkdir -p "$work" "$crashes"
dict=()
[[ -f tools/fuzz/$target.dict ]] && dict=(-dict="tools/fuzz/$target.dict")
# Limits: an input may make the reader allocate at most 512 MB at once
# (a larger request from a small file is a finding: sizes must be checked
# against the file first), use 2 GB in all, and take 60 s (wall time: generous, since at nice 19
# on a busy machine an input that needs 0.5 s of CPU can take 10 s).
# Inputs up to 64 KB; the ONNX seeds (whole small ResNets in protobuf) need up to 128 KB.
max_len=65536
[[ "$target" == onnx ]] && max_len=131072
echo "run-fuzz: fuzz_$target for ${seconds}s"
nice -n 19 "build/fuzz/tools/fuzz/fuzz_$target" -max_total_time="$seconds" -rss_limit_mb=2048 \
  -malloc_limit_mb=512 -timeout=60 -max_len="$max_len" -print_final_stats=1 -artifact_prefix="$crashes" \
  "${dict[@]}" "$@" "$work" "tools/fuzz/corpus/$target"
