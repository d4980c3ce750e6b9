#!/usr/bin/env bash
# overlay: the data path of a cross-host container network (Docker's overlay driver, Flannel
# and Calico in VXLAN mode) on one machine. Two "host" namespaces stand for two machines,
# joined by an underlay veth that stands for their NICs; each host has a Linux bridge and a
# VXLAN device on the underlay, and the sender's and receiver's namespaces hang off their
# host's bridge by veth, as containers do.
#
#   [pktmmap-overlay-tx] pkm0 10.77.6.1, fd00:77:6::1 --veth-- pkmc  [pktmmap-overlay-h1]
#                                                 pkmbr0 + pkmvx0 (VXLAN) on pkmul 10.77.60.1
#                                                   || underlay veth ||
#   [pktmmap-overlay-rx] pkm0 10.77.6.2, fd00:77:6::2 --veth-- pkmc  [pktmmap-overlay-h2]
#                                                 pkmbr0 + pkmvx0 (VXLAN) on pkmul 10.77.60.2
#
# Options (environment): PKTMMAP_VXLAN_VNI (default 4242), PKTMMAP_VXLAN_PORT (default 4789,
# IANA's), PKTMMAP_VXLAN_FDB: "static" (default; Docker's way: learning off, each remote
# container MAC written into the forwarding table, broadcast sent to the peer) or "learning"
# (Flannel's old way: the VTEP learns remote MACs from traffic; broadcast to the peer).
#
# Encapsulation adds 50 bytes to each frame on the underlay (outer Ethernet 14, IPv4 20,
# UDP 8, VXLAN 8). The underlay keeps its 1500-byte MTU, as a real NIC would, so the inner MTU
# shrinks to 1450 on every interface of the overlay (what Docker's overlay does): a
# 1,422-byte UDP payload is the most one frame carries.
. "$(dirname "$0")/lib.sh"

S=overlay; TX=$NS_PREFIX-$S-tx; RX=$NS_PREFIX-$S-rx; H1=$NS_PREFIX-$S-h1; H2=$NS_PREFIX-$S-h2
NET=6; IP6=1; UNDERLAY=10.77.60; UNDERLAY_MTU=1500; MTU=$((UNDERLAY_MTU - 50))
VNI=${PKTMMAP_VXLAN_VNI:-4242}
PORT=${PKTMMAP_VXLAN_PORT:-4789}
FDB=${PKTMMAP_VXLAN_FDB:-static}
case "$VNI" in ''|*[!0-9]*) die "PKTMMAP_VXLAN_VNI must be a number from 1 to 16777215" ;; esac
[ "$VNI" -ge 1 ] && [ "$VNI" -le 16777215 ] || die "PKTMMAP_VXLAN_VNI must be from 1 to 16777215"
case "$PORT" in ''|*[!0-9]*) die "PKTMMAP_VXLAN_PORT must be a UDP port number" ;; esac
[ "$PORT" -ge 1 ] && [ "$PORT" -le 65535 ] || die "PKTMMAP_VXLAN_PORT must be from 1 to 65535"
case "$FDB" in static|learning) ;; *) die "PKTMMAP_VXLAN_FDB must be static or learning" ;; esac

mac() { ip -n "$1" -o link show "$2" | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p'; }

case "${1:-}" in
  up)
    ns_add "$TX"; ns_add "$RX"; ns_add "$H1"; ns_add "$H2"
    # The underlay: the two hosts' "NICs".
    if ! ns_has_link "$H1" pkmul; then
      ip link add pkmul netns "$H1" type veth peer name pkmul netns "$H2"
    fi
    learning=nolearning; [ "$FDB" = learning ] && learning=learning
    for h in 1 2; do
      host=$H1; peer=2; [ $h = 2 ] && { host=$H2; peer=1; }
      ip -n "$host" link set pkmul mtu $UNDERLAY_MTU up
      ip -n "$host" addr replace $UNDERLAY.$h/24 dev pkmul
      if ! ns_has_link "$host" pkmvx0; then
        ip -n "$host" link add pkmvx0 type vxlan id "$VNI" local $UNDERLAY.$h dstport "$PORT" \
          dev pkmul $learning
        # Broadcast and unknown unicast (ARP) go to the other host: head-end replication.
        bridge -n "$host" fdb append 00:00:00:00:00:00 dev pkmvx0 dst $UNDERLAY.$peer
      fi
      ns_has_link "$host" pkmbr0 || ip -n "$host" link add pkmbr0 type bridge
      ip -n "$host" link set pkmbr0 type bridge stp_state 0 forward_delay 0
      ip -n "$host" link set pkmvx0 mtu $MTU master pkmbr0 up
      ip -n "$host" link set pkmbr0 up
    done
    for side in tx rx; do
      ns=$TX; host=$H1; [ $side = rx ] && { ns=$RX; host=$H2; }
      if ! ns_has_link "$ns" pkm0; then
        ip link add pkm0 netns "$ns" type veth peer name pkmc netns "$host"
      fi
      ip -n "$ns" link set pkm0 mtu $MTU
      ip -n "$host" link set pkmc mtu $MTU master pkmbr0 up
    done
    f=/proc/sys/net/bridge/bridge-nf-call-iptables
    for host in "$H1" "$H2"; do
      if ip netns exec "$host" test -w $f; then ip netns exec "$host" sh -c "echo 0 > $f"; fi
    done
    dual_stack_up "$TX" "$RX" $NET
    if [ "$FDB" = static ]; then
      # Each remote container's MAC behind the other host's VTEP, as Docker's overlay writes it.
      bridge -n "$H1" fdb replace "$(mac "$RX" pkm0)" dev pkmvx0 dst $UNDERLAY.2 self permanent
      bridge -n "$H2" fdb replace "$(mac "$TX" pkm0)" dev pkmvx0 dst $UNDERLAY.1 self permanent
    fi
    rps_apply "$RX" pkm0
    ;;
  down) ns_del "$TX"; ns_del "$RX"; ns_del "$H1"; ns_del "$H2" ;;
  env)
    print_env $S "$TX" "$RX" pkm0 pkm0 $NET vxlan \
      "VXLAN VNI $VNI UDP $PORT, $FDB FDB, +50 B per frame on the underlay, inner MTU $MTU"
    echo "PATH_NS=\"$H1 $H2\""
    ;;
  *) usage $S ;;
esac
