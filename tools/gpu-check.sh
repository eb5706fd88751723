#!/usr/bin/env bash
# gpu-check.sh — every check of the CUDA backend that needs a GPU, in one go, in under 8 minutes.
#
#   bash tools/gpu-check.sh [OUT_DIR]        (OUT_DIR: default $OUT, else ./gpu-check-out)
#
# Made for the lent H100/H200 machine (16 cores, nvcc 13, PyTorch with CUDA in
# its python3, maybe no cuDNN outside PyTorch, no Debian -dev packages, no
# network). Before the device call, here:  bash tools/gpu-pack.sh --cpu-reference
# (packs the header-only dependencies into .gpudeps.tar.gz, the ResNet-50
# weights rounded to bfloat16 into .gpucarry/, links shared -> ../shared for
# the photos, runs the experiment on this CPU with the same weights), then
#   run(command="bash tools/gpu-check.sh", carry=[".gpudeps.tar.gz", ".gpucarry", "shared/datasets/catanddog"], timeout_s=560)
#
# Steps, each under `timeout` so that a hang cannot eat the budget:
#   env        nvidia-smi, nvcc, g++, torch, where cuDNN and cuBLAS are
#   build      Release, -DSCRATCHNET_NATIVE=OFF (the CPU there differs), all cores
#   tests      every [cuda] test through CTest (names start with "cuda "), with
#              CUDA_LAUNCH_BLOCKING=1: a kernel fault is reported by the test whose kernel
#              faulted, not by the next API call (which would fail every later test too)
#   memcheck   compute-sanitizer memcheck over the [sanitize] subset (small shapes), with the
#              allocator's cache off (SCRATCHNET_CUDA_NO_CACHE=1: exact-size cudaMalloc, cudaFree
#              on release, so a write into a size class's slack or a use after free is seen)
#   racecheck  compute-sanitizer racecheck over the same subset (shared-memory races);
#              these two run right after the tests, side by side (they time nothing), so the
#              time budget can never skip them; each reports its Catch summary and its
#              sanitizer summary apart (a failed assertion is not a sanitizer error)
#   bench      tools/bench/bench_gpu: SGEMM vs cuBLAS at 4096^3, every ResNet conv shape vs cuDNN
#   experiment optional: `scratchnet train/eval --device cuda` and PyTorch's run on the same card
#              (tools/bench/bench_experiment.sh), when data (shared/datasets/catanddog or $SN_DATA)
#              and weights (.gpucarry/*.snwpack, weights/*.snw or $SN_WEIGHTS) travelled. Criterion
#              against the CPU run (.gpucarry/cpu-reference.txt): best test accuracy within one
#              photo (summation orders differ between the devices, so 13 epochs of training do
#              not give the same bits; a photo on the decision boundary may flip)
# GPU_CHECK_SKIP="memcheck racecheck bench" skips steps by name (e.g. to give the experiment a call of its own);
# GPU_CHECK_BUDGET_S (default 470) is the whole script's time budget.
# Files written (at most 8 come back): env.log build.log tests.log sanitizer.log bench.log
# bench.json experiment.log summary.txt. The summary table is printed last.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT_DIR=${1:-${OUT:-$ROOT/gpu-check-out}}
mkdir -p "$OUT_DIR"
START=$(date +%s)
DEADLINE=$((START + ${GPU_CHECK_BUDGET_S:-470}))
JOBS=$(nproc)
BUILD=$ROOT/build/gpu
ROWS=()

SAN_EXIT=86  # compute-sanitizer's exit code when it found errors (Catch's own is the number of failed cases)

left() { echo $((DEADLINE - $(date +%s))); }

# step NAME LIMIT_S LOG CMD...: run CMD under timeout (LIMIT_S, or less if the
# budget is running out), output appended to LOG, one row for the summary.
step() {
  local name=$1 limit=$2 log=$3
  shift 3
  if [[ " ${GPU_CHECK_SKIP:-} " == *" $name "* ]]; then
    ROWS+=("$name|skipped (GPU_CHECK_SKIP)|0")
    return 0
  fi
  local l
  l=$(left)
  ((l < limit)) && limit=$l
  if ((limit < 10)); then
    ROWS+=("$name|SKIPPED (time budget spent)|0")
    echo "== $name: skipped, time budget spent" >>"$log"
    return 99
  fi
  echo "== $name (limit ${limit}s): $*" >>"$log"
  local t0 rc status
  t0=$(date +%s)
  timeout --kill-after=10 "$limit" "$@" >>"$log" 2>&1
  rc=$?
  status=ok
  if ((rc == 124 || rc == 137)); then status="TIMEOUT after ${limit}s"
  elif ((rc == 77)); then status="SKIPPED (no GPU)"
  elif ((rc == SAN_EXIT)); then status="SANITIZER ERRORS (exit $rc)"
  elif ((rc != 0)); then status="FAILED (exit $rc)"; fi
  ROWS+=("$name|$status|$(($(date +%s) - t0))")
  echo "== $name: $status in $(($(date +%s) - t0))s" >>"$log"
  return $rc
}

# ---- env: the machine, and where the libraries are ------------------------------
ENV_LOG=$OUT_DIR/env.log
{
  date -u +"date: %Y-%m-%dT%H:%M:%SZ"
  nvidia-smi || echo "nvidia-smi failed"
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv || true
  echo "nproc: $JOBS"
  nvcc --version 2>/dev/null || /usr/local/cuda/bin/nvcc --version || echo "no nvcc"
  g++ --version | head -1
  cmake --version | head -1
  python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'cudnn', torch.backends.cudnn.version())" || true
  command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer || echo "no compute-sanitizer on PATH"
} >"$ENV_LOG" 2>&1
export PATH=$PATH:/usr/local/cuda/bin

# Header-only dependencies carried from the dev machine (tools/gpu-deps.sh).
CMAKE_ARGS=(-G Ninja -DCMAKE_BUILD_TYPE=Release -DSCRATCHNET_NATIVE=OFF -DSCRATCHNET_CUDA=ON
            -DCMAKE_CUDA_ARCHITECTURES=90)
if [[ -f .gpudeps.tar.gz ]]; then
  rm -rf /tmp/gpudeps && mkdir -p /tmp/gpudeps && tar -C /tmp/gpudeps -xzf .gpudeps.tar.gz
  CMAKE_ARGS+=(-DCMAKE_PREFIX_PATH=/tmp/gpudeps/usr -DZLIB_ROOT=/tmp/gpudeps/usr)
  echo "deps: using .gpudeps.tar.gz" >>"$ENV_LOG"
else
  echo "deps: no .gpudeps.tar.gz (run tools/gpu-deps.sh and carry it); hoping for system packages" >>"$ENV_LOG"
fi

# cuDNN: the toolkit's, else the one inside PyTorch's Python installation. Its
# wheel has only libcudnn.so.9, so a folder with the plain link name is made.
if [[ ! -f /usr/local/cuda/include/cudnn.h ]]; then
  CUDNN_PY=$(python3 -c "import nvidia.cudnn as m; print(list(m.__path__)[0])" 2>/dev/null)
  if [[ -n "$CUDNN_PY" && -f "$CUDNN_PY/include/cudnn.h" ]]; then
    mkdir -p /tmp/cudnn/lib
    ln -sfn "$CUDNN_PY/include" /tmp/cudnn/include
    ln -sf "$(ls "$CUDNN_PY"/lib/libcudnn.so* | head -1)" /tmp/cudnn/lib/libcudnn.so
    export CUDNN_ROOT=/tmp/cudnn
    export LD_LIBRARY_PATH=$CUDNN_PY/lib:${LD_LIBRARY_PATH:-}
    echo "cudnn: from python: $CUDNN_PY" >>"$ENV_LOG"
  else
    echo "cudnn: NOT FOUND (no /usr/local/cuda/include/cudnn.h, no nvidia.cudnn in python3)" >>"$ENV_LOG"
  fi
else
  echo "cudnn: /usr/local/cuda" >>"$ENV_LOG"
fi
# cuBLAS: the toolkit's, else the pip one (CMake's FindCUDAToolkit reads these cache variables).
# Wheel layouts: CUDA 12's nvidia/cublas/{lib,include}; CUDA 13's put every library in
# nvidia/cu13/{lib,include}. The one matching nvcc's major version is tried first.
if ! ls /usr/local/cuda/lib64/libcublas.so* >/dev/null 2>&1; then
  CUDA_MAJOR=$(nvcc --version 2>/dev/null | sed -n 's/.*release \([0-9]*\)\..*/\1/p' | head -1)
  CUBLAS_PY=""
  for root in $(python3 -c "import nvidia; print(' '.join(nvidia.__path__))" 2>/dev/null); do
    for d in "$root/cu${CUDA_MAJOR:-13}" "$root/cu13" "$root/cublas"; do
      if [[ -z "$CUBLAS_PY" ]] && ls "$d"/lib/libcublas.so* >/dev/null 2>&1; then CUBLAS_PY=$d; fi
    done
  done
  if [[ -n "$CUBLAS_PY" ]]; then
    CMAKE_ARGS+=("-DCUDA_cublas_LIBRARY=$(ls "$CUBLAS_PY"/lib/libcublas.so* | head -1)"
                 "-DCUDA_cublasLt_LIBRARY=$(ls "$CUBLAS_PY"/lib/libcublasLt.so* | head -1)"
                 "-DCMAKE_CXX_FLAGS=-I$CUBLAS_PY/include")
    export LD_LIBRARY_PATH=$CUBLAS_PY/lib:${LD_LIBRARY_PATH:-}
    echo "cublas: from python: $CUBLAS_PY" >>"$ENV_LOG"
  else
    echo "cublas: NOT FOUND in /usr/local/cuda/lib64 nor python3" >>"$ENV_LOG"
  fi
fi
echo "cmake args: ${CMAKE_ARGS[*]}" >>"$ENV_LOG"

# ---- build ----------------------------------------------------------------------
BUILD_LOG=$OUT_DIR/build.log
step configure 90 "$BUILD_LOG" cmake -S "$ROOT" -B "$BUILD" "${CMAKE_ARGS[@]}" &&
  step build 240 "$BUILD_LOG" cmake --build "$BUILD" -j "$JOBS" --target scratchnet_tests bench_gpu scratchnet
BUILT=$?
grep -E "CUDA backend|error" "$BUILD_LOG" | head -20 >>"$ENV_LOG"

if ((BUILT == 0)); then
  # ---- [cuda] tests ---------------------------------------------------------------
  TESTS_LOG=$OUT_DIR/tests.log
  # -V: every test's output is kept (the cuDNN tests print the algorithms they ran).
  step tests 150 "$TESTS_LOG" env CUDA_LAUNCH_BLOCKING=1 ctest --test-dir "$BUILD" -R '^cuda ' -j 4 --timeout 140 -V

  # ---- compute-sanitizer over the small [sanitize] subset, right after the tests -----------
  # memcheck and racecheck do not time anything: they run side by side, each into its own
  # log (appended to sanitizer.log afterwards: at most 8 files come back). The allocator's
  # cache is off for both (SCRATCHNET_CUDA_NO_CACHE=1, kernels/allocator.h).
  SAN_LOG=$OUT_DIR/sanitizer.log
  SAN=$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer \
        /usr/local/cuda*/compute-sanitizer/compute-sanitizer 2>/dev/null | head -1)
  [[ -n "$SAN" ]] || { SAN=compute-sanitizer; echo "compute-sanitizer: not found on PATH nor under /usr/local/cuda*" >>"$SAN_LOG"; }
  rm -f /tmp/gpu-check-row-* /tmp/gpu-check-san-*
  for tool in memcheck racecheck; do
    (step $tool 150 /tmp/gpu-check-san-$tool.log env SCRATCHNET_CUDA_NO_CACHE=1 "$SAN" --tool $tool \
       --error-exitcode $SAN_EXIT --print-limit 20 "$BUILD/scratchnet_tests" "[sanitize]"
     echo "${ROWS[-1]}" >/tmp/gpu-check-row-$tool
     # Both summaries, apart: Catch's (did the tests pass?) and the sanitizer's (did it find anything?).
     {
       echo "$tool: Catch: $(grep -E "All tests passed|test cases:" /tmp/gpu-check-san-$tool.log | tail -1)"
       echo "$tool: sanitizer: $(grep -E "ERROR SUMMARY|RACECHECK SUMMARY|LEAK SUMMARY" /tmp/gpu-check-san-$tool.log | tail -1)"
     } >/tmp/gpu-check-san-$tool.sum) &
  done
  wait
  for tool in memcheck racecheck; do
    cat /tmp/gpu-check-san-$tool.log >>"$SAN_LOG" 2>/dev/null
    ROWS+=("$(cat /tmp/gpu-check-row-$tool 2>/dev/null || echo "$tool|no result|0")")
  done

  # ---- benchmarks -------------------------------------------------------------------
  step bench 120 "$OUT_DIR/bench.log" "$BUILD/bench_gpu" --json "$OUT_DIR/bench.json"

  # ---- the experiment, if everything it needs travelled -----------------------------
  EXP_LOG=$OUT_DIR/experiment.log
  DATA=${SN_DATA:-}
  for d in "$ROOT/shared/datasets/catanddog" "$ROOT/../shared/datasets/catanddog"; do
    [[ -z "$DATA" && -d "$d/train" ]] && DATA=$d
  done
  # Weights: $SN_WEIGHTS, else the bfloat16-rounded pack tools/gpu-pack.sh made
  # (unpacked to float32 here), else any .snw that travelled.
  WEIGHTS=${SN_WEIGHTS:-}
  for p in "$ROOT"/.gpucarry/*.snwpack; do
    [[ -z "$WEIGHTS" && -f "$p" ]] || continue
    w=$ROOT/weights/$(basename "${p%.snwpack}").snw
    if [[ -f "$w" ]] || python3 tools/gpu_weights.py unpack "$p" "$w" >>"$EXP_LOG" 2>&1; then WEIGHTS=$w; fi
  done
  [[ -z "$WEIGHTS" ]] && WEIGHTS=$(ls "$ROOT"/weights/*.snw 2>/dev/null | head -1)
  HAS_TRAIN=no
  "$BUILD/scratchnet" --help 2>/dev/null | grep -qE '^ +train ' && HAS_TRAIN=yes
  if [[ -n "$DATA" && -n "$WEIGHTS" && $HAS_TRAIN == yes ]]; then
    # scratchnet train + eval --device cuda, then the PyTorch script on the same
    # card, back to back (tools/bench/bench_experiment.sh): times, best accuracies.
    # SN_EXPERIMENT_MODES (default "default") and SN_WORKERS (default 8) tune it.
    modes=()
    for m in ${SN_EXPERIMENT_MODES:-default}; do modes+=(--mode "$m"); done
    rm -rf /tmp/bench_exp
    step experiment 330 "$EXP_LOG" env SN_BIN="$BUILD/scratchnet" SN_PYTHON=python3 \
      tools/bench/bench_experiment.sh --device cuda "${modes[@]}" --threads "$JOBS" --workers "${SN_WORKERS:-8}" \
      --data "$DATA" --weights "$WEIGHTS" --out /tmp/bench_exp ||
      for f in /tmp/bench_exp/*.log; do [[ -f $f ]] && { echo "== tail of $f"; tail -20 "$f"; } >>"$EXP_LOG"; done
  else
    echo "experiment: skipped (data: '${DATA}', weights: '${WEIGHTS}', scratchnet train: ${HAS_TRAIN})" >"$EXP_LOG"
    ROWS+=("experiment|skipped (no data/weights/train command)|0")
  fi
fi

# ---- summary (printed last) ---------------------------------------------------------------
SUMMARY=$OUT_DIR/summary.txt
{
  echo "==================== gpu-check summary ===================="
  echo "card: $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -1)   date: $(date -u +%Y-%m-%d)   total: $(($(date +%s) - START))s"
  printf "%-18s %-34s %6s\n" step status seconds
  for r in "${ROWS[@]}"; do IFS='|' read -r n s t <<<"$r"; printf "%-18s %-34s %6s\n" "$n" "$s" "$t"; done
  if [[ -f "$OUT_DIR/tests.log" ]]; then
    echo "[cuda] tests skipped (no usable GPU?): $(grep -c '(Skipped)' "$OUT_DIR/tests.log")"
    grep -E "tests passed|tests failed|\(Failed\)|\(Timeout\)|\(SEGFAULT\)|\*\*\*Exception|Not Run" "$OUT_DIR/tests.log" | tail -15
  fi
  cat /tmp/gpu-check-san-memcheck.sum /tmp/gpu-check-san-racecheck.sum 2>/dev/null
  [[ -f "$OUT_DIR/sanitizer.log" ]] && grep -E "Error:|Race reported" "$OUT_DIR/sanitizer.log" | sort | uniq -c | head -8
  if [[ -f "$OUT_DIR/bench.json" ]]; then
    python3 - "$OUT_DIR/bench.json" <<'PY'
import json, math, sys
b = json.load(open(sys.argv[1]))
print(f"bench on {b.get('device')} ({b.get('sms')} SMs), cuDNN {b.get('cudnn')}, cuBLAS {b.get('cublas')}")
for r in b.get("sgemm", []):
    if "ours_ms" in r:
        print(f"  sgemm {r['case']:<12} ours {r['ours_tflops']:6.2f} TFLOP/s  cuBLAS {r['cublas_tflops']:6.2f}  "
              f"ours/cuBLAS speed {100*r['ours_vs_cublas_speed']:5.1f}%  (target >= 80%)  rel_l2 {r['rel_l2']:.1e}")
    else:
        print(f"  sgemm {r['case']}: {r.get('error')} rel_l2 {r.get('rel_l2')}")
convs = [r for r in b.get("conv", []) if "fwd_ours_ms" in r]
bad = [r for r in b.get("conv", []) if "error" in r]
if convs:
    def gm(key_a, key_b):
        return math.exp(sum(math.log(r[key_b] / r[key_a]) for r in convs) / len(convs))
    print(f"  conv: {len(convs)} shapes timed, {len(bad)} with errors; cuDNN-time/ours-time geomean: "
          f"fwd {gm('fwd_ours_ms','fwd_cudnn_ms'):.2f}  bwd-data {gm('bwd_data_ours_ms','bwd_data_cudnn_ms'):.2f}  "
          f"bwd-filter {gm('bwd_filter_ours_ms','bwd_filter_cudnn_ms'):.2f}  (1.0 = as fast as cuDNN)")
for r in bad:
    print(f"  conv {r['case']}: {r['error']}")
PY
  fi
  [[ -f "$OUT_DIR/experiment.log" ]] && grep -E "best acc|skipped|failed" "$OUT_DIR/experiment.log" | tail -6
  [[ -f "$ROOT/.gpucarry/cpu-reference.txt" ]] && cat "$ROOT/.gpucarry/cpu-reference.txt"
  # The criterion: the GPU run's best test accuracy within one photo of the CPU run's.
  python3 - /tmp/bench_exp/default-sn-eval.json "$ROOT/.gpucarry/cpu-reference.txt" <<'PY'
import json, os, re, sys
gpu_path, cpu_path = sys.argv[1], sys.argv[2]
if not (os.path.exists(gpu_path) and os.path.exists(cpu_path)):
    print("experiment criterion: not evaluated (no GPU run of the default mode, or no CPU reference)")
    sys.exit(0)
g = json.load(open(gpu_path))
total = g["checkpoints"][0]["total"]
gpu = round(g["best"]["acc"] * total)
m = re.search(r"test accuracy ([0-9.]+)%", open(cpu_path).read())
if not m:
    print("experiment criterion: not evaluated (no accuracy in the CPU reference)")
    sys.exit(0)
cpu = round(float(m.group(1)) / 100 * total)
verdict = "PASS" if abs(gpu - cpu) <= 1 else "FAIL"
print(f"experiment criterion (best test accuracy within 1 photo of the CPU run): {verdict}: "
      f"GPU {gpu}/{total} (epoch {g['best']['epoch']}), CPU {cpu}/{total}")
PY
  echo "logs: $OUT_DIR/{env,build,tests,sanitizer,bench,experiment}.log bench.json summary.txt"
} >"$SUMMARY" 2>&1
cat "$SUMMARY"
