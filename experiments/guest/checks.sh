#!/usr/bin/env bash
# Runs inside the guest (experiments/guest/guest.sh run OUT bash ../experiments/guest/checks.sh
# PROFILE:SETUPS...): proves on Debian's kernel what this host's kernel cannot show, then runs
# each PROFILE over its SETUPS into $PKTMMAP_GUEST_OUT/PROFILE.
#   trunk: every test frame crosses the trunk tagged with the VLAN id, none untagged (a capture
#          on the trunk's far end, read back with tcpdump filters);
#   ovs:   the bridge uses the kernel datapath (datapath_type system, both ports in
#          `ovs-dpctl show`), the datapath looked up every test frame, and "down" removes it.
# Prints "CHECK <name>: ..." lines; exits 1 at the first failed check.
set -euo pipefail
OUT=${PKTMMAP_GUEST_OUT:?run this inside the guest harness}
N=1000
VID=${PKTMMAP_VLAN_ID:-100}
fail() { echo "CHECK FAILED: $*"; exit 1; }
frames() { tcpdump -n -r "$1" "$2" 2>/dev/null | wc -l; }

# capture IF PCAP: starts tcpdump on IF (in the guest's root namespace) and waits until it listens.
capture() {
  tcpdump -n -i "$1" --immediate-mode -U -w "$2" 2> "$2.log" & CAPTURE=$! CAPTURE_FILE=$2
  for _ in $(seq 100); do grep -q "listening on" "$2.log" && return 0; sleep 0.1; done
  fail "tcpdump on $1 never started: $(cat "$2.log")"
}
# stop_capture: stops it once the file holds the N test frames, tagged or not (-U writes each
# packet as it comes), or after 10 s without them (the check then says how many came).
stop_capture() {
  for _ in $(seq 100); do
    [ "$(frames "$CAPTURE_FILE" "udp dst port 9000 or (vlan and udp dst port 9000)")" -ge $N ] && break
    sleep 0.1
  done
  kill -INT "$CAPTURE"; wait "$CAPTURE" || true
}

send() { # send NS DST_IP: N test frames at a rate the emulated CPU keeps up with (at 2 kpps a
  # host busy with other work once stalled the guest's softirq long enough for its per-CPU
  # backlog to drop 6 of 1,000)
  ip netns exec "$1" mmap-tx -i pkm0 --dst-ip "$2" --count $N --rate 1kpps --json > "$OUT/$1-tx.json"
}
# backlog_drops: packets the guest's per-CPU receive backlogs dropped so far (softnet_stat's
# second column, hex, summed over CPUs).
backlog_drops() {
  local n=0 _ dropped rest
  while read -r _ dropped rest; do n=$((n + 0x$dropped)); done < /proc/net/softnet_stat
  echo $n
}

# --- 802.1Q trunk -----------------------------------------------------------------------------
pktmmap setup up macvlan-trunk
capture pkmtr1 "$OUT/trunk.pcap"
drops_before=$(backlog_drops)
send pktmmap-macvlan-trunk-tx 10.77.5.2
stop_capture
drops=$(( $(backlog_drops) - drops_before ))
tagged=$(frames "$OUT/trunk.pcap" "vlan $VID and udp dst port 9000")
untagged=$(frames "$OUT/trunk.pcap" "udp dst port 9000")
echo "CHECK trunk: $tagged of $N test frames crossed the trunk tagged with VLAN $VID, $untagged untagged ($drops dropped by the guest's receive backlogs meanwhile)"
[ "$tagged" -eq $N ] && [ "$untagged" -eq 0 ] || fail "the trunk did not carry every test frame tagged"
pktmmap setup down macvlan-trunk

# --- OVS kernel datapath ----------------------------------------------------------------------
lookups() { ovs-dpctl show | sed -n 's/.*lookups: hit:\([0-9]*\) missed:\([0-9]*\).*/\1 \2/p' | awk '{print $1 + $2}'; }
pktmmap setup up ovs
dp=$(ovs-vsctl get bridge pkmovs0 datapath_type | tr -d '"')
ovs-dpctl show > "$OUT/ovs-dpctl.txt"
ports=$(grep -cE 'port [0-9]+: pkmovs(tx|rx)$' "$OUT/ovs-dpctl.txt" || true)
echo "CHECK ovs datapath: datapath_type=$dp, $ports of 2 ports in the kernel datapath ($(head -1 "$OUT/ovs-dpctl.txt"))"
[ "$dp" = system ] && [ "$ports" -eq 2 ] || fail "OVS is not on the kernel datapath"
before=$(lookups)
send pktmmap-ovs-tx 10.77.3.2
after=$(lookups)
echo "CHECK ovs lookups: the kernel datapath looked up $((after - before)) packets for $N test frames"
[ $((after - before)) -ge $N ] || fail "the test frames did not go through the kernel datapath"
pktmmap setup down ovs
if ovs-dpctl show 2>/dev/null | grep -q .; then fail "ovs down left a kernel datapath: $(ovs-dpctl show)"; fi
echo "CHECK ovs down: no kernel datapath left"

# --- the profiles -----------------------------------------------------------------------------
for spec in "$@"; do
  profile=${spec%%:*}; setups=${spec#*:}
  # Under TCG a sender takes a second or more to start (exec, ring, the first ARP), so the
  # receiver waits longer for traffic than the default 2 s.
  pktmmap run --profile "$profile" --setup "$setups" --out "$OUT/$profile" --plot false \
    --idle-timeout 4
done
