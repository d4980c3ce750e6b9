#!/usr/bin/env bash
# bridge (docker engine): the tool containers on an internal Docker bridge network.
#
#   [pktmmap-bridge-tx] eth0 10.77.11.1 --veth-- pkmdbr0 (Docker's Linux bridge) --veth-- eth0 10.77.11.2 [pktmmap-bridge-rx]
#   (and fd00:77:11::1 -> fd00:77:11::2 over IPv6: the network has enable_ipv6)
. "$(dirname "$0")/lib.sh"

M=bridge; NET=11; IP6=1

case "${1:-}" in
  up) docker_ready; compose_up $M ;;
  down) compose_down $M ;;
  env) docker_env $M $NET docker-bridge "Docker bridge network pkmdbr0 (internal)" ;;
  *) usage $M ;;
esac
