#!/usr/bin/env bash
# IPv6 against IPv4, same tools, same native set-up: each app (mmap, udp, xdp: its sender to
# its receiver) sends COUNT 64-byte datagrams unpaced, IPv4 and IPv6 alternating, REPS times;
# prints one CSV row per run and, per app, the median IPv6/IPv4 ratio of the sender's rate
# and of the receiver's. Sender on core 0, receiver on core 1. Needs root.
#
#   sudo experiments/bench-family.sh [COUNT] [REPS] > out.csv
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-1000000}; reps=${2:-3}
B=target/release
export PKTMMAP_NS_PREFIX=pktmmap-fam
setup=experiments/setups/native.sh
trap 'bash $setup down' EXIT
bash $setup up
eval "$(bash $setup env | grep -E '^(TX_NS|RX_NS|RX_IP|RX_IP6)=')"
echo "app,family,rep,sent,sender_pps,received,receiver_pps,lost,kernel_drops"
for rep in $(seq 1 "$reps"); do
  for app in mmap udp xdp; do
    for family in 4 6; do
      dst=$RX_IP; bind=$RX_IP
      [ $family = 6 ] && { dst=$RX_IP6; bind=$RX_IP6; }
      case $app in
        udp) rx=(udp-rx --bind "$bind" --rcvbuf 33554432); tx=(udp-tx) ;;
        *) rx=($app-rx -i pkm0); tx=($app-tx -i pkm0) ;;
      esac
      ip netns exec "$RX_NS" $B/${rx[0]} "${rx[@]:1}" --count "$count" --idle-timeout 2 --cpu 1 --json \
        > /tmp/fam-rx.json 2> /tmp/fam-rx.err &
      rpid=$!
      until grep -q ready /tmp/fam-rx.err 2>/dev/null; do sleep 0.05; done
      ip netns exec "$TX_NS" $B/${tx[0]} "${tx[@]:1}" --dst-ip "$dst" --count "$count" --cpu 0 --json > /tmp/fam-tx.json
      wait $rpid || true
      python3 - "$app" "$family" "$rep" <<'PY'
import json, sys
t = json.loads(open('/tmp/fam-tx.json').read().splitlines()[-1])
r = json.loads(open('/tmp/fam-rx.json').read().splitlines()[-1])
c = r.get('counts', r)
print(f"{sys.argv[1]},{sys.argv[2]},{sys.argv[3]},{t['sent']},{t['pps']:.0f},{c['received']},{c['pps']:.0f},{c['lost']},{r['kernel_drops']}")
PY
    done
  done
done | tee /tmp/fam.csv
python3 - <<'PY' >&2
import csv, statistics
rows = list(csv.DictReader(open('/tmp/fam.csv'), fieldnames="app,family,rep,sent,sender_pps,received,receiver_pps,lost,kernel_drops".split(',')))
for app in ['mmap', 'udp', 'xdp']:
    for col in ['sender_pps', 'receiver_pps']:
        ratios = []
        for rep in sorted({r['rep'] for r in rows}):
            v = {r['family']: float(r[col]) for r in rows if r['app'] == app and r['rep'] == rep}
            ratios.append(v['6'] / v['4'])
        print(f"{app} {col}: IPv6/IPv4 median {statistics.median(ratios):.3f} (runs {', '.join(f'{x:.3f}' for x in ratios)})")
PY
