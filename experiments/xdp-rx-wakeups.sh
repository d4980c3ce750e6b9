#!/usr/bin/env bash
# What xdp-rx's CPU per packet is made of: receivers alternating on one veth pair (the native
# set-up), each offered the same paced flow by mmap-tx (core 0; receiver on core 1), and for
# each the CPU seconds and the wakeups (voluntary context switches) per million packets, loss,
# and one-way latency. mmap-rx sleeps until a 1 MiB ring block is full or its 10 ms timeout
# retires it; xdp-rx wakes whenever its RX ring has something, unless --coalesce-us lets the
# ring fill first. Needs root and a release build.
#   experiments/xdp-rx-wakeups.sh [REPETITIONS] [COUNT] [RATE]
set -euo pipefail
cd "$(dirname "$0")/.."
REPS=${1:-3}; COUNT=${2:-2000000}; RATE=${3:-200kpps}
B=$PWD/target/release
export PKTMMAP_NS_PREFIX=pktmmap-wk
S=experiments/setups/native.sh
trap '$S down' EXIT
$S up
eval "$($S env)"
variants=("mmap-rx" "xdp-rx" "xdp-rx --coalesce-us 200" "xdp-rx --coalesce-us 1000")
out=$(mktemp)
for rep in $(seq "$REPS"); do
  for v in "${variants[@]}"; do
    # shellcheck disable=SC2086 # the variant's words are its tool and options
    ip netns exec "$RX_NS" $B/$v -i "$RX_IF" --count "$COUNT" --idle-timeout 3 --cpu 1 --json > "$out.rx" 2>/dev/null &
    rx=$!
    sleep 1
    ip netns exec "$TX_NS" "$B/mmap-tx" -i "$TX_IF" --dst-ip "$RX_IP" --count "$COUNT" --rate "$RATE" --cpu 0 --json > /dev/null
    wait $rx || true
    python3 - "$v" "$rep" "$out.rx" <<'PY' | tee -a "$out"
import json, sys
v, rep, path = sys.argv[1], sys.argv[2], sys.argv[3]
r = json.load(open(path))
m = r["received"] / 1e6 or 1
cpu = (r["cpu_user_s"] + r["cpu_sys_s"]) / m
print(f"{v.replace(' ', '_'):<26} #{rep}  received {r['received']:>8}  lost {r['lost']:>6}  drops {r['kernel_drops']:>6}"
      f"  cpu_s_per_M {cpu:6.3f}  wakeups_per_M {r.get('voluntary_switches', 0) / m:9.0f}"
      f"  latency_p50_us {(r['latency_p50_ns'] or 0) / 1e3:8.1f}")
PY
  done
done
echo "--- medians"
python3 - "$out" <<'PY'
import sys, statistics, collections
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    f = line.split()
    rows[f[0]].append({f[i]: float(f[i + 1]) for i in range(2, len(f) - 1, 2)})
base = statistics.median(r["cpu_s_per_M"] for r in rows["mmap-rx"])
for name, rs in rows.items():
    med = {k: statistics.median(r[k] for r in rs) for k in rs[0]}
    print(f"{name:<26} cpu_s_per_M {med['cpu_s_per_M']:6.3f} ({med['cpu_s_per_M'] / base:5.2f}x mmap-rx)"
          f"  wakeups_per_M {med['wakeups_per_M']:9.0f}  lost {med['lost']:.0f}  latency_p50_us {med['latency_p50_us']:.1f}")
PY
rm -f "$out" "$out.rx"
