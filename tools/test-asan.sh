#!/usr/bin/env bash
# The whole suite under AddressSanitizer + UndefinedBehaviorSanitizer (the asan preset: CPU only,
# so the [cuda] tests skip; UBSan's arithmetic checks, its pointer checks left to ASan: see
# docs/TESTS.md). Only the test program and the CLI it runs are built. CI runs it
# (.ci/run); locally after a change to memory handling, a reader or a parser:
#   bash tools/test-asan.sh [ctest options]
# The full CTest output goes to build/asan/ctest.log; the last lines are printed on failure.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh >/dev/null
cmake --preset asan >/dev/null
cmake --build --preset asan -j "$(nproc)" --target scratchnet_tests
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
log=build/asan/ctest.log
ctest --preset asan -j "$(nproc)" "$@" >"$log" 2>&1 || { tail -80 "$log"; echo "asan: FAILED (full log: $log)"; exit 1; }
echo "asan: $(grep -E 'tests passed' "$log")"
