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

S=bridge; TX=$NS_PREFIX-$S-tx; RX=$NS_PREFIX-$S-rx; SW=$NS_PREFIX-$S-sw; NET=2; IP6=1

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
    for f in /proc/sys/net/bridge/bridge-nf-call-iptables /proc/sys/net/bridge/bridge-nf-call-ip6tables; do
      if ip netns exec "$SW" test -w $f; then ip netns exec "$SW" sh -c "echo 0 > $f"; fi
    done
    dual_stack_up "$TX" "$RX" $NET
    rps_apply "$RX" pkm0
    ;;
  down) ns_del "$TX"; ns_del "$RX"; ns_del "$SW" ;;
  env) print_env $S "$TX" "$RX" pkm0 pkm0 $NET linux-bridge "bridge in its own namespace" ;;
  *) usage $S ;;
esac
