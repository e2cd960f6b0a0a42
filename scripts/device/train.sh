#!/usr/bin/env bash
# Runs on a lent NVIDIA machine (device tool, carry [".gpu"], after scripts/device/prepare.sh):
#   bash scripts/device/train.sh lite-f1 --fold 1 -- lite-f2 --fold 2
# Each run (a name, then `train` arguments beyond the shipped recipe's) trains concurrently on
# the one GPU until DEADLINE seconds (default 540) after the start; logs, a GPU monitor and every
# lite run's best model come back under $OUT. EPOCHS (default the recipe's 100) sets every run's
# epochs. The first two iterations of a probe pick `vulkan`, else `wgpu`. Measured on an H200:
# one lite fold of the 100-epoch recipe ≈ 6 minutes alone, `paper` ≈ 3 slices/s.
set -u
cd "$(dirname "$0")/../../.gpu"
T0=$(date +%s)
DEADLINE=${DEADLINE:-540}
for f in debs/*.deb; do dpkg -x "$f" /; done; ldconfig
export VK_DRIVER_FILES=${VK_DRIVER_FILES:-/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json}
[ -f "$VK_DRIVER_FILES" ] || unset VK_DRIVER_FILES
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv; nproc; } > "$OUT/env.txt" 2>&1
[ -x native-train ] || xz -dc native-train.xz > native-train
chmod +x native-train
mkdir -p runs
BACKEND=
for b in ${BACKENDS:-vulkan wgpu}; do  # BACKENDS=flex: a dry run without a GPU
  s=$(date +%s)
  timeout 100 ./native-train train --backend $b --data medseg --out runs/probe-$b --epochs 1 \
    --max-iterations 2 > runs/probe-$b.log 2>&1
  rc=$?
  echo "probe $b rc $rc in $(( $(date +%s) - s )) s" >> "$OUT/env.txt"
  if [ $rc = 0 ]; then BACKEND=$b; break; fi
done
tail -n 20 runs/probe-*.log >> "$OUT/env.txt"
[ -n "$BACKEND" ] || { cat "$OUT/env.txt"; exit 1; }
pids=()
names=()
launch() { # name, extra train args…
  local name=$1; shift
  timeout -s INT $((DEADLINE - ($(date +%s) - T0))) ./native-train train --backend $BACKEND \
    --data medseg --epochs "${EPOCHS:-100}" --scr 0.5 --out "runs/$name" "$@" > "runs/$name.log" 2>&1 &
  pids+=($!)
  names+=("$name")
}
run=()
for a in "$@" --; do
  if [ "$a" = -- ]; then [ ${#run[@]} -gt 0 ] && launch "${run[@]}"; run=(); else run+=("$a"); fi
done
(
  while true; do
    line="$(( $(date +%s) - T0 )) s:"
    for n in "${names[@]}"; do line="$line $n=$(wc -l < "runs/$n/log.jsonl" 2>/dev/null || echo 0)"; done
    echo "$line | $(nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader)" >> "$OUT/monitor.txt"
    sleep 20
  done
) &
mon=$!
for i in "${!pids[@]}"; do wait "${pids[$i]}"; echo "${names[$i]} rc $?" >> "$OUT/env.txt"; done
kill $mon
echo "all done after $(( $(date +%s) - T0 )) s" >> "$OUT/env.txt"
tar czf "$OUT/logs.tgz" runs/*.log runs/*/log.jsonl runs/*/log.csv 2>/dev/null
for n in "${names[@]}"; do
  size=$(stat -c %s "runs/$n/best.lungseg" 2>/dev/null || echo 0)
  [ "$size" -gt 0 ] && [ "$size" -lt 16000000 ] && cp "runs/$n/best.lungseg" "$OUT/$n-best.lungseg"
done
tail -n 2 runs/*.log
