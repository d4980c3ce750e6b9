#!/usr/bin/env bash
# macvlan (docker engine): the tool containers on Docker's macvlan driver in bridge mode, whose
# parent is one end of a veth pair made here for the purpose (never eth0 or a real uplink).
#
#   pkmdmv0 (parent) ==veth== pkmdmv1
#     |- macvlan -> [pktmmap-macvlan-tx] eth0 10.77.14.1
#     `- macvlan -> [pktmmap-macvlan-rx] eth0 10.77.14.2
. "$(dirname "$0")/lib.sh"

M=macvlan; NET=14; IP6=1; PARENT=pkmdmv0

case "${1:-}" in
  up)
    docker_ready
    veth_parent $PARENT pkmdmv1
    PKTMMAP_MACVLAN_PARENT=$PARENT compose_up $M
    ;;
  down) compose_down $M; link_del $PARENT ;;
  env) docker_env $M $NET macvlan-bridge "Docker macvlan network, parent $PARENT (veth)" ;;
  *) usage $M ;;
esac
