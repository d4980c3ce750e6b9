#!/usr/bin/env bash
# macvlan-trunk (docker engine): the tool containers on Docker's macvlan driver in bridge mode
# over an 802.1Q sub-interface PARENT.VLAN (VLAN id: PKTMMAP_VLAN_ID, default 100). The
# parent is one end of a veth pair made here for the purpose. The sub-interface is made here
# too, first: on a kernel without 802.1Q support "up" says so and exits 3 (skipped), after
# removing what it made; it never fakes the trunk.
#
#   pkmdtr0 (parent) ==veth== pkmdtr1
#     `- pkmdtr0.VLAN (802.1Q)
#          |- macvlan -> [pktmmap-macvlan-trunk-tx] eth0 10.77.15.1
#          `- macvlan -> [pktmmap-macvlan-trunk-rx] eth0 10.77.15.2
. "$(dirname "$0")/lib.sh"

M=macvlan-trunk; NET=15; IP6=1; PARENT=pkmdtr0
VID=$(vlan_id); SUB=$PARENT.$VID

down() { compose_down $M; link_del "$SUB"; link_del $PARENT; }

case "${1:-}" in
  up)
    docker_ready
    veth_parent $PARENT pkmdtr1
    if ! ip link show "$SUB" >/dev/null 2>&1; then
      vlan_add $PARENT "$SUB" "$VID" || { down; skip "$VLAN_SKIP"; }
    fi
    quiet_host_link "$SUB"
    ip link set "$SUB" up
    PKTMMAP_VLAN_ID=$VID compose_up $M
    ;;
  down) down ;;
  env) docker_env $M $NET macvlan-8021q "Docker macvlan network, parent $SUB" ;;
  *) usage $M ;;
esac
