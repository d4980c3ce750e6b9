#!/usr/bin/env bash
# bridge: each namespace attached by veth to a Linux bridge, as Docker's default bridge
# network does. The bridge lives in a switch namespace of its own, so the host's iptables
# (Docker sets the FORWARD policy to DROP, and br_netfilter would apply it to bridged frames)
# cannot silently drop test traffic; the switch namespace has empty tables and
# bridge-nf-call-iptables off.
#
#   [pktmmap-bridge-tx] pkm0 10.77.2.1 --veth-- pkmtx \
#                                                  pkmbr0 [pktmmap-bridge-sw]
#   [pktmmap-bridge-rx] pkm0 10.77.2.2 --veth-- pkmrx /
. "$(dirname "$0")/lib.sh"

# bridge-conntrack.sh runs this script as the bridge-conntrack set-up (SETUP_VARIANT).
S=${SETUP_VARIANT:-bridge}; NET=2
case $S in
  bridge) ;;
  bridge-conntrack) NET=7 ;;
  *) die "unknown bridge variant $S" ;;
esac
TX=$NS_PREFIX-$S-tx; RX=$NS_PREFIX-$S-rx; SW=$NS_PREFIX-$S-sw; IP6=1

# The connection-tracking table of bridge-conntrack: every bridged IPv4 and IPv6 packet
# looked up (and each new flow entered) in the switch namespace's conntrack, as on a host
# whose iptables or nftables keep state for bridged container traffic (Docker's default
# bridge, with br_netfilter); the rules accept everything, so what they cost is the tracking.
CT_RULES='table inet pktmmap_ct {
 chain forward {
  type filter hook forward priority 0; policy accept;
  ct state established,related counter accept
  ct state new counter accept
 }
}'

case "${1:-}" in
  up)
    ns_add "$TX"; ns_add "$RX"; ns_add "$SW"
    ns_has_link "$SW" pkmbr0 || ip -n "$SW" link add pkmbr0 type bridge
    # Forward at once: no STP listening delay on a bridge with two ports.
    ip -n "$SW" link set pkmbr0 type bridge stp_state 0 forward_delay 0
    ip -n "$SW" link set pkmbr0 up
    for side in tx rx; do
      ns=$TX; [ $side = rx ] && ns=$RX
      if ! ns_has_link "$SW" pkm$side; then
        ip link add pkm0 netns "$ns" type veth peer name pkm$side netns "$SW"
      fi
      ip -n "$SW" link set pkm$side master pkmbr0 up
    done
    if [ "$S" = bridge-conntrack ]; then
      for f in /proc/sys/net/bridge/bridge-nf-call-iptables /proc/sys/net/bridge/bridge-nf-call-ip6tables; do
        ip netns exec "$SW" test -w $f || skip "no br_netfilter ($f): bridged frames cannot reach conntrack"
        ip netns exec "$SW" sh -c "echo 1 > $f"
      done
      command -v nft >/dev/null || die "nft is not installed (apt-get install nftables)"
      ip netns exec "$SW" nft list table inet pktmmap_ct >/dev/null 2>&1 \
        || echo "$CT_RULES" | ip netns exec "$SW" nft -f - || die "cannot load the conntrack rules"
    else
      for f in /proc/sys/net/bridge/bridge-nf-call-iptables /proc/sys/net/bridge/bridge-nf-call-ip6tables; do
        if ip netns exec "$SW" test -w $f; then ip netns exec "$SW" sh -c "echo 0 > $f"; fi
      done
    fi
    dual_stack_up "$TX" "$RX" $NET
    rps_apply "$RX" pkm0
    ;;
  down) ns_del "$TX"; ns_del "$RX"; ns_del "$SW" ;;
  env)
    if [ "$S" = bridge-conntrack ]; then
      print_env $S "$TX" "$RX" pkm0 pkm0 $NET linux-bridge-conntrack \
        "bridge in its own namespace, br_netfilter on, every flow tracked by conntrack (nft ct state)"
    else
      print_env $S "$TX" "$RX" pkm0 pkm0 $NET linux-bridge "bridge in its own namespace"
    fi
    echo "PATH_NS=$SW"
    ;;
  *) usage $S ;;
esac
