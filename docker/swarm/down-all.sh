#!/usr/bin/env bash
# down-all (swarm engine): every pktmmap service and swarm network (names pktmmap-sw-*), a
# second engine second-node.sh started, the swarm itself if a set-up made it, then everything
# docker/setups/down-all.sh removes.
. "$(dirname "$0")/lib.sh"

if command -v docker >/dev/null && docker info >/dev/null 2>&1 && [ "$(swarm_state)" = active ]; then
  for s in $(docker service ls --format '{{.Name}}' | grep "^$NS_PREFIX-sw-" || true); do
    docker service rm "$s" >/dev/null && echo "removed service $s"
  done
  for m in overlay macvlan; do swarm_down $m; done
fi
if [ -f /run/pktmmap-node2.pid ] || [ -d "$NODES_DIR" ]; then
  bash "$(dirname "$0")/second-node.sh" down && echo "stopped the second Docker engine"
fi
if [ -f "$SWARM_MARK" ]; then
  swarm_leave_if_made
  [ -f "$SWARM_MARK" ] || echo "left the swarm a set-up had made"
fi
exec bash "$(dirname "$0")/../setups/down-all.sh"
