#!/usr/bin/env bash
# macvlan-trunk: macvlan interfaces in bridge mode on 802.1Q sub-interfaces (PARENT.VLAN, as
# Docker's macvlan driver makes for parent=eth0.50), the sender's and the receiver's on the two
# ends of a trunk: a veth pair made for the purpose, standing for two hosts' NICs and the
# tagged link between them. VLAN id: PKTMMAP_VLAN_ID (default 100).
#
# Why two ends: two macvlans on ONE parent are switched inside the macvlan driver and their
# frames never reach the 802.1Q device (checked on Debian's 6.1 kernel in the guest harness:
# 0 of 100 test frames crossed the parent, only multicast did). The thesis's same-host trunk
# therefore measured the same path as plain macvlan; here every test frame is tagged on the
# trunk and untagged at the far end.
#
# On a kernel without 802.1Q support (CONFIG_VLAN_8021Q) the set-up cannot exist: "up" says
# so and exits 3 (skipped), after removing anything it made. It never fakes the trunk.
#
#   pkmtr0 ========== veth: the trunk, tagged VLAN ========== pkmtr1
#     `- pkmtr0.VLAN (802.1Q)                                   `- pkmtr1.VLAN (802.1Q)
#          `- macvlan -> [pktmmap-macvlan-trunk-tx] pkm0 10.77.5.1   `- macvlan -> [...-rx] pkm0 10.77.5.2
. "$(dirname "$0")/lib.sh"

S=macvlan-trunk; TX=$NS_PREFIX-$S-tx; RX=$NS_PREFIX-$S-rx; NET=5; IP6=1
VID=$(vlan_id)

down() { ns_del "$TX"; ns_del "$RX"; link_del "pkmtr0.$VID"; link_del "pkmtr1.$VID"; link_del pkmtr0; }

case "${1:-}" in
  up)
    veth_parent pkmtr0 pkmtr1
    for end in 0 1; do
      if ! ip link show "pkmtr$end.$VID" >/dev/null 2>&1; then
        vlan_add "pkmtr$end" "pkmtr$end.$VID" "$VID" || { down; skip "$VLAN_SKIP"; }
      fi
      quiet_host_link "pkmtr$end.$VID"
      ip link set "pkmtr$end.$VID" up
    done
    ns_add "$TX"; ns_add "$RX"
    macvlan_into "$TX" "pkmtr0.$VID"
    macvlan_into "$RX" "pkmtr1.$VID"
    dual_stack_up "$TX" "$RX" $NET
    rps_apply "$RX" pkm0
    ;;
  down) down ;;
  env) print_env $S "$TX" "$RX" pkm0 pkm0 $NET macvlan-8021q "trunk pkmtr0.$VID <-> pkmtr1.$VID" ;;
  *) usage $S ;;
esac
