#!/usr/bin/env bash
# macvlan-trunk: macvlan interfaces in bridge mode on an 802.1Q sub-interface
# (PARENT.VLAN, as Docker's macvlan driver makes for parent=eth0.50). The parent is one end of
# a veth pair made for the purpose. VLAN id: PKTMMAP_VLAN_ID (default 100).
#
# On a kernel without 802.1Q support (CONFIG_VLAN_8021Q) the set-up cannot exist: "up" says
# so and exits 3 (skipped), after removing anything it made. It never fakes the trunk.
#
#   pkmtr0 (parent) ==veth== pkmtr1
#     `- pkmtr0.VLAN (802.1Q)
#          |- macvlan -> [pktmmap-macvlan-trunk-tx] pkm0 10.77.5.1
#          `- macvlan -> [pktmmap-macvlan-trunk-rx] pkm0 10.77.5.2
. "$(dirname "$0")/lib.sh"

S=macvlan-trunk; TX=$NS_PREFIX-$S-tx; RX=$NS_PREFIX-$S-rx; NET=5; PARENT=pkmtr0
VID=$(vlan_id)
SUB=$PARENT.$VID

down() { ns_del "$TX"; ns_del "$RX"; link_del "$SUB"; link_del $PARENT; }

case "${1:-}" in
  up)
    veth_parent $PARENT pkmtr1
    if ! ip link show "$SUB" >/dev/null 2>&1; then
      vlan_add $PARENT "$SUB" "$VID" || { down; skip "$VLAN_SKIP"; }
    fi
    quiet_host_link "$SUB"
    ip link set "$SUB" up
    ns_add "$TX"; ns_add "$RX"
    for side in tx rx; do
      ns=$TX; [ $side = rx ] && ns=$RX
      if ! ns_has_link "$ns" pkm0; then
        ip link add pkmtr$side link "$SUB" type macvlan mode bridge
        ip link set pkmtr$side netns "$ns"
        ip -n "$ns" link set pkmtr$side name pkm0
      fi
    done
    addr_up "$TX" pkm0 10.77.$NET.1/24
    addr_up "$RX" pkm0 10.77.$NET.2/24
    rps_apply "$RX" pkm0
    ;;
  down) down ;;
  env) print_env $S "$TX" "$RX" pkm0 pkm0 $NET macvlan-8021q "parent $SUB" ;;
  *) usage $S ;;
esac
