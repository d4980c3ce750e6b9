#!/usr/bin/env bash
# What mmap-rx's --interval and --write cost at full rate: mmap-tx unpaced into mmap-rx on the
# native set-up, the receiver run plain, with --interval 1, with --write FILE.pcap and with
# both, alternating at every repetition. Prints each run and, per variant, the medians of the
# receive rate, the loss and the receiver's CPU seconds, and the rate against plain.
#
#   experiments/receiver-options-cost.sh [REPS] [COUNT]      (root; default 5 x 2,000,000)
#
# PKTMMAP_CAPTURE_DIR says where the captures go (default: a temporary directory, removed at
# the end; each run's capture is deleted after it). PKTMMAP_FATE=ingress-drop drops the test
# flow at the receiving interface's ingress, after the packet tap (as `pktmmap run --fate
# ingress-drop`), so the receiving stack does not slow the sender (on veth its softirq runs on
# the sending core) and mmap-rx sees a higher rate. Not a test: a benchmark that prints ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${1:-5}
count=${2:-2000000}
B=target/release
cargo build --release --quiet --bin mmap-tx --bin mmap-rx --bin pktmmap
dir=${PKTMMAP_CAPTURE_DIR:-$(mktemp -d)}
results=$(mktemp)
cleanup() {
  "$B/pktmmap" setup down native >/dev/null 2>&1 || true
  [ -n "${PKTMMAP_CAPTURE_DIR:-}" ] || rm -rf "$dir"
  rm -f "$results"
}
trap cleanup EXIT
"$B/pktmmap" setup down native >/dev/null 2>&1 || true
"$B/pktmmap" setup up native >/dev/null
eval "$(bash experiments/setups/native.sh env)"  # TX_NS, RX_NS, TX_IF, RX_IF, RX_IP
if [ "${PKTMMAP_FATE:-stack}" = ingress-drop ]; then
  "$B/pktmmap" fate-rule --interface "$RX_IF" | ip netns exec "$RX_NS" nft -f -
fi

one() { # variant, extra receiver options...
  local variant=$1; shift
  local rx_out; rx_out=$(mktemp)
  ip netns exec "$RX_NS" "$B/mmap-rx" -i "$RX_IF" --count "$count" \
    --idle-timeout 2 --cpu 1 --json "$@" >"$rx_out" 2>/dev/null &
  local rx=$!
  sleep 0.5
  ip netns exec "$TX_NS" "$B/mmap-tx" -i "$TX_IF" --dst-ip "$RX_IP" \
    --count "$count" --cpu 0 --json >/dev/null
  wait "$rx" || true
  tail -n 1 "$rx_out" | python3 -c '
import json, sys
s = json.load(sys.stdin)
w = (s.get("capture") or {}).get("packets", "-")
print(sys.argv[1], round(s["pps"]), s["lost"], s["kernel_drops"], round(s["cpu_user_s"] + s["cpu_sys_s"], 3), w)
' "$variant" | tee -a "$results"
  rm -f "$rx_out" "$dir"/cost-*.pcap
}

echo "variant pps lost kernel_drops rx_cpu_s written"
for rep in $(seq "$reps"); do
  one plain
  one interval --interval 1
  one write --write "$dir/cost-$rep.pcap"
  one both --interval 1 --write "$dir/cost-$rep-both.pcap"
done

python3 - "$results" "$count" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
count = int(sys.argv[2])
by = {}
for v, pps, lost, drops, cpu, _ in rows:
    by.setdefault(v, []).append((float(pps), int(lost), int(drops), float(cpu)))
base = statistics.median(p for p, *_ in by["plain"])
print(f"\n{'variant':<10}{'median pps':>12}{'vs plain':>10}{'median loss %':>15}{'median rx cpu s':>17}")
for v in ["plain", "interval", "write", "both"]:
    r = by.get(v, [])
    if not r:
        continue
    pps = statistics.median(p for p, *_ in r)
    loss = statistics.median(l for _, l, *_ in r) / count * 100
    cpu = statistics.median(c for *_, c in r)
    print(f"{v:<10}{pps:>12,.0f}{pps / base:>10.2f}{loss:>15.2f}{cpu:>17.3f}")
EOF
