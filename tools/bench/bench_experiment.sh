#!/usr/bin/env bash
# The whole experiment, scratchnet against PyTorch, back to back on this machine.
#
#   tools/bench/bench_experiment.sh [--mode MODE]... [--epochs 13] [--threads N] [--workers N]
#                                   [--repeat R] [--data DIR] [--weights FILE] [--out DIR] [--device cpu|cuda]
#
# MODE (repeatable; default: all four):
#   textbook   --preset textbook (batch norm in training mode, no normalization)
#   default    scratchnet's defaults (normalization from the weight file, batch norm in training mode)
#   freeze-bn  --freeze-bn
#   cached     --freeze-bn --no-augment: scratchnet caches the backbone features; PyTorch runs its plain loop
#   ort-features  (not in the default set) what a user who knows the backbone is frozen could do instead:
#              ONNX Runtime computes the ResNet-50 backbone features (no fc) of the same 385 + 98 photos
#              once, batches of 32 per split; forward time, PIL + torchvision decode/transform time and
#              the session's creation reported separately, beside scratchnet's forward on the same
#              batches (tools/bench/run-peer-bench.sh --cases features; needs npm for onnxruntime-node).
#              With both cached and ort-features, a last line compares the whole cached run with them.
#
# Each side runs the full experiment: `epochs` epochs of training plus the
# evaluation of every checkpoint on the test split (scratchnet: train + eval;
# PyTorch: tools/reference/experiment_torch.py, which evaluates after every
# epoch). Both use the same threads and loader workers. With --repeat R the
# two sides alternate R times and the ratio of the medians is printed.
# PyTorch runs through tools/bench/peers/fair-env.sh: OpenBLAS instead of the
# reference BLAS, glibc malloc keeping its memory, OPENBLAS_CORETYPE and
# OPENBLAS_L2_SIZE unset; summary.jsonl records the BLAS it really loaded. Its
# loop is tuned as its speed-minded users run it: channels_last model and
# inputs, persistent DataLoader workers (experiment_torch.py's docstring).
# Prints per mode: wall times, best test accuracies, and scratchnet/PyTorch.
# SN_BIN (default ./build/release/scratchnet) and SN_PYTHON (default Debian's
# /usr/bin/python3) choose the programs, e.g. on the GPU machine (tools/gpu-check.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."

modes=() epochs=13 threads=$(nproc) workers=2 repeat=1 device=cpu
data=../shared/datasets/catanddog weights=weights/resnet50-imagenet.snw out=build/bench_experiment
while (($#)); do
  case "$1" in
    --mode) modes+=("$2"); shift 2 ;;
    --epochs) epochs=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --workers) workers=$2; shift 2 ;;
    --repeat) repeat=$2; shift 2 ;;
    --data) data=$2; shift 2 ;;
    --weights) weights=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --device) device=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
    *) echo "bench_experiment: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
((${#modes[@]})) || modes=(textbook default freeze-bn cached)
sn=${SN_BIN:-./build/release/scratchnet}
py=${SN_PYTHON:-/usr/bin/python3}
[[ -x $sn ]] || { echo "bench_experiment: $sn not found: build first (cmake --build --preset release)" >&2; exit 1; }
[[ -f $weights ]] || { echo "bench_experiment: $weights is missing (tools/fetch-weights.sh)" >&2; exit 1; }
"$py" -c "import torch, torchvision" 2>/dev/null ||
  { echo "bench_experiment: $py cannot import torch and torchvision (here: tools/install-deps.sh --reference)" >&2; exit 1; }
mkdir -p "$out"
fair_env=tools/bench/peers/fair-env.sh
trap 'echo "bench_experiment: failed at line $LINENO (see the logs in $out)" >&2' ERR

flags_for() {
  case "$1" in
    textbook) echo "--preset textbook" ;;
    default) echo "" ;;
    freeze-bn) echo "--freeze-bn" ;;
    cached) echo "--freeze-bn --no-augment" ;;
    ort-features) echo "" ;;
    *) echo "bench_experiment: unknown mode $1" >&2; exit 2 ;;
  esac
}
now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores;" \
     "threads $threads, workers $workers, $epochs epochs, device $device, data $data"
summary="$out/summary.txt"
: >"$summary"
: >"$out/summary.jsonl"  # one JSON record per mode: times, ratio, best accuracies, machine
# The ONNX Runtime feature extraction: the peer benchmark's feature case, one record in summary.jsonl.
ort_features() {
  local passes=$((repeat > 1 ? repeat : 3))
  echo "$(date +%T) ort-features: tools/bench/run-peer-bench.sh --cases features (log $out/ort-features.log)"
  tools/bench/run-peer-bench.sh --cases features --engines onnxruntime,scratchnet --threads "$threads" \
    --passes "$passes" --data "$data" --weights "$weights" --out-dir "$out" >"$out/ort-features.log" 2>&1
  "$py" - "$out/peers.json" "$out/summary.jsonl" <<'PY' | tee -a "$summary"
import json, sys, time
d = json.load(open(sys.argv[1]))
f, meta = d["features"], d["meta"]
fwd = {e: r.get("median") for e, r in f["forward"].items()}
record = {"mode": "ort-features", "images": f["images"], "model": f["model"], "head": f["head"],
          "batches": f["batches"], "passes": f["passes"], "onnxruntime_forward_s": fwd.get("onnxruntime"),
          "scratchnet_forward_s": fwd.get("scratchnet"), "decode_transform_s": f["decode_transform"]["median"],
          # creating the ONNX Runtime session of the batch-32 model (reading, optimizing): not in its forward time
          "onnxruntime_session_s": (f["forward"].get("onnxruntime", {}).get("load_s") or {}).get(str(f["batch"])),
          "decode_transform_first_pass_s": f["decode_transform"]["first"], "threads": meta["threads"],
          "machine": meta["machine"].get("cpu_model"), "onnxruntime": meta["versions"].get("onnxruntime"),
          "torchvision": f["decode_transform"]["torchvision"], "date": time.strftime("%Y-%m-%d %H:%M:%S")}
with open(sys.argv[2], "a") as out:
    out.write(json.dumps(record) + "\n")
ort, sn = record["onnxruntime_forward_s"], record["scratchnet_forward_s"]
session = record["onnxruntime_session_s"]
print(f"ort-features  {f['images']} images, {f['model']} {f['head']}: ONNX Runtime forward "
      f"{ort:.2f} s + decode/transform {record['decode_transform_s']:.2f} s (PIL + torchvision)"
      + (f" (+ {session:.2f} s creating its session)" if session is not None else "") + "; "
      f"scratchnet forward on the same batches {sn:.2f} s" if ort and sn else f"ort-features: failed, see {sys.argv[1]}")
PY
}

for mode in "${modes[@]}"; do
  flags=$(flags_for "$mode")
  if [[ $mode == ort-features ]]; then
    ort_features
    continue
  fi
  sn_times=() pt_times=()
  for ((r = 1; r <= repeat; r++)); do
    run="$out/$mode-sn"
    rm -rf "$run"
    echo "$(date +%T) $mode: scratchnet (log $out/$mode-sn.log)"
    t0=$(now)
    # shellcheck disable=SC2086
    $sn train --data "$data" --out "$run" --weights "$weights" --epochs "$epochs" --threads "$threads" \
      --workers "$workers" --device "$device" $flags >"$out/$mode-sn.log" 2>&1
    $sn eval --run "$run" --data "$data" --threads "$threads" --workers "$workers" --device "$device" --json --quiet \
      >"$out/$mode-sn-eval.json"
    t1=$(now)
    echo "$(date +%T) $mode: pytorch (log $out/$mode-torch.log)"
    # shellcheck disable=SC2086
    "$fair_env" "$py" tools/reference/experiment_torch.py --data "$data" --weights "$weights" --epochs "$epochs" \
      --threads "$threads" --workers "$workers" --device "$device" --json "$out/$mode-torch.json" $flags >"$out/$mode-torch.log" 2>&1
    t2=$(now)
    sn_times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')")
    pt_times+=("$(awk -v a="$t1" -v b="$t2" 'BEGIN {print b - a}')")
  done
  sn_med=$(printf '%s\n' "${sn_times[@]}" | median)
  pt_med=$(printf '%s\n' "${pt_times[@]}" | median)
  line=$("$py" - "$out/$mode-sn-eval.json" "$out/$mode-torch.json" "$sn_med" "$pt_med" "$mode" \
         "$out/summary.jsonl" "$threads" "$workers" "$epochs" "$device" "$repeat" <<'PY'
import json, platform, sys, time
sn, pt = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
a, b, mode = float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
record = {"mode": mode, "scratchnet_s": a, "pytorch_s": b, "ratio": a / b,
          "scratchnet_best": sn["best"], "pytorch_best": pt["best"], "threads": int(sys.argv[7]),
          "workers": int(sys.argv[8]), "epochs": int(sys.argv[9]), "device": sys.argv[10],
          "repeat": int(sys.argv[11]), "machine": sn.get("machine", platform.processor()),
          "torch": pt.get("torch"), "pytorch_runtime": pt.get("runtime"),  # BLAS, OpenBLAS core, GLIBC_TUNABLES
          "date": time.strftime("%Y-%m-%d %H:%M:%S")}
with open(sys.argv[6], "a") as f:
    f.write(json.dumps(record) + "\n")
print(f"{mode:9s}  scratchnet {a:8.1f} s  best acc {sn['best']['acc']:.4f} (epoch {sn['best']['epoch']:2d})   "
      f"pytorch {b:8.1f} s  best acc {pt['best']['acc']:.4f} (epoch {pt['best']['epoch']:2d})   "
      f"time ratio scratchnet/pytorch {a / b:.3f}")
PY
)
  echo "$line" | tee -a "$summary"
done
# The cached mode's goal: no slower than ONNX Runtime computing the same photos' features once.
"$py" - "$out/summary.jsonl" <<'PY' | tee -a "$summary"
import json, sys
recs = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    recs[r["mode"]] = r
c, o = recs.get("cached"), recs.get("ort-features")
if c and o and o.get("onnxruntime_forward_s"):
    peer = o["onnxruntime_forward_s"] + o["decode_transform_s"]
    line = (f"cached vs ort-features: scratchnet's whole cached run {c['scratchnet_s']:.2f} s; ONNX Runtime "
            f"forward + decode {peer:.2f} s: ratio {c['scratchnet_s'] / peer:.3f}")
    if o.get("onnxruntime_session_s") is not None:
        peer += o["onnxruntime_session_s"]
        line += f"; with its session creation {peer:.2f} s: ratio {c['scratchnet_s'] / peer:.3f}"
    print(line)
PY
echo "bench_experiment: summary in $summary and $out/summary.jsonl"
