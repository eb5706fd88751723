#!/usr/bin/env bash
# Scale benchmark (a benchmark, not a test): the training command on 65x the experiment's data.
#
#   tools/bench/bench_scale.sh [--images 25000] [--model resnet18] [--weights FILE] [--cache-mb 512]
#                              [--epochs 3] [--threads 2] [--workers 2] [--src DIR] [--only cached|default]
#                              [--default-width 64]
#
# 1. Builds an ImageFolder of --images training photos in a temporary folder outside the repository
#    (/tmp/scratchnet-scale.*, removed at the end): hard links, under new names, to the shared
#    photos (../shared/datasets/catanddog/train), both classes in the data set's proportions; the
#    98 test photos are linked as they are. Nothing is copied.
# 2. Runs, on the 385 original photos and then on the large folder:
#      cached   scratchnet train --freeze-bn --no-augment --epochs E   (backbone features computed once)
#      default  scratchnet train --epochs 1 --cache-mb M               (augmentation, training-mode batch norm,
#                                                                       decode cache limited to M MiB)
# 3. Prints per run: wall time, images/s and ms per image of the phase over the images, the
#    process CPU time (user+sys) per image (the robust figure on a shared machine), peak RSS
#    (/usr/bin/time's maximum resident set), the most open file descriptors seen (/proc/PID/fd,
#    sampled every 0.2 s), and the ETA the progress line printed at 25% against the time the
#    phase really took from there. Results also in build/bench_scale/summary.jsonl.
#
# Without --weights, a ResNet of random weights (bench_random_resnet, seed 1234) is used: time and
# memory do not depend on the values. --default-width W gives the default-mode runs a random ResNet of
# width W instead (8: 1/64 of the arithmetic; the data pipeline is then what is measured). SN_BUILD (default build/release) chooses the build.
set -euo pipefail
cd "$(dirname "$0")/../.."

images=25000 model=resnet18 weights="" cache_mb=512 epochs=3 threads=2 workers=2
src=../shared/datasets/catanddog only="" default_width=64 build=${SN_BUILD:-build/release}
while (($#)); do
  case "$1" in
    --images) images=$2; shift 2 ;;
    --model) model=$2; shift 2 ;;
    --weights) weights=$2; shift 2 ;;
    --cache-mb) cache_mb=$2; shift 2 ;;
    --epochs) epochs=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --workers) workers=$2; shift 2 ;;
    --src) src=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --default-width) default_width=$2; shift 2 ;;
    -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
    *) echo "bench_scale.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
bin=$build/scratchnet
[[ -x "$bin" ]] || { echo "bench_scale.sh: $bin not found: build the release preset first" >&2; exit 1; }
[[ -d "$src/train" && -d "$src/test" ]] || { echo "bench_scale.sh: $src/{train,test}/<class>/ not found" >&2; exit 1; }
[[ -x /usr/bin/time ]] || { echo "bench_scale.sh: needs /usr/bin/time (Debian package time)" >&2; exit 1; }

tmp=$(mktemp -d /tmp/scratchnet-scale.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
out=build/bench_scale
mkdir -p "$out"
summary=$out/summary.jsonl

if [[ -z "$weights" ]]; then
  weights=$tmp/$model-random.snw
  "$build/bench_random_resnet" --arch "$model" --out "$weights" >/dev/null
fi
default_weights=$weights
if ((default_width != 64)); then
  default_weights=$tmp/$model-w$default_width-random.snw
  "$build/bench_random_resnet" --arch "$model" --width "$default_width" --out "$default_weights" >/dev/null
fi

# The large folder: hard links (same file system) under new names, falling back to symbolic links.
python3 - "$src" "$tmp/big" "$images" <<'EOF'
import os, sys
src, dst, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
exts = ('.jpg', '.jpeg', '.png', '.bmp', '.gif', '.ppm', '.pgm')
classes = sorted(d for d in os.listdir(os.path.join(src, 'train')) if os.path.isdir(os.path.join(src, 'train', d)))
files = {c: sorted(f for f in os.listdir(os.path.join(src, 'train', c)) if f.lower().endswith(exts)) for c in classes}
total = sum(len(v) for v in files.values())
counts = {c: n * len(files[c]) // total for c in classes}
counts[classes[-1]] += n - sum(counts.values())
def link(a, b):
    try:
        os.link(a, b)
    except OSError:
        os.symlink(os.path.abspath(a), b)
for c in classes:
    os.makedirs(os.path.join(dst, 'train', c))
    os.makedirs(os.path.join(dst, 'test', c))
    for i in range(counts[c]):
        f = files[c][i % len(files[c])]
        link(os.path.join(src, 'train', c, f), os.path.join(dst, 'train', c, '%06d_%s' % (i, f)))
    for f in os.listdir(os.path.join(src, 'test', c)):
        link(os.path.join(src, 'test', c, f), os.path.join(dst, 'test', c, f))
print('scale data: %s: %s training images (hard links to %d originals)' %
      (dst, ', '.join('%d %s' % (counts[c], c) for c in classes), total))
EOF

# Prefixes every line with the time it was read (seconds since the epoch, microseconds).
stamp() { while IFS= read -r line; do printf '%s %s\n' "$EPOCHREALTIME" "$line"; done; }

# run NAME DATA ARGS...: one `scratchnet train`, watched.
run() {
  local name=$1 data=$2
  shift 2
  local log=$out/$name.log fds=$out/$name.fds
  echo "== $name: scratchnet train --data $data $*  (load $(cut -d' ' -f1-3 /proc/loadavg))"
  : >"$fds"
  /usr/bin/time -f '%e %U %S %M' -o "$out/$name.time" \
    "$bin" train --data "$data" --out "$tmp/run-$name" --model "$model" --weights "$run_weights" --threads "$threads" \
    --workers "$workers" "$@" > >(stamp >"$log") 2>&1 &
  local tpid=$! pid=""
  while kill -0 "$tpid" 2>/dev/null; do
    [[ -n "$pid" ]] || pid=$(pgrep -P "$tpid" -f "$bin train" || true)  # not the reader of the output
    if [[ -n "$pid" && -d /proc/$pid/fd ]]; then
      # time, open descriptors, CPU ticks (user + sys) so far
      local n ticks
      n=$(ls /proc/"$pid"/fd 2>/dev/null | wc -l) && ticks=$(cut -d' ' -f14,15 /proc/"$pid"/stat 2>/dev/null) &&
        echo "$EPOCHREALTIME $n ${ticks/ /+}" >>"$fds"
    fi
    sleep 0.2
  done
  wait "$tpid" || { tail -20 "$log"; echo "bench_scale.sh: $name failed" >&2; exit 1; }
  sleep 0.2  # the stamping reader finishes the log
  python3 - "$name" "$log" "$out/$name.time" "$fds" "$tmp/run-$name/metrics.jsonl" "$summary" <<'EOF' || echo "bench_scale.sh: could not summarize $name (raw files in $out)"
import json, re, sys
name, log, timef, fdsf, metricsf, summaryf = sys.argv[1:]
wall, user, sys_, maxrss_kib = open(timef).read().split()[-4:]
import os
tck = os.sysconf('SC_CLK_TCK')
samples = []  # (time, open descriptors, CPU seconds so far)
for l in open(fdsf):
    f = l.split()
    if len(f) == 3: samples.append((float(f[0]), int(f[1]), eval(f[2]) / tck))
fds = [s[1] for s in samples]
def cpu_at(t):  # the process's CPU seconds at time t, from the samples around it
    before = [s for s in samples if s[0] <= t]
    after = [s for s in samples if s[0] >= t]
    if not before or not after: return None
    a, b = before[-1], after[0]
    return a[2] if b[0] == a[0] else a[2] + (b[2] - a[2]) * (t - a[0]) / (b[0] - a[0])
lines = []
for l in open(log):
    t, _, text = l.rstrip('\n').partition(' ')
    lines.append((float(t), text))
prog = re.compile(r'^(.*?)\s+(\d+)/(\d+)\s+([\d.]+) img/s\s+ETA (\S+)')
def secs(s):
    if s == '?': return None
    v = 0
    for p in s.split(':'): v = v * 60 + int(p)
    return v
# Phases: a run of progress lines with the same label, ended by the next other line.
phases, cur, last_t = [], None, None
for t, text in lines:
    m = prog.match(text)
    if m:
        label = m.group(1).strip()
        if cur is None or cur['label'] != label:
            cur = {'label': label, 'total': int(m.group(3)), 'points': [], 'start': last_t}
            phases.append(cur)
        cur['points'].append((t, int(m.group(2)), secs(m.group(5))))
    elif cur is not None and 'end' not in cur:
        cur['end'] = t
        cur['end_line'] = text
        cur = None
    last_t = t
metrics = [json.loads(l) for l in open(metricsf)] if metricsf else []
feat = [m for m in metrics if m.get('type') == 'features']
res = {'run': name, 'wall_s': float(wall), 'cpu_s': float(user) + float(sys_), 'peak_rss_mib': int(maxrss_kib) / 1024,
       'max_open_fds': max(fds) if fds else None, 'phases': []}
for p in phases:
    if 'end' not in p or not p['points']: continue
    t25, done25, eta25 = p['points'][0]
    actual = p['end'] - t25
    ph = {'label': p['label'], 'images': p['total'], 'eta_at_25pct_s': eta25, 'actual_rest_s': round(actual, 1),
          'eta_error_pct': round(100 * (eta25 - actual) / actual, 1) if eta25 is not None and actual > 0 else None}
    # The phase's own time over its images, from the finished line ("... in 612.3 s" / epoch summary).
    m = re.search(r' in ([\d.]+) s', p['end_line']) or re.search(r'  ([\d.]+) s  ', p['end_line'])
    if m and float(m.group(1)) > 0:
        ph['seconds'] = float(m.group(1))
        ph['img_per_s'] = round(p['total'] / ph['seconds'], 2)
        ph['ms_per_img'] = round(1000 * ph['seconds'] / p['total'], 2)
    c0, c1 = cpu_at(p['start']) if p['start'] else None, cpu_at(p['end'])
    if c0 is not None and c1 is not None:
        ph['cpu_s'] = round(c1 - c0, 1)
        ph['cpu_ms_per_img'] = round(1000 * (c1 - c0) / p['total'], 2)
    res['phases'].append(ph)
res['cpu_ms_per_img'] = round(1000 * res['cpu_s'] / max(p['total'] for p in phases), 2) if phases else None
res['epoch_peak_rss_mib'] = max((m.get('peak_rss_mib', 0) for m in metrics if m.get('type') == 'epoch'), default=None)
with open(summaryf, 'a') as f: f.write(json.dumps(res) + '\n')
print('  %s: wall %.0f s, CPU (user+sys) %.0f s = %s ms per image, peak RSS %.0f MiB, at most %s open files' %
      (name, res['wall_s'], res['cpu_s'], res['cpu_ms_per_img'], res['peak_rss_mib'], res['max_open_fds']))
for ph in res['phases']:
    print('    %-12s %6d images  %s%s  ETA at 25%%: %s s, took %s s from there (%s%%)' %
          (ph['label'], ph['images'],
           '%7.1f s  %6.1f img/s  %6.2f ms/img' % (ph['seconds'], ph['img_per_s'], ph['ms_per_img']) if 'seconds' in ph else '',
           '  CPU %.1f s = %.2f ms/img' % (ph['cpu_s'], ph['cpu_ms_per_img']) if 'cpu_s' in ph else '',
           ph['eta_at_25pct_s'], ph['actual_rest_s'], ph['eta_error_pct']))
EOF
}

echo "scale benchmark: $model ($weights), $threads threads, $workers workers, $(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg)"
if [[ "$only" != default ]]; then
  run_weights=$weights
  run cached-385 "$src" --freeze-bn --no-augment --epochs "$epochs"
  run cached-$images "$tmp/big" --freeze-bn --no-augment --epochs "$epochs"
fi
if [[ "$only" != cached ]]; then
  # --default-width 8: a backbone with 1/64 of the arithmetic, so that the run measures the data
  # pipeline (decoding, the decode cache, the loader's memory) rather than the convolutions.
  run_weights=$default_weights
  run default-385 "$src" --epochs 1 --cache-mb "$cache_mb"
  run default-$images "$tmp/big" --epochs 1 --cache-mb "$cache_mb"
fi
echo "summary: $summary"
