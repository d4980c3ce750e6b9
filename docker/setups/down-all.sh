#!/usr/bin/env bash
# down-all (docker engine): remove every tool container and network of any mode (names
# pktmmap-*), then everything experiments/setups/down-all.sh removes (namespace names, pkm*
# links, OVS bridges, OVS daemons a set-up started). Prints what it removed.
. "$(dirname "$0")/lib.sh"

if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
  for c in $(docker ps --all --format '{{.Names}}' | grep "^$NS_PREFIX-" || true); do
    docker rm --force "$c" >/dev/null && echo "removed container $c"
  done
  for n in $(docker network ls --format '{{.Name}}' | grep "^$NS_PREFIX-" || true); do
    docker network rm "$n" >/dev/null && echo "removed network $n"
  done
fi
exec bash "$(dirname "$0")/../../experiments/setups/down-all.sh" all
