#!/usr/bin/env bash
# soak: repeated large runs at 500 Mbps for both apps on the native set-up. For every run it
# prints the loss nothing explains (sent - unique - kernel drops; expected 0) and the peak
# memory of sender and receiver, so growth with packet count shows.
#
#   experiments/soak.sh [ROUNDS] [COUNT]      (defaults: 3 rounds of 10,000,000 packets)
#
# Needs root; builds first; tears the set-up down on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}; COUNT=${2:-10000000}
case "$ROUNDS$COUNT" in *[!0-9]*) echo "usage: $0 [ROUNDS] [COUNT]" >&2; exit 2 ;; esac
cargo build --release --quiet
B=target/release
S=experiments/setups/native.sh
trap 'bash $S down' EXIT
bash $S down; bash $S up
eval "$(bash $S env | grep -E '^(TX_NS|RX_NS|TX_IF|RX_IF|RX_IP)=')"
TMP=$(mktemp -d); trap 'bash $S down; rm -rf "$TMP"' EXIT

printf '%-5s %-4s %10s %10s %10s %8s %12s %10s %10s\n' round app sent unique drops unexpl rx_pps tx_rss_kib rx_rss_kib
for round in $(seq 1 "$ROUNDS"); do
  for app in mmap udp; do
    if [ $app = mmap ]; then rx=("$B/mmap-rx" -i "$RX_IF"); tx=("$B/mmap-tx" -i "$TX_IF"); else rx=("$B/udp-rx" --rcvbuf 4194304); tx=("$B/udp-tx"); fi
    ip netns exec "$RX_NS" "${rx[@]}" --count "$COUNT" --idle-timeout 3 --cpu 1 --json >"$TMP/rx.json" 2>"$TMP/rx.err" &
    rxpid=$!
    for _ in $(seq 100); do grep -q ready "$TMP/rx.err" && break; sleep 0.05; done
    ip netns exec "$TX_NS" "${tx[@]}" --dst-ip "$RX_IP" --count "$COUNT" --rate 500Mbps --cpu 0 --json >"$TMP/tx.json"
    wait $rxpid || true
    python3 - "$TMP/tx.json" "$TMP/rx.json" "$round" "$app" <<'PY'
import json, sys
t = json.load(open(sys.argv[1])); r = json.load(open(sys.argv[2]))
unexplained = t["sent"] - r["unique"] - r["kernel_drops"]
print(f'{sys.argv[3]:<5} {sys.argv[4]:<4} {t["sent"]:>10} {r["unique"]:>10} {r["kernel_drops"]:>10} {unexplained:>8} {r["pps"]:>12.0f} {t["max_rss_kib"]:>10} {r["max_rss_kib"]:>10}')
PY
  done
done
