#!/usr/bin/env bash
# macvlan: a macvlan interface in bridge mode for each namespace, on a parent made for the
# purpose: one end of a veth pair in the host namespace (never a real uplink such as eth0).
# Two macvlans on one parent in bridge mode switch frames to each other inside the driver.
#
#   pkmmv0 (parent) ==veth== pkmmv1
#     |- macvlan -> [pktmmap-macvlan-tx] pkm0 10.77.4.1
#     `- macvlan -> [pktmmap-macvlan-rx] pkm0 10.77.4.2
. "$(dirname "$0")/lib.sh"

S=macvlan; TX=$NS_PREFIX-$S-tx; RX=$NS_PREFIX-$S-rx; NET=4; IP6=1; PARENT=pkmmv0

case "${1:-}" in
  up)
    ns_add "$TX"; ns_add "$RX"
    veth_parent $PARENT pkmmv1
    macvlan_into "$TX" $PARENT
    macvlan_into "$RX" $PARENT
    dual_stack_up "$TX" "$RX" $NET
    rps_apply "$RX" pkm0
    ;;
  down) ns_del "$TX"; ns_del "$RX"; link_del $PARENT ;;
  env) print_env $S "$TX" "$RX" pkm0 pkm0 $NET macvlan-bridge "parent $PARENT (veth)" ;;
  *) usage $S ;;
esac
