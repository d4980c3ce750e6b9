#!/usr/bin/env bash
# DPDK beside our senders on one veth pair, in one run, tools alternating: dpdk-testpmd's
# txonly mode (one forwarding core) over the net_af_packet and net_af_xdp PMDs, against
# mmap-tx and xdp-tx. Each sender runs unpaced; the rate is the receiving veth's rx_packets
# over a 5 s window (after 3 s of warm-up), the test flow dropped by an nft ingress rule so
# every sender pays the same receive cost. 64-byte UDP payloads (106-byte frames).
# Needs root, dpdk-dev (dpdk-testpmd), librte-net-af-packet23, librte-net-af-xdp23, and a
# release build. Prints each window, then the medians and ratios.
#   experiments/dpdk-senders.sh [REPETITIONS]
set -u
B=$(cd "$(dirname "$0")/.." && pwd)/target/release
REPS=${1:-3}
command -v dpdk-testpmd >/dev/null || { echo "error: dpdk-testpmd is not installed (apt-get install dpdk-dev librte-net-af-packet23 librte-net-af-xdp23)" >&2; exit 1; }
TX=pktmmap-dpdk-tx; RX=pktmmap-dpdk-rx
cleanup() { ip netns del $TX 2>/dev/null; ip netns del $RX 2>/dev/null; rm -rf /var/run/dpdk/pkm; rmdir /var/run/dpdk 2>/dev/null; }
trap cleanup EXIT
cleanup
ip netns add $TX; ip netns add $RX
ip link add pkmdpa netns $TX type veth peer name pkmdpb netns $RX
ip -n $TX addr add 10.77.90.1/24 dev pkmdpa; ip -n $RX addr add 10.77.90.2/24 dev pkmdpb
for n in $TX $RX; do ip -n $n link set lo up; done
ip -n $TX link set pkmdpa up; ip -n $RX link set pkmdpb up
"$B/pktmmap" fate-rule --interface pkmdpb | ip netns exec $RX nft -f -
MAC=$(ip -n $RX -o link show pkmdpb | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
rxp() { ip netns exec $RX cat /sys/class/net/pkmdpb/statistics/rx_packets; }
window() { # name, then the command runs in background
  local name=$1; shift
  "$@" > /tmp/dpdk-$name.log 2>&1 &
  local pid=$!
  sleep 3
  local a=$(rxp); sleep 5; local b=$(rxp)
  kill -INT $pid 2>/dev/null; sleep 1; kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
  pkill -9 -f "file-prefix pkm" 2>/dev/null
  echo "$name $(( (b - a) / 5 ))" | tee -a "$RESULTS"
}
RESULTS=$(mktemp)
TESTPMD_ARGS="-- --forward-mode=txonly --txpkts=106 --tx-ip=10.77.90.1,10.77.90.2 --tx-udp=9001,9000 --eth-peer=0,$MAC --auto-start --nb-cores=1 --stats-period=1 --total-num-mbufs=16384 --rxd=512 --txd=512"
for rep in $(seq "$REPS"); do
  window mmap-tx ip netns exec $TX taskset -c 0 $B/mmap-tx -i pkmdpa --dst-ip 10.77.90.2 --dst-mac $MAC --count 100000000
  window xdp-tx ip netns exec $TX taskset -c 0 $B/xdp-tx -i pkmdpa --dst-ip 10.77.90.2 --dst-mac $MAC --count 100000000
  window testpmd-af_packet ip netns exec $TX dpdk-testpmd -l 1,0 --main-lcore 1 --no-huge -m 1024 --no-pci --file-prefix pkm --vdev=net_af_packet0,iface=pkmdpa,qpairs=1 $TESTPMD_ARGS
  # The PMD's default burst is 32 frames per send(); mmap-tx flushes 256: is that the gap?
  window testpmd-af_packet-burst256 ip netns exec $TX dpdk-testpmd -l 1,0 --main-lcore 1 --no-huge -m 1024 --no-pci --file-prefix pkm --vdev=net_af_packet0,iface=pkmdpa,qpairs=1,framecnt=4096 $TESTPMD_ARGS --burst=256
  window testpmd-af_xdp nsenter --net=/run/netns/$TX dpdk-testpmd -l 1,0 --main-lcore 1 --no-huge -m 1024 --no-pci --file-prefix pkm --vdev=net_af_xdp0,iface=pkmdpa,start_queue=0,queue_count=1 $TESTPMD_ARGS
done
echo "--- medians (pps) and ratios"
awk '{v[$1]=v[$1]" "$2} END {for (k in v) print k v[k]}' "$RESULTS" | while read -r name vals; do
  echo "$name $(echo $vals | tr ' ' '\n' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')"
done | sort > "$RESULTS.med"
cat "$RESULTS.med"
med() { awk -v k="$1" '$1 == k {print $2}' "$RESULTS.med"; }
awk -v a="$(med mmap-tx)" -v b="$(med testpmd-af_packet)" 'BEGIN {printf "mmap-tx / testpmd(af_packet) %.2f\n", a / b}'
awk -v a="$(med xdp-tx)" -v b="$(med testpmd-af_xdp)" 'BEGIN {printf "xdp-tx / testpmd(af_xdp) %.2f\n", a / b}'
awk -v a="$(med mmap-tx)" -v b="$(med testpmd-af_packet-burst256)" 'BEGIN {printf "mmap-tx / testpmd(af_packet, burst 256) %.2f\n", a / b}'
rm -f "$RESULTS" "$RESULTS.med"
