#!/usr/bin/env bash
# overlay (swarm engine): the tool tasks on an attachable, internal swarm overlay network:
# VXLAN between the nodes' engines (here the encapsulation stays inside the node when both
# tasks share it), no gateway, nothing leaves it.
#
#   [pktmmap-sw-overlay-tx task] eth0 10.77.72.x --overlay pktmmap-sw-overlay (VXLAN)-- eth0 10.77.72.y [pktmmap-sw-overlay-rx task]
. "$(dirname "$0")/lib.sh"

M=overlay; NET=$NS_PREFIX-sw-overlay

case "${1:-}" in
  up)
    swarm_ready
    # A failed up leaves nothing: not the services, the network, nor a swarm it made.
    trap 'swarm_down $M; swarm_leave_if_made' EXIT
    node_of tx >/dev/null; node_of rx >/dev/null
    swarm_down $M
    out=$(docker network create --driver overlay --attachable --internal \
      --subnet 10.77.72.0/24 --gateway 10.77.72.254 $NET 2>&1) \
      || die "docker network create $NET failed: $out"
    service_up $M tx $NET
    service_up $M rx $NET
    trap - EXIT
    ;;
  down) swarm_down $M; swarm_leave_if_made ;;
  env) swarm_env $M $NET swarm-overlay "Docker Swarm overlay network $NET (VXLAN), internal" ;;
  *) usage $M ;;
esac
