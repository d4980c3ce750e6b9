#!/usr/bin/env bash
# macvlan (swarm engine): the tool tasks on a swarm-scoped macvlan network, made as Docker
# documents it: a --config-only network on each node naming its parent (here one end of a
# veth pair made for the purpose, never eth0), and the --scope swarm network built from it.
#
#   pkmswm0 (parent) ==veth== pkmswm1
#     |- macvlan -> [pktmmap-sw-macvlan-tx task] eth0 10.77.73.x
#     `- macvlan -> [pktmmap-sw-macvlan-rx task] eth0 10.77.73.y
. "$(dirname "$0")/lib.sh"

M=macvlan; NET=$NS_PREFIX-sw-macvlan; PARENT=pkmswm0
# Both tasks on this node unless told otherwise (the parent is a veth here).
if [ "${1:-}" = up ] || [ "${1:-}" = env ]; then
  PKTMMAP_TX_NODE=${PKTMMAP_TX_NODE:-$(docker info --format '{{.Swarm.NodeID}}' 2>/dev/null)}
  PKTMMAP_RX_NODE=${PKTMMAP_RX_NODE:-$PKTMMAP_TX_NODE}
fi

case "${1:-}" in
  up)
    swarm_ready
    # A failed up leaves nothing: not the services, the network, nor a swarm it made.
    trap 'swarm_down $M; link_del $PARENT; swarm_leave_if_made' EXIT
    # The parent is a veth of this host: both tasks must be placed here. (Across machines a
    # config-only network is needed on each node, naming that node's test NIC.)
    [ "$(node_of tx)" = "$(this_node_id)" ] && [ "$(node_of rx)" = "$(this_node_id)" ] \
      || die "the swarm macvlan set-up places both tasks on this node (its parent $PARENT is a veth here): give --tx-node and --rx-node this node, or use the overlay set-up across nodes"
    swarm_down $M
    veth_parent $PARENT pkmswm1
    out=$(docker network create --config-only --subnet 10.77.73.0/24 --gateway 10.77.73.254 \
      --opt parent=$PARENT $NET-config 2>&1) || die "docker network create $NET-config failed: $out"
    out=$(docker network create --driver macvlan --scope swarm --attachable \
      --config-from $NET-config $NET 2>&1) || die "docker network create $NET failed: $out"
    service_up $M tx $NET
    service_up $M rx $NET
    trap - EXIT
    ;;
  down) swarm_down $M; link_del $PARENT; swarm_leave_if_made ;;
  env) swarm_env $M $NET swarm-macvlan "Docker Swarm macvlan network $NET, parent $PARENT (veth)" ;;
  *) usage $M ;;
esac
