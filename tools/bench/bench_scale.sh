#!/usr/bin/env bash
# Scale benchmark (a benchmark, not a test): the training command on 65x the experiment's data.
#
#   tools/bench/bench_scale.sh [--images 25000] [--model resnet18] [--weights FILE] [--cache-mb 512]
#                              [--epochs 3] [--threads 2] [--workers 2] [--src DIR] [--skip-default]
#
# 1. Builds an ImageFolder of --images training photos in a temporary folder outside the repository
#    (/tmp/scratchnet-scale.*, removed at the end): hard links, under new names, to the shared
#    photos (../shared/datasets/catanddog/train), both classes in the data set's proportions; the
#    98 test photos are linked as they are. Nothing is copied.
# 2. Runs, on the 385 original photos and then on the large folder:
#      cached   scratchnet train --freeze-bn --no-augment --epochs E   (backbone features computed once)
#      default  scratchnet train --epochs 1 --cache-mb M               (augmentation, training-mode batch norm,
#                                                                       decode cache limited to M MiB)
# 3. Prints per run: wall time, images/s and ms per image of the phase over the images, peak RSS
#    (/usr/bin/time's maximum resident set), the most open file descriptors seen (/proc/PID/fd,
#    sampled every 0.2 s), and the ETA the progress line printed at 25% against the time the
#    phase really took from there. Results also in build/bench_scale/summary.jsonl.
#
# Without --weights, a ResNet of random weights (bench_random_resnet, seed 1234) is used: time and
# memory do not depend on the values. SN_BUILD (default build/release) chooses the build.
set -euo pipefail
cd "$(dirname "$0")/../.."

images=25000 model=resnet18 weights="" cache_mb=512 epochs=3 threads=2 workers=2
src=../shared/datasets/catanddog skip_default=0 build=${SN_BUILD:-build/release}
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
    --skip-default) skip_default=1; shift ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
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
  local log=$out/$name.log fds=$tmp/$name.fds
  echo "== $name: scratchnet train --data $data $*"
  : >"$fds"
  /usr/bin/time -f '%e %U %S %M' -o "$tmp/$name.time" \
    "$bin" train --data "$data" --out "$tmp/run-$name" --model "$model" --weights "$weights" --threads "$threads" \
    --workers "$workers" "$@" > >(stamp >"$log") 2>&1 &
  local tpid=$! pid=""
  while kill -0 "$tpid" 2>/dev/null; do
    [[ -n "$pid" ]] || pid=$(pgrep -P "$tpid" -x scratchnet || true)
    if [[ -n "$pid" && -d /proc/$pid/fd ]]; then
      local n
      n=$(ls /proc/"$pid"/fd 2>/dev/null | wc -l) && echo "$n" >>"$fds"
    fi
    sleep 0.2
  done
  wait "$tpid" || { tail -20 "$log"; echo "bench_scale.sh: $name failed" >&2; exit 1; }
  sleep 0.2  # the stamping reader finishes the log
  python3 - "$name" "$log" "$tmp/$name.time" "$fds" "$tmp/run-$name/metrics.jsonl" "$summary" <<'EOF'
import json, re, sys
name, log, timef, fdsf, metricsf, summaryf = sys.argv[1:]
wall, user, sys_, maxrss_kib = open(timef).read().split()[-4:]
fds = [int(x) for x in open(fdsf).read().split()]
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
phases, cur = [], None
for t, text in lines:
    m = prog.match(text)
    if m:
        label = m.group(1).strip()
        if cur is None or cur['label'] != label:
            cur = {'label': label, 'total': int(m.group(3)), 'points': []}
            phases.append(cur)
        cur['points'].append((t, int(m.group(2)), secs(m.group(5))))
    elif cur is not None and 'end' not in cur:
        cur['end'] = t
        cur['end_line'] = text
        cur = None
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
    if m:
        ph['seconds'] = float(m.group(1))
        ph['img_per_s'] = round(p['total'] / ph['seconds'], 2)
        ph['ms_per_img'] = round(1000 * ph['seconds'] / p['total'], 2)
    res['phases'].append(ph)
res['epoch_peak_rss_mib'] = max((m.get('peak_rss_mib', 0) for m in metrics if m.get('type') == 'epoch'), default=None)
with open(summaryf, 'a') as f: f.write(json.dumps(res) + '\n')
print('  %s: wall %.0f s (CPU %.0f s), peak RSS %.0f MiB, at most %s open files' %
      (name, res['wall_s'], res['cpu_s'], res['peak_rss_mib'], res['max_open_fds']))
for ph in res['phases']:
    print('    %-12s %6d images  %s  ETA at 25%%: %s s, took %s s from there (%s%%)' %
          (ph['label'], ph['images'],
           '%7.1f s  %6.1f img/s  %6.2f ms/img' % (ph['seconds'], ph['img_per_s'], ph['ms_per_img']) if 'seconds' in ph else '',
           ph['eta_at_25pct_s'], ph['actual_rest_s'], ph['eta_error_pct']))
EOF
}

echo "scale benchmark: $model ($weights), $threads threads, $workers workers, $(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg)"
run cached-385 "$src" --freeze-bn --no-augment --epochs "$epochs"
run cached-$images "$tmp/big" --freeze-bn --no-augment --epochs "$epochs"
if ((!skip_default)); then
  run default-385 "$src" --epochs 1 --cache-mb "$cache_mb"
  run default-$images "$tmp/big" --epochs 1 --cache-mb "$cache_mb"
fi
echo "summary: $summary"
